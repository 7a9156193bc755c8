"""Bitbucket's filter language (`q=`) and `sort=` over rendered JSON objects (narrative "filtering").

Hand-written: it is a small SQL-like grammar specific to Bitbucket, and no library parses it.

    query      := or
    or         := and ("OR" and)*
    and        := unary ("AND" unary)*
    unary      := "(" or ")" | comparison
    comparison := field op value | field ("IN" | "NOT IN") list
    op         := = != ~ !~ > >= < <=
    value      := "string" | number | null | true | false | datetime (unquoted ISO-8601)

Keywords are case-insensitive (the narrative's own example writes `and`). A field is a dotted path
into the object's JSON (`content.raw`, `destination.branch.name`); a list along the path matches when
any element matches. `~` is case-insensitive "contains". A missing field compares as null.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .errors import bad_request

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op>!=|!~|>=|<=|=|~|>|<)
      | (?P<paren>[(),])
      | (?P<datetime>\d{4}-\d\d-\d\d(?:T\d\d:\d\d(?::\d\d(?:\.\d+)?)?)?(?:Z|[+-]\d\d:?\d\d)?)(?![\w.])
      | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
      | (?P<word>[A-Za-z_][\w.]*)
    )""",
    re.VERBOSE,
)
_Predicate = Callable[[Any], bool]


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    value: Any = None


class QueryError(ValueError):
    pass


def compile_query(query: str) -> _Predicate:
    """A predicate over rendered objects, or a 400 `ApiError` for a query that does not parse."""
    try:
        parser = _Parser(_tokens(query))
        predicate = parser.parse_or()
        parser.expect_end()
    except QueryError as exc:
        raise bad_request(f"Invalid query: {query}", detail=str(exc)) from exc
    return predicate


def sort_key_for(sort: str) -> tuple[Callable[[Any], Any], bool]:
    """`name` or `-updated_on` → (key function, descending). Missing values sort first."""
    descending = sort.startswith("-")
    field = sort[1:] if descending else sort
    if not re.fullmatch(r"[A-Za-z_][\w.]*", field):
        raise bad_request(f"Invalid sort field: {sort}")

    def key(obj: Any) -> Any:
        values = _resolve(obj, field.split("."))
        value = values[0] if values else None
        return (value is not None, _sortable(value))

    return key, descending


