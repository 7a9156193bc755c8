"""A small parser and evaluator for Airtable formulas (``filterByFormula``, formula fields).

Grammar (lowest precedence first)::

    comparison := concat (("=" | "!=" | "<>" | "<" | ">" | "<=" | ">=") concat)*
    concat     := additive ("&" additive)*
    additive   := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | {Field} | NAME "(" args ")" | NAME | "(" comparison ")"

Field references are ``{Name}`` or ``{fldID}``; ``\\}`` escapes a closing brace inside them
(pyairtable's ``field_name``). Strings use '…' or "…" with backslash escapes (pyairtable's
``quoted``). Values during evaluation are None (blank), str, int/float, bool, datetime, list.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .timeutil import format_timestamp, now_utc, parse_datetime

SYNTAX_MESSAGE = "Invalid formula. Please check your formula text."


class FormulaError(Exception):
    """The formula cannot be compiled (syntax, unknown field or function)."""


class EvalError(Exception):
    """The formula evaluates to ``#ERROR!`` for one record."""


# --------------------------------------------------------------------------- tokens


@dataclass(frozen=True)
class Token:
    kind: str  # field, string, number, name, op, "(", ")", ",", end
    value: Any
    pos: int


_OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">", "&", "+", "-", "*", "/")
_STRING_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_NUMBER = re.compile(r"\d+(?:\.\d*)?|\.\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == "{":
            value, i = _read_until(text, i + 1, "}", escapes={"}": "}"}, keep_backslash=True)
            tokens.append(Token("field", value, i))
        elif char in "'\"":
            value, i = _read_until(text, i + 1, char, escapes=None, keep_backslash=False)
            tokens.append(Token("string", value, i))
        elif char in "(),":
            tokens.append(Token(char, char, i))
            i += 1
        elif match := _NUMBER.match(text, i):
            literal = match.group()
            tokens.append(Token("number", float(literal) if "." in literal else int(literal), i))
            i = match.end()
        elif match := _NAME.match(text, i):
            tokens.append(Token("name", match.group().upper(), i))
            i = match.end()
        else:
            operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
            if operator is None:
                raise FormulaError(SYNTAX_MESSAGE)
            tokens.append(Token("op", operator, i))
            i += len(operator)
    tokens.append(Token("end", None, len(text)))
    return tokens


def _read_until(text: str, i: int, close: str, escapes: dict[str, str] | None, keep_backslash: bool) -> tuple[str, int]:
    out: list[str] = []
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if escapes is None:  # string literal: \n \t \r, otherwise the escaped character
                out.append(_STRING_ESCAPES.get(nxt, nxt))
                i += 2
                continue
            if nxt in escapes:
                out.append(escapes[nxt])
                i += 2
                continue
            if keep_backslash:
                out.append(char)
                i += 1
                continue
        if char == close:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    raise FormulaError(SYNTAX_MESSAGE)


# --------------------------------------------------------------------------- syntax tree


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class FieldRef:
    key: str  # as written; replaced by the field ID when compiled


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Unary:
    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str
    left: Node
    right: Node


Node = Literal | FieldRef | Name | Call | Unary | Binary

_LEVELS: tuple[tuple[str, ...], ...] = (
    ("=", "!=", "<>", "<", ">", "<=", ">="),
    ("&",),
    ("+", "-"),
    ("*", "/"),
)


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self, kind: str) -> Token:
        token = self.peek()
        if token.kind != kind:
            raise FormulaError(SYNTAX_MESSAGE)
        self.pos += 1
        return token

    def parse(self) -> Node:
        node = self.binary(0)
        self.take("end")
        return node

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        node = self.binary(level + 1)
        while self.peek().kind == "op" and self.peek().value in _LEVELS[level]:
            op = self.take("op").value
            node = Binary(op, node, self.binary(level + 1))
        return node

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "op" and token.value in ("-", "+"):
            self.pos += 1
            return Unary(token.value, self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        self.pos += 1
        if token.kind in ("number", "string"):
            return Literal(token.value)
        if token.kind == "field":
            return FieldRef(token.value)
        if token.kind == "(":
            node = self.binary(0)
            self.take(")")
            return node
        if token.kind == "name":
            if self.peek().kind != "(":
                return Name(token.value)
            self.take("(")
            args: list[Node] = []
            if self.peek().kind != ")":
                args.append(self.binary(0))
                while self.peek().kind == ",":
                    self.pos += 1
                    args.append(self.binary(0))
            self.take(")")
            return Call(token.value, tuple(args))
        raise FormulaError(SYNTAX_MESSAGE)


# --------------------------------------------------------------------------- values


def is_truthy(value: Any) -> bool:
    """§1.2: a record is kept unless the result is 0, false, "", NaN, [] or an error."""
    if value is None or value is False or value == "" or value == []:
        return False
    return not (isinstance(value, (int, float)) and (value == 0 or math.isnan(value)))


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, list):
        return ", ".join(to_text(item) for item in value)
    return str(value)


def to_number(value: Any) -> float | int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list) and len(value) == 1:
        return to_number(value[0])
    if isinstance(value, str):
        try:
            return float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise EvalError(f"not a number: {value!r}") from None
    raise EvalError(f"not a number: {value!r}")


