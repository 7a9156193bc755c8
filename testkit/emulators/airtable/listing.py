"""List records: parameters (query string or listRecords body), filter, sort, pages (§1.2)."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import errors
from .cells import is_empty
from .formula import Formula, FormulaError, matches, to_text
from .ids import IdFactory
from .model import NUMBER_TYPES, Field, Record, Table, View
from .state import State

MAX_PAGE_SIZE = 100
_SORT_PARAM = re.compile(r"^sort\[(\d+)\]\[(field|direction)\]$")
BODY_KEYS = frozenset(
    {
        "pageSize",
        "maxRecords",
        "offset",
        "view",
        "sort",
        "filterByFormula",
        "cellFormat",
        "fields",
        "returnFieldsByFieldId",
        "recordMetadata",
    }
)
# Keys airtable.js copies into the body as well (its own `method` option; timeZone/userLocale, which are
# read from the query string only). The official client sends them, so the real API accepts them.
IGNORED_BODY_KEYS = frozenset({"method", "timeZone", "userLocale"})


@dataclass
class RawListParams:
    """List parameters before they are checked against the table."""

    page_size: Any = None
    max_records: Any = None
    offset: str | None = None
    view: str | None = None
    sort: list[tuple[Any, Any]] = field(default_factory=list)  # (field, direction)
    formula: str | None = None
    fields: list[Any] | None = None
    by_id: Any = None
    cell_format: Any = None
    time_zone: str | None = None
    user_locale: str | None = None
    record_metadata: list[Any] = field(default_factory=list)


@dataclass
class ListParams:
    page_size: int
    max_records: int | None
    offset: str | None
    view: View | None
    sort: list[tuple[Field, bool]]  # (field, descending)
    formula: Formula | None
    fields: list[Field] | None
    by_id: bool
    cell_format: str
    time_zone: str | None
    comment_count: bool


def parse_bool(value: Any) -> bool:
    """JSON booleans, and true/false/1/0 in query strings (pyairtable sends 1/0, §8.3)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "1", "false", "0", ""):
        return value.lower() in ("true", "1")
    raise errors.invalid_request()


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise errors.invalid_request()
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise errors.invalid_request()


