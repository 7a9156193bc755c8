"""The emulator's state: bases, tables, records and tokens, plus reading cells (computed ones too).

All methods expect the caller to hold the emulator lock; :class:`State` itself has none.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from . import errors
from .cells import RECORD_ID_PATTERN, Pending, is_empty
from .config import Quirks
from .formula import (
    EvalContext,
    EvalError,
    Formula,
    FormulaError,
    compile_formula,
    evaluate,
    to_text,
)
from .ids import IdFactory
from .model import (
    DEFAULT_SCOPES,
    Base,
    Field,
    Record,
    Table,
    Token,
    View,
    choice_color,
    default_options,
)
from .timeutil import format_timestamp, now_utc, parse_datetime, zone

_MAX_DEPTH = 12
_LINK_TYPES = ("multipleRecordLinks",)
_DERIVED_TYPES = ("count", "rollup", "lookup", "multipleLookupValues")


class State:
    def __init__(
        self,
        ids: IdFactory,
        quirks: Quirks,
        wall_clock: Callable[[], datetime] = now_utc,
    ) -> None:
        self.ids = ids
        self.quirks = quirks
        self.now = wall_clock
        self.bases: dict[str, Base] = {}
        self.tokens: dict[str, Token] = {}
        self._table_index: dict[str, tuple[Base, Table]] = {}
        self._formulas: dict[tuple[str, str], Formula | FormulaError] = {}

    # ----------------------------------------------------------------- seeding

    def new_id(self, prefix: str) -> str:
        return self.ids.new(prefix)

    def add_token(
        self,
        token: str | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        bases: Iterable[str] | str | None = None,
        user_id: str | None = None,
        email: str | None = None,
        permission_level: str = "create",
    ) -> str:
        value = token or f"fake-airtable-token-{self.ids.hex(24)}"
        granted = None if bases in (None, "*") else frozenset([bases] if isinstance(bases, str) else bases)
        self.tokens[value] = Token(
            value=value,
            scopes=frozenset(scopes),
            bases=granted,
            user_id=user_id or self.new_id("usr"),
            email=email,
            permission_level=permission_level,
        )
        return value

    def add_base(self, base_id: str | None, name: str) -> Base:
        base = Base(id=base_id or self.new_id("app"), name=name)
        if base.id in self.bases:
            raise ValueError(f"base {base.id} already exists")
        self.bases[base.id] = base
        return base

    def add_table(self, base_id: str, spec: Mapping[str, Any]) -> Table:
        base = self.base_or_raise(base_id)
        fields = [self._field_from_spec(item) for item in spec["fields"]]
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate field names in table {spec['name']!r}")
        primary_key = spec.get("primaryField") or spec.get("primaryFieldId") or fields[0].id
        primary = next((f for f in fields if primary_key in (f.id, f.name)), None)
        if primary is None:
            raise ValueError(f"primary field {primary_key!r} is not a field of {spec['name']!r}")
        views = [
            View(
                id=item.get("id") or self.new_id("viw"),
                name=item["name"],
                type=item.get("type", "grid"),
                filter_formula=item.get("filterByFormula"),
                sort=list(item.get("sort", [])),
            )
            for item in spec.get("views") or [{"name": "Grid view"}]
        ]
        table = Table(
            id=spec.get("id") or self.new_id("tbl"),
            name=spec["name"],
            fields=fields,
            primary_field_id=primary.id,
            views=views,
            description=spec.get("description"),
        )
        if base.table(table.id) or base.table(table.name):
            raise ValueError(f"table {table.name!r} already exists in {base.id}")
        base.tables.append(table)
        self._table_index[table.id] = (base, table)
        self._resolve_references(base)
        return table

    def _field_from_spec(self, spec: Mapping[str, Any]) -> Field:
        options = copy.deepcopy(dict(spec.get("options") or {}))
        if "choices" in options:
            options["choices"] = [self.make_choice(item, index) for index, item in enumerate(options["choices"])]
        return Field(
            id=spec.get("id") or self.new_id("fld"),
            name=spec["name"],
            type=spec["type"],
            options=default_options(spec["type"], options),
            description=spec.get("description"),
        )

    def make_choice(self, item: str | Mapping[str, Any], index: int) -> dict[str, Any]:
        data = {"name": item} if isinstance(item, str) else dict(item)
        data.setdefault("id", self.new_id("sel"))
        data.setdefault("color", choice_color(index))
        return {"id": data["id"], "name": data["name"], "color": data["color"]}

    def _resolve_references(self, base: Base) -> None:
        """Turn table/field names in link-type options into IDs once the targets exist."""
        for table in base.tables:
            for fld in table.fields:
                opts = fld.options
                if "linkedTableId" in opts and (linked := base.table(opts["linkedTableId"])):
                    opts["linkedTableId"] = linked.id
                    if "inverseLinkFieldId" in opts and (inv := linked.field(opts["inverseLinkFieldId"])):
                        opts["inverseLinkFieldId"] = inv.id
                if "recordLinkFieldId" in opts and (link := table.field(opts["recordLinkFieldId"])):
                    opts["recordLinkFieldId"] = link.id
                    linked = base.table(link.options.get("linkedTableId", ""))
                    key = opts.get("fieldIdInLinkedTable")
                    if linked and key and (target := linked.field(key)):
                        opts["fieldIdInLinkedTable"] = target.id

    # ----------------------------------------------------------------- lookups

    def base_or_raise(self, base_id: str) -> Base:
        base = self.bases.get(base_id)
        if base is None:
            raise ValueError(f"unknown base {base_id!r}")
        return base

    def table_or_raise(self, base_id: str, table_key: str) -> Table:
        table = self.base_or_raise(base_id).table(table_key)
        if table is None:
            raise ValueError(f"unknown table {table_key!r} in base {base_id!r}")
        return table

    def table_by_id(self, table_id: str) -> Table | None:
        entry = self._table_index.get(table_id)
        return entry[1] if entry else None

    def base_of(self, table: Table) -> Base:
        return self._table_index[table.id][0]

    def linked_table(self, link: Field) -> Table | None:
        linked_id = link.options.get("linkedTableId", "")
        return self.table_by_id(linked_id) or self._find_table_anywhere(linked_id)

    def _find_table_anywhere(self, key: str) -> Table | None:
        for base in self.bases.values():
            if table := base.table(key):
                return table
        return None

    def primary_text(self, table: Table, record: Record) -> str:
        return to_text(self.cell(table, record, table.primary_field))

    # ----------------------------------------------------------------- links

    def resolve_links(self, target: Field, items: list[Any], typecast: bool, pending: Pending) -> list[str]:
        linked = self.linked_table(target)
        if linked is None:
            raise errors.invalid_value(target.name)
        resolved: list[str] = []
        for item in items:
            if not isinstance(item, str):
                raise errors.invalid_value(target.name)
            if item in linked.records:
                resolved.append(item)
            elif typecast:  # typecast links by primary field value, creating missing records
                resolved.append(self._link_by_name(linked, item, pending))
            elif RECORD_ID_PATTERN.match(item):
                raise errors.row_does_not_exist(item)
            else:
                raise errors.invalid_record_id_value(item)
        return list(dict.fromkeys(resolved))

    def _link_by_name(self, linked: Table, name: str, pending: Pending) -> str:
        for record in linked.records.values():
            if self.primary_text(linked, record) == name:
                return record.id
        key = (linked.id, name)
        if key not in pending.new_linked:
            pending.new_linked[key] = self.new_id("rec")
        return pending.new_linked[key]

    # ----------------------------------------------------------------- cells

    def cell(self, table: Table, record: Record, fld: Field, depth: int = 0) -> Any:
        """The JSON value of one cell, computing read-only fields."""
        kind = fld.type
        if not fld.computed:
            return record.cells.get(fld.id)
        if depth > _MAX_DEPTH:
            return {"error": "#ERROR!"}
        if kind == "autoNumber":
            return record.auto_number
        if kind == "createdTime":
            return format_timestamp(record.created_time)
        if kind == "lastModifiedTime":
            moment = self.last_modified(table, record, fld)
            return format_timestamp(moment) if moment else None
        if kind in _DERIVED_TYPES:
            return self._derived(table, record, fld, depth)
        if kind == "formula":
            return self._formula_cell(table, record, fld.options.get("formula", ""), depth)
        return None  # createdBy, lastModifiedBy, button, aiText: not modelled

    def last_modified(self, table: Table, record: Record, fld: Field | None = None) -> datetime | None:
        watched = (fld.options.get("referencedFieldIds") if fld else None) or list(record.modified)
        moments = [record.modified[f] for f in watched if f in record.modified]
        return max(moments) if moments else None

    def _derived(self, table: Table, record: Record, fld: Field, depth: int) -> Any:
        link = table.field(fld.options.get("recordLinkFieldId", ""))
        linked_ids = (record.cells.get(link.id) or []) if link else []
        if fld.type == "count":
            return len(linked_ids)
        linked = self.linked_table(link) if link else None
        target = linked.field(fld.options.get("fieldIdInLinkedTable", "")) if linked else None
        values: list[Any] = []
        if linked and target:
            for rec_id in linked_ids:
                if (other := linked.records.get(rec_id)) is not None:
                    value = self.cell(linked, other, target, depth + 1)
                    if isinstance(value, list):
                        values.extend(value)
                    elif value is not None:
                        values.append(value)
        if fld.type != "rollup":
            return values
        # Emulator extension: options.formula over `values` (default ARRAYJOIN(values)).
        text = fld.options.get("formula", "ARRAYJOIN(values)")
        return self._formula_cell(table, record, text, depth, {"values": values})

    def _formula_cell(
        self,
        table: Table,
        record: Record,
        text: str,
        depth: int,
        names: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            formula = self.compile(table, text, frozenset(names or {}))
            value = evaluate(formula, self.context(table, record, depth + 1, names))
        except (FormulaError, EvalError):
            return {"error": "#ERROR!"}
        return _json_value(value)

    def compile(self, table: Table, text: str, names: frozenset[str] = frozenset()) -> Formula:
        key = (table.id, text + "\x00" + ",".join(sorted(names)))
        cached = self._formulas.get(key)
        if cached is None:
            try:
                cached = compile_formula(text, lambda k: _field_id(table, k), names)
            except FormulaError as exc:
                cached = exc
            self._formulas[key] = cached
        if isinstance(cached, FormulaError):
            raise cached
        return cached

    def context(
        self,
        table: Table,
        record: Record,
        depth: int = 0,
        names: Mapping[str, Any] | None = None,
    ) -> EvalContext:
        return EvalContext(
            field_value=lambda field_id: self.formula_value(table, record, field_id, depth),
            record_id=record.id,
            created_time=record.created_time,
            last_modified_time=self.last_modified(table, record),
            names=names or {},
            now=self.now(),
        )

    def formula_value(self, table: Table, record: Record, field_id: str, depth: int = 0) -> Any:
        """A cell as formulas see it: dates as datetimes, links as primary values."""
        fld = table.field(field_id)
        if fld is None:
            raise EvalError(field_id)
        value = self.cell(table, record, fld, depth)
        if isinstance(value, dict) and "error" in value:
            raise EvalError(value["error"])
        if fld.type == "checkbox":
            return bool(value)
        if value is None:
            return None
        if fld.type in ("date", "dateTime", "createdTime", "lastModifiedTime"):
            return parse_datetime(value)
        if fld.type in _LINK_TYPES:
            linked = self.linked_table(fld)
            return [
                self.primary_text(linked, linked.records[rec_id])
                for rec_id in value
                if linked and rec_id in linked.records
            ]
        return value

    # ----------------------------------------------------------------- rendering

    def render_record(
        self,
        table: Table,
        record: Record,
        fields: list[Field] | None = None,
        by_id: bool = False,
        cell_format: str = "json",
        time_zone: str | None = None,
        comment_count: bool = False,
    ) -> dict[str, Any]:
        rendered: dict[str, Any] = {}
        for fld in fields if fields is not None else table.fields:
            value = self.cell(table, record, fld)
            if cell_format == "string":
                value = self._as_string(fld, value, time_zone)
            if not is_empty(value):
                rendered[fld.id if by_id else fld.name] = value
        result: dict[str, Any] = {
            "id": record.id,
            "createdTime": format_timestamp(record.created_time),
            "fields": rendered,
        }
        if comment_count:
            result["commentCount"] = 0
        return result

    def _as_string(self, fld: Field, value: Any, time_zone: str | None) -> str | None:
        """A minimal ``cellFormat=string`` rendering (locale formatting is not modelled)."""
        if is_empty(value):
            return None
        if fld.type in _LINK_TYPES:
            linked = self.linked_table(fld)
            return ", ".join(
                self.primary_text(linked, linked.records[r]) for r in value if linked and r in linked.records
            )
        if fld.type == "checkbox":
            return "checked"
        if fld.type in ("dateTime", "createdTime", "lastModifiedTime") and isinstance(value, str):
            return parse_datetime(value).astimezone(zone(time_zone)).strftime("%Y-%m-%d %H:%M")
        if fld.type == "multipleAttachments":
            return ", ".join(f"{a['filename']} ({a['url']})" for a in value)
        return to_text(value)

    def schema(self, base: Base, include_visible_fields: bool = False) -> dict[str, Any]:
        tables = []
        for table in base.tables:
            views = []
            for view in table.views:
                data: dict[str, Any] = {"id": view.id, "name": view.name, "type": view.type}
                if include_visible_fields and view.type == "grid":
                    data["visibleFieldIds"] = [f.id for f in table.fields]
                views.append(data)
            entry: dict[str, Any] = {
                "id": table.id,
                "name": table.name,
                "primaryFieldId": table.primary_field_id,
                "fields": [f.to_schema() for f in table.fields],
                "views": views,
            }
            if table.description is not None:
                entry["description"] = table.description
            tables.append(entry)
        return {"tables": copy.deepcopy(tables)}


def _field_id(table: Table, key: str) -> str | None:
    fld = table.field(key)
    return fld.id if fld else None


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return {"specialValue": "NaN" if math.isnan(value) else "Infinity"}
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return value