def to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, list) and len(value) == 1:
        return to_datetime(value[0])
    if isinstance(value, str):
        try:
            return parse_datetime(value)
        except ValueError:
            raise EvalError(f"not a date: {value!r}") from None
    raise EvalError(f"not a date: {value!r}")


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return to_text(value) if len(value) != 1 else _scalar(value[0])
    if isinstance(value, bool):
        return int(value)
    return value


def _comparable(a: Any, b: Any) -> tuple[Any, Any] | None:
    """Bring two values to one type, or None when they cannot be compared."""
    a, b = _scalar(a), _scalar(b)
    if a is None and b is None:
        return 0, 0
    if isinstance(a, datetime) or isinstance(b, datetime):
        if a is None or b is None:
            return None
        try:
            return to_datetime(a), to_datetime(b)
        except EvalError:
            return to_text(a), to_text(b)
    numeric = (int, float)
    if isinstance(a, numeric) or isinstance(b, numeric):
        try:
            return to_number(a), to_number(b)
        except EvalError:
            return to_text(a), to_text(b)
    return to_text(a), to_text(b)


def compare(op: str, a: Any, b: Any) -> bool:
    pair = _comparable(a, b)
    if pair is None:
        return op in ("!=", "<>")
    left, right = pair
    if op == "=":
        return bool(left == right)
    if op in ("!=", "<>"):
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == ">":
        return bool(left > right)
    if op == "<=":
        return bool(left <= right)
    return bool(left >= right)


def _flatten(values: tuple[Any, ...] | list[Any]) -> list[Any]:
    flat: list[Any] = []
    for value in values:
        flat.extend(_flatten(value) if isinstance(value, list) else [value])
    return flat


def _numbers(values: tuple[Any, ...]) -> list[float | int]:
    return [to_number(v) for v in _flatten(values) if v is not None and v != ""]


def _find(needle: Any, haystack: Any, start: Any = 1) -> int:
    return to_text(haystack).find(to_text(needle), max(int(to_number(start)) - 1, 0)) + 1


def _round(value: Any, digits: Any = 0) -> float | int:
    result = round(float(to_number(value)), int(to_number(digits)))
    return int(result) if float(result).is_integer() else result


def _divide(a: Any, b: Any) -> float | int:
    divisor = to_number(b)
    if divisor == 0:
        raise EvalError("#DIV/0!")
    result = to_number(a) / divisor
    return int(result) if result.is_integer() else result


def _datestr(value: Any) -> str:
    return format_timestamp(to_datetime(value))[:10]


def _regex(pattern: Any) -> re.Pattern[str]:
    try:
        return re.compile(to_text(pattern))
    except re.error as exc:
        raise EvalError(str(exc)) from None


def _regex_extract(text: Any, pattern: Any) -> str | None:
    found = _regex(pattern).search(to_text(text))
    return found.group() if found else None


def _unique(values: tuple[Any, ...]) -> list[Any]:
    return list(dict.fromkeys(_flatten(values)))