def natural_key(text: str) -> tuple[Any, ...]:
    """ "v9" < "v10": digit runs compare as numbers (the branch list's `sort=name`)."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _tokens(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        found = _TOKEN.match(query, pos)
        if found is None:
            raise QueryError(f"unexpected character at position {pos}: {query[pos : pos + 10]!r}")
        pos = found.end()
        kind = found.lastgroup or ""
        text = found.group(kind)
        if kind == "string":
            tokens.append(_Tok("value", text, re.sub(r"\\(.)", r"\1", text[1:-1])))
        elif kind == "number":
            tokens.append(_Tok("value", text, float(text) if "." in text else int(text)))
        elif kind == "datetime":
            tokens.append(_Tok("value", text, _parse_datetime(text)))
        elif kind == "word" and text.lower() in ("true", "false"):
            tokens.append(_Tok("value", text, text.lower() == "true"))
        elif kind == "word" and text.lower() == "null":
            tokens.append(_Tok("value", text, None))
        elif kind == "word" and text.upper() in ("AND", "OR", "NOT", "IN"):
            tokens.append(_Tok("keyword", text.upper()))
        else:
            tokens.append(_Tok(kind, text))
    return tokens


class _Parser:
    def __init__(self, tokens: Sequence[_Tok]):
        self._tokens = tokens
        self._pos = 0

    def _peek(self) -> _Tok | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _take(self) -> _Tok:
        token = self._peek()
        if token is None:
            raise QueryError("the query ends too early")
        self._pos += 1
        return token

    def _at_keyword(self, word: str) -> bool:
        token = self._peek()
        return token is not None and token.kind == "keyword" and token.text == word

    def expect_end(self) -> None:
        token = self._peek()
        if token is not None:
            raise QueryError(f"unexpected {token.text!r}")

    def parse_or(self) -> _Predicate:
        parts = [self.parse_and()]
        while self._at_keyword("OR"):
            self._take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda obj: any(p(obj) for p in parts))

    def parse_and(self) -> _Predicate:
        parts = [self.parse_unary()]
        while self._at_keyword("AND"):
            self._take()
            parts.append(self.parse_unary())
        return parts[0] if len(parts) == 1 else (lambda obj: all(p(obj) for p in parts))

    def parse_unary(self) -> _Predicate:
        token = self._peek()
        if token is not None and token.kind == "paren" and token.text == "(":
            self._take()
            inner = self.parse_or()
            closing = self._take()
            if closing.text != ")":
                raise QueryError(f"expected ')', got {closing.text!r}")
            return inner
        return self.parse_comparison()

    def parse_comparison(self) -> _Predicate:
        field = self._take()
        if field.kind != "word":
            raise QueryError(f"expected a field name, got {field.text!r}")
        path = field.text.split(".")
        if self._at_keyword("NOT") or self._at_keyword("IN"):
            negate = self._take().text == "NOT"
            if negate and self._take().text != "IN":
                raise QueryError("expected IN after NOT")
            options = self._list()
            return lambda obj: any(_equal(v, o) for v in _values(obj, path) for o in options) != negate
        op = self._take()
        if op.kind != "op":
            raise QueryError(f"expected an operator after {field.text!r}, got {op.text!r}")
        value = self._take()
        if value.kind != "value":
            raise QueryError(f"expected a value after {op.text!r}, got {value.text!r}")
        test = _operator(op.text, value.value)
        if op.text in ("!=", "!~"):
            return lambda obj: all(test(v) for v in _values(obj, path))
        return lambda obj: any(test(v) for v in _values(obj, path))

    def _list(self) -> list[Any]:
        if self._take().text != "(":
            raise QueryError("expected '(' to start a list")
        items: list[Any] = []
        while True:
            token = self._take()
            if token.kind != "value":
                raise QueryError(f"expected a list value, got {token.text!r}")
            items.append(token.value)
            separator = self._take()
            if separator.text == ")":
                return items
            if separator.text != ",":
                raise QueryError(f"expected ',' or ')', got {separator.text!r}")


def _operator(op: str, expected: Any) -> Callable[[Any], bool]:
    if op == "=":
        return lambda actual: _equal(actual, expected)
    if op == "!=":
        return lambda actual: not _equal(actual, expected)
    if op in ("~", "!~"):
        needle = str(expected).lower()

        def contains(actual: Any) -> bool:
            return isinstance(actual, str) and needle in actual.lower()

        return contains if op == "~" else (lambda actual: not contains(actual))
    ordered: Callable[[Any, Any], Any] = {
        ">": operator.gt,
        ">=": operator.ge,
        "<": operator.lt,
        "<=": operator.le,
    }[op]

    def test(actual: Any) -> bool:
        left, right = _comparable(actual, expected)
        try:
            return left is not None and right is not None and bool(ordered(left, right))
        except TypeError:
            return False

    return test


def _values(obj: Any, path: list[str]) -> list[Any]:
    found = _resolve(obj, path)
    return found or [None]


def _resolve(obj: Any, path: list[str]) -> list[Any]:
    if not path:
        return [item for element in obj for item in _resolve(element, [])] if isinstance(obj, list) else [obj]
    if isinstance(obj, list):
        return [item for element in obj for item in _resolve(element, path)]
    if isinstance(obj, dict) and path[0] in obj:
        return _resolve(obj[path[0]], path[1:])
    return []


def _equal(actual: Any, expected: Any) -> bool:
    left, right = _comparable(actual, expected)
    return bool(left == right)


def _comparable(actual: Any, expected: Any) -> tuple[Any, Any]:
    if isinstance(expected, datetime) and isinstance(actual, str):
        try:
            return _parse_datetime(actual), expected
        except QueryError:
            return None, expected
    return actual, expected


def _sortable(value: Any) -> Any:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, str):
        return (1, value)
    return (2, str(value))


def _parse_datetime(text: str) -> datetime:
    """ISO-8601 with the time, seconds, fraction and offset optional; UTC unless an offset is given."""
    normalised = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", normalised):
        normalised = normalised[:-2] + ":" + normalised[-2:]
    try:
        parsed = datetime.fromisoformat(normalised)
    except ValueError as exc:
        raise QueryError(f"not a datetime: {text!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