def _first(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def raw_from_query(query: Mapping[str, list[str]]) -> RawListParams:
    sort: dict[int, dict[str, str]] = {}
    for key, values in query.items():
        if found := _SORT_PARAM.match(key):
            sort.setdefault(int(found.group(1)), {})[found.group(2)] = values[0]
    fields = query.get("fields[]", []) + query.get("fields", [])
    return RawListParams(
        page_size=_first(query, "pageSize"),
        max_records=_first(query, "maxRecords"),
        offset=_first(query, "offset"),
        view=_first(query, "view"),
        sort=[(sort[i].get("field"), sort[i].get("direction")) for i in sorted(sort)],
        formula=_first(query, "filterByFormula"),
        fields=fields if "fields[]" in query or "fields" in query else None,
        by_id=_first(query, "returnFieldsByFieldId"),
        cell_format=_first(query, "cellFormat"),
        time_zone=_first(query, "timeZone"),
        user_locale=_first(query, "userLocale"),
        record_metadata=query.get("recordMetadata[]", []) + query.get("recordMetadata", []),
    )


def raw_from_body(body: Mapping[str, Any], query: Mapping[str, list[str]], strict: bool) -> RawListParams:
    """POST listRecords: parameters in the body, timeZone/userLocale stay in the query (§1.2)."""
    if strict and set(body) - BODY_KEYS - IGNORED_BODY_KEYS:
        raise errors.invalid_request()
    sort = body.get("sort") or []
    fields = body.get("fields")
    metadata = body.get("recordMetadata") or []
    offset = body.get("offset")
    if not isinstance(sort, list) or not all(isinstance(s, dict) for s in sort):
        raise errors.invalid_request()
    if (fields is not None and not isinstance(fields, list)) or not isinstance(metadata, list):
        raise errors.invalid_request()
    if offset is not None and not isinstance(offset, str):
        raise errors.invalid_request()
    return RawListParams(
        page_size=body.get("pageSize"),
        max_records=body.get("maxRecords"),
        offset=offset,
        view=body.get("view"),
        sort=[(s.get("field"), s.get("direction")) for s in sort],
        formula=body.get("filterByFormula"),
        fields=fields,
        by_id=body.get("returnFieldsByFieldId"),
        cell_format=body.get("cellFormat"),
        time_zone=_first(query, "timeZone"),
        user_locale=_first(query, "userLocale"),
        record_metadata=metadata,
    )


def resolve(state: State, table: Table, raw: RawListParams) -> ListParams:
    """Check parameters against the table; raise the matching 422s."""
    page_size = MAX_PAGE_SIZE if raw.page_size in (None, "") else _int(raw.page_size)
    if page_size > MAX_PAGE_SIZE and state.quirks.page_size_over_limit == "clamp":
        page_size = MAX_PAGE_SIZE
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise errors.invalid_request()
    max_records = None if raw.max_records in (None, "") else _int(raw.max_records)
    if max_records is not None and max_records < 0:
        raise errors.invalid_request()
    view = None
    if raw.view:
        view = table.view(str(raw.view))
        if view is None and state.quirks.unknown_view == "error":
            raise errors.typed(422, "VIEW_NAME_NOT_FOUND", f'Could not find view "{raw.view}"')
    fields = None if raw.fields is None else [_field(table, key) for key in raw.fields]
    sort = []
    for key, direction in raw.sort:
        if direction not in (None, "asc", "desc"):
            raise errors.invalid_request()
        sort.append((_field(table, key), direction == "desc"))
    formula = None
    if raw.formula:
        if not isinstance(raw.formula, str):
            raise errors.invalid_request()
        try:
            formula = state.compile(table, raw.formula)
        except FormulaError as exc:
            raise errors.invalid_formula(str(exc)) from None
    cell_format = raw.cell_format or "json"
    if cell_format not in ("json", "string"):
        raise errors.invalid_request()
    if cell_format == "string" and not (raw.time_zone and raw.user_locale):
        raise errors.invalid_request()  # §1.2: string format needs timeZone and userLocale
    return ListParams(
        page_size=page_size,
        max_records=max_records,
        offset=raw.offset or None,  # offset="" starts over (§1.2)
        view=view,
        sort=sort,
        formula=formula,
        fields=fields,
        by_id=False if raw.by_id is None else parse_bool(raw.by_id),
        cell_format=cell_format,
        time_zone=raw.time_zone,
        comment_count="commentCount" in raw.record_metadata,
    )


def _field(table: Table, key: Any) -> Field:
    found = table.field(key) if isinstance(key, str) else None
    if found is None:
        raise errors.unknown_field(str(key))
    return found


# --------------------------------------------------------------------------- iterators


@dataclass
class _Iteration:
    table_id: str
    remaining: list[str]
    issued_at: float


class Iterators:
    """Server-side pagination cursors: an offset names the rest of a snapshot of record IDs."""

    def __init__(
        self,
        ids: IdFactory,
        clock: Callable[[], float],
        ttl_seconds: float | None,
        capacity: int = 2000,
    ) -> None:
        self._ids = ids
        self._clock = clock
        self._ttl = ttl_seconds
        self._capacity = capacity
        self._items: OrderedDict[str, _Iteration] = OrderedDict()

    def issue(self, table_id: str, remaining: list[str]) -> str:
        token = f"{self._ids.new('itr')}/{remaining[0]}"  # historical itr…/rec… shape (§1.2)
        self._items[token] = _Iteration(table_id, remaining, self._clock())
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return token

    def take(self, token: str, table_id: str) -> list[str]:
        item = self._items.get(token)
        expired = item is not None and self._ttl is not None and self._clock() - item.issued_at > self._ttl
        if item is None or expired or item.table_id != table_id:
            raise errors.iterator_not_available()
        return item.remaining

    def expire_all(self) -> None:
        self._items.clear()


# --------------------------------------------------------------------------- listing


def list_records(state: State, iterators: Iterators, table: Table, params: ListParams) -> dict[str, Any]:
    if params.offset:
        ids = iterators.take(params.offset, table.id)
        records = [table.records[i] for i in ids if i in table.records]
    else:
        records = select(state, table, params)
        if params.max_records is not None:
            records = records[: params.max_records]
    page, rest = records[: params.page_size], records[params.page_size :]
    response: dict[str, Any] = {
        "records": [
            state.render_record(
                table,
                record,
                fields=params.fields,
                by_id=params.by_id,
                cell_format=params.cell_format,
                time_zone=params.time_zone,
                comment_count=params.comment_count,
            )
            for record in page
        ]
    }
    if rest:  # offset only when more records exist (§1.2)
        response["offset"] = iterators.issue(table.id, [r.id for r in rest])
    return response


def select(state: State, table: Table, params: ListParams) -> list[Record]:
    records = list(table.records.values())
    view = params.view
    if view is not None and view.filter_formula:
        view_formula = state.compile(table, view.filter_formula)
        records = [r for r in records if matches(view_formula, state.context(table, r))]
    if params.formula is not None:
        formula = params.formula
        records = [r for r in records if matches(formula, state.context(table, r))]
    sort = params.sort
    if not sort and view is not None:
        sort = [
            (f, item.get("direction") == "desc")
            for item in view.sort
            if (f := table.field(item.get("field", ""))) is not None
        ]
    blanks_first = state.quirks.blanks_first_ascending
    for fld, descending in reversed(sort):  # stable multi-key sort, last key first
        records.sort(
            key=lambda r, f=fld: _sort_key(f, state.cell(table, r, f), blanks_first),
            reverse=descending,
        )
    return records


def _sort_key(fld: Field, value: Any, blanks_first: bool) -> tuple[int, tuple[int, Any]]:
    if is_empty(value):
        return (0 if blanks_first else 2, (0, 0))
    if fld.type == "singleSelect":  # selects sort by option order
        names = fld.choice_names()
        return (1, (0, names.index(value) if value in names else len(names)))
    if fld.type == "multipleSelects":
        names = fld.choice_names()
        return (1, (0, tuple(names.index(v) if v in names else len(names) for v in value)))
    if fld.type in NUMBER_TYPES or isinstance(value, (int, float)):
        return (1, (0, value) if isinstance(value, (int, float)) else (1, to_text(value).casefold()))
    return (1, (1, to_text(value).casefold()))