# name -> (minimum arguments, maximum arguments or None, implementation)
_Impl = Callable[..., Any]
FUNCTIONS: dict[str, tuple[int, int | None, _Impl]] = {
    "AND": (1, None, lambda *a: all(is_truthy(v) for v in _flatten(a))),
    "OR": (1, None, lambda *a: any(is_truthy(v) for v in _flatten(a))),
    "XOR": (1, None, lambda *a: sum(is_truthy(v) for v in _flatten(a)) % 2 == 1),
    "NOT": (1, 1, lambda a: not is_truthy(a)),
    "TRUE": (0, 0, lambda: True),
    "FALSE": (0, 0, lambda: False),
    "BLANK": (0, 0, lambda: None),
    "ERROR": (0, 0, lambda: _raise(EvalError("#ERROR!"))),
    "LOWER": (1, 1, lambda s: to_text(s).lower()),
    "UPPER": (1, 1, lambda s: to_text(s).upper()),
    "TRIM": (1, 1, lambda s: to_text(s).strip()),
    "LEN": (1, 1, lambda s: len(to_text(s))),
    "CONCATENATE": (1, None, lambda *a: "".join(to_text(v) for v in a)),
    "FIND": (2, 3, _find),
    "SEARCH": (2, 3, lambda n, h, s=1: _find(n, h, s) or None),
    "LEFT": (2, 2, lambda s, n: to_text(s)[: int(to_number(n))]),
    "RIGHT": (2, 2, lambda s, n: to_text(s)[-int(to_number(n)) :] if to_number(n) else ""),
    "MID": (
        3,
        3,
        lambda s, start, n: to_text(s)[int(to_number(start)) - 1 :][: int(to_number(n))],
    ),
    "SUBSTITUTE": (3, 3, lambda s, old, new: to_text(s).replace(to_text(old), to_text(new))),
    "REPT": (2, 2, lambda s, n: to_text(s) * int(to_number(n))),
    "T": (1, 1, lambda v: v if isinstance(v, str) else ""),
    "VALUE": (1, 1, to_number),
    "REGEX_MATCH": (2, 2, lambda s, p: _regex(p).search(to_text(s)) is not None),
    "REGEX_EXTRACT": (2, 2, _regex_extract),
    "REGEX_REPLACE": (3, 3, lambda s, p, r: _regex(p).sub(to_text(r), to_text(s))),
    "ABS": (1, 1, lambda v: abs(to_number(v))),
    "INT": (1, 1, lambda v: math.floor(to_number(v))),
    "ROUND": (1, 2, _round),
    "MOD": (2, 2, lambda a, b: to_number(a) % to_number(b)),
    "SUM": (1, None, lambda *a: sum(_numbers(a))),
    "MAX": (1, None, lambda *a: max(_numbers(a), default=0)),
    "MIN": (1, None, lambda *a: min(_numbers(a), default=0)),
    "AVERAGE": (1, None, lambda *a: sum(_numbers(a)) / len(_numbers(a)) if _numbers(a) else 0),
    "COUNT": (1, None, lambda *a: sum(isinstance(v, (int, float)) for v in _flatten(a))),
    "COUNTA": (1, None, lambda *a: sum(v not in (None, "") for v in _flatten(a))),
    "COUNTALL": (1, None, lambda *a: len(_flatten(a))),
    "ARRAYJOIN": (1, 2, lambda v, sep=", ": to_text(sep).join(to_text(x) for x in _flatten([v]))),
    "ARRAYUNIQUE": (1, None, lambda *a: _unique(a)),
    "ARRAYCOMPACT": (1, None, lambda *a: [v for v in _flatten(a) if v not in (None, "")]),
    "ARRAYFLATTEN": (1, None, lambda *a: _flatten(a)),
    "DATETIME_PARSE": (1, 3, lambda v, *_: to_datetime(v)),
    "DATETIME_FORMAT": (1, 2, lambda v, *_: format_timestamp(to_datetime(v))),
    "DATESTR": (1, 1, _datestr),
    "IS_BEFORE": (2, 2, lambda a, b: to_datetime(a) < to_datetime(b)),
    "IS_AFTER": (2, 2, lambda a, b: to_datetime(a) > to_datetime(b)),
    "IS_SAME": (2, 3, lambda a, b, *_: to_datetime(a) == to_datetime(b)),
}
# Evaluated specially (lazily or with record context); arity only here.
SPECIAL_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "IF": (2, 3),
    "SWITCH": (3, None),
    "ISERROR": (1, 1),
    "IFERROR": (2, 2),
    "RECORD_ID": (0, 0),
    "CREATED_TIME": (0, 0),
    "LAST_MODIFIED_TIME": (0, None),
    "NOW": (0, 0),
    "TODAY": (0, 0),
}
_BARE_NAMES = {"TRUE": True, "FALSE": False}


def _raise(error: Exception) -> Any:
    raise error


# --------------------------------------------------------------------------- compile


@dataclass(frozen=True)
class Formula:
    text: str
    root: Node
    field_ids: tuple[str, ...]  # referenced fields, in order of first use


def compile_formula(
    text: str,
    resolve_field: Callable[[str], str | None],
    names: frozenset[str] = frozenset(),
) -> Formula:
    """Parse ``text`` and resolve ``{field}`` references to field IDs.

    ``names`` are extra bare identifiers allowed in the formula (``values`` in rollups).
    Raises FormulaError with an Airtable-style detail message.
    """
    root = _Parser(tokenize(text)).parse()
    unknown_fields: list[str] = []
    unknown_functions: list[str] = []
    referenced: list[str] = []

    def walk(node: Node) -> Node:
        if isinstance(node, FieldRef):
            field_id = resolve_field(node.key)
            if field_id is None:
                unknown_fields.append(node.key)
                return node
            if field_id not in referenced:
                referenced.append(field_id)
            return FieldRef(field_id)
        if isinstance(node, Name):
            if node.name not in _BARE_NAMES and node.name.lower() not in names:
                raise FormulaError(SYNTAX_MESSAGE)
            return node
        if isinstance(node, Call):
            arity = SPECIAL_FUNCTIONS.get(node.name) or FUNCTIONS.get(node.name, (0, 0, None))[:2]
            if node.name not in SPECIAL_FUNCTIONS and node.name not in FUNCTIONS:
                unknown_functions.append(node.name)
            elif len(node.args) < arity[0] or (arity[1] is not None and len(node.args) > arity[1]):
                raise FormulaError(SYNTAX_MESSAGE)
            return Call(node.name, tuple(walk(arg) for arg in node.args))
        if isinstance(node, Unary):
            return Unary(node.op, walk(node.operand))
        if isinstance(node, Binary):
            return Binary(node.op, walk(node.left), walk(node.right))
        return node

    resolved = walk(root)
    if unknown_fields:
        raise FormulaError("Unknown field names: " + ", ".join(dict.fromkeys(unknown_fields)))
    if unknown_functions:
        raise FormulaError("Unknown function names: " + ", ".join(dict.fromkeys(unknown_functions)))
    return Formula(text, resolved, tuple(referenced))


# --------------------------------------------------------------------------- evaluate


@dataclass
class EvalContext:
    """What a formula can see of one record."""

    field_value: Callable[[str], Any]
    record_id: str = ""
    created_time: datetime | None = None
    last_modified_time: datetime | None = None
    names: Mapping[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=now_utc)


def evaluate(formula: Formula, context: EvalContext) -> Any:
    """The formula's value; raises EvalError for ``#ERROR!``."""
    try:
        return _eval(formula.root, context)
    except EvalError:
        raise
    except (ArithmeticError, ValueError, TypeError, OverflowError) as exc:
        raise EvalError(str(exc)) from exc


def matches(formula: Formula, context: EvalContext) -> bool:
    try:
        return is_truthy(evaluate(formula, context))
    except EvalError:
        return False


def _eval(node: Node, ctx: EvalContext) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, FieldRef):
        return ctx.field_value(node.key)
    if isinstance(node, Name):
        if node.name in _BARE_NAMES:
            return _BARE_NAMES[node.name]
        return ctx.names[node.name.lower()]
    if isinstance(node, Unary):
        value = to_number(_eval(node.operand, ctx))
        return -value if node.op == "-" else value
    if isinstance(node, Binary):
        left, right = _eval(node.left, ctx), _eval(node.right, ctx)
        if node.op == "&":
            return to_text(left) + to_text(right)
        if node.op == "+":
            return to_number(left) + to_number(right)
        if node.op == "-":
            return to_number(left) - to_number(right)
        if node.op == "*":
            return to_number(left) * to_number(right)
        if node.op == "/":
            return _divide(left, right)
        return compare(node.op, left, right)
    return _call(node, ctx)


def _call(node: Call, ctx: EvalContext) -> Any:
    name, args = node.name, node.args
    if name == "IF":
        branch = 1 if is_truthy(_eval(args[0], ctx)) else 2
        return _eval(args[branch], ctx) if branch < len(args) else None
    if name == "SWITCH":
        subject = _eval(args[0], ctx)
        rest = args[1:]
        for i in range(0, len(rest) - 1, 2):
            if compare("=", subject, _eval(rest[i], ctx)):
                return _eval(rest[i + 1], ctx)
        return _eval(rest[-1], ctx) if len(rest) % 2 else None
    if name in ("ISERROR", "IFERROR"):
        try:
            value = _eval(args[0], ctx)
        except (EvalError, ArithmeticError, ValueError, TypeError):
            return True if name == "ISERROR" else _eval(args[1], ctx)
        return False if name == "ISERROR" else value
    if name == "RECORD_ID":
        return ctx.record_id
    if name == "CREATED_TIME":
        return ctx.created_time
    if name == "LAST_MODIFIED_TIME":
        return ctx.last_modified_time
    if name == "NOW":
        return ctx.now
    if name == "TODAY":
        return ctx.now.replace(hour=0, minute=0, second=0, microsecond=0)
    impl = FUNCTIONS[name][2]
    return impl(*(_eval(arg, ctx) for arg in args))
