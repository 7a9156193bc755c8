"""Record writes: create, update (PATCH merge / PUT replace), upsert and delete (§1.4–§1.7).

Every operation validates the whole request first and only then changes state, so a rejected
batch leaves nothing behind (§3.3). Callers hold the emulator lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import errors
from .cells import Pending, coerce
from .listing import parse_bool
from .model import MERGE_KEY_TYPES, Field, Record, Table
from .state import State
from .timeutil import parse_datetime

MAX_RECORDS = 10  # §0: per write request
WRITE_KEYS = frozenset({"records", "fields", "typecast", "returnFieldsByFieldId", "performUpsert"})

Cells = dict[str, Any]  # field id -> stored value (None clears)


@dataclass(frozen=True)
class WriteOptions:
    typecast: bool
    by_id: bool


def write_options(state: State, body: dict[str, Any]) -> WriteOptions:
    if state.quirks.strict_body_keys and set(body) - WRITE_KEYS:
        raise errors.invalid_request()
    typecast, by_id = body.get("typecast", False), body.get("returnFieldsByFieldId", False)
    if not isinstance(typecast, bool):
        raise errors.invalid_request()
    return WriteOptions(typecast=typecast, by_id=parse_bool(by_id))


# --------------------------------------------------------------------------- planning


def plan_cells(state: State, table: Table, fields: Any, typecast: bool, pending: Pending) -> Cells:
    if not isinstance(fields, dict):
        raise errors.invalid_records()
    cells: Cells = {}
    for key, value in fields.items():
        target = table.field(key)
        if target is None:
            raise errors.unknown_field(key)
        cells[target.id] = coerce(target, value, typecast, state, pending)
    return cells


def _batch(records: Any) -> list[dict[str, Any]]:
    if not isinstance(records, list) or not records or len(records) > MAX_RECORDS:
        raise errors.invalid_records()
    if not all(isinstance(item, dict) and isinstance(item.get("fields"), dict) for item in records):
        raise errors.invalid_records()
    return records


# --------------------------------------------------------------------------- applying


def _apply_pending(state: State, table: Table, pending: Pending) -> None:
    for field_id, names in pending.new_choices.items():
        target = table.field(field_id)
        if target is None:
            continue
        choices = target.options.setdefault("choices", [])
        for name in names:
            choices.append(state.make_choice(name, len(choices)))  # §6.3: typecast adds the choice
    for (table_id, name), record_id in pending.new_linked.items():
        linked = state.table_by_id(table_id)
        if linked is not None:
            primary = linked.primary_field
            value = coerce(primary, name, True, state, Pending())
            _insert(state, linked, {primary.id: value}, record_id)


def _insert(
    state: State,
    table: Table,
    cells: Cells,
    record_id: str | None = None,
    created_time: datetime | None = None,
) -> Record:
    record = Record(
        id=record_id or state.new_id("rec"),
        created_time=created_time or state.now(),
        auto_number=table.next_auto_number,
    )
    table.next_auto_number += 1
    table.records[record.id] = record
    _write(state, table, record, cells, replace=False)
    return record


def _write(state: State, table: Table, record: Record, cells: Cells, replace: bool) -> None:
    now = state.now()
    if replace:  # PUT clears every cell not sent (§1.5)
        cells = {**{fid: None for fid in record.cells if fid not in cells}, **cells}
    for field_id, value in cells.items():
        old = record.cells.get(field_id)
        if value is None:
            record.cells.pop(field_id, None)
        else:
            record.cells[field_id] = value
        if old != value:
            record.modified[field_id] = now
            target = table.field(field_id)
            if target is not None and target.type == "multipleRecordLinks":
                _sync_inverse(state, record, target, old or [], value or [])


def _sync_inverse(state: State, record: Record, link: Field, old: list[str], new: list[str]) -> None:
    """Keep the other side of a two-way link (options.inverseLinkFieldId) in step."""
    linked = state.linked_table(link)
    inverse = linked.field(link.options.get("inverseLinkFieldId", "")) if linked else None
    if linked is None or inverse is None:
        return
    for other_id in set(old) ^ set(new):
        other = linked.records.get(other_id)
        if other is None:
            continue
        current = [r for r in other.cells.get(inverse.id, []) if r != record.id]
        if other_id in new:
            current.append(record.id)
        if current:
            other.cells[inverse.id] = current
        else:
            other.cells.pop(inverse.id, None)
        other.modified[inverse.id] = state.now()


def _render(state: State, table: Table, record: Record, options: WriteOptions) -> dict[str, Any]:
    return state.render_record(table, record, by_id=options.by_id)


# --------------------------------------------------------------------------- create


def insert_records(state: State, table: Table, items: list[dict[str, Any]], typecast: bool = False) -> list[Record]:
    """Validate and insert ``[{"fields": …, "id"?, "createdTime"?}]`` as one all-or-nothing batch.

    ``id`` and ``createdTime`` are for seeding only; the API never accepts them.
    """
    pending = Pending()
    plans = [plan_cells(state, table, item.get("fields", {}), typecast, pending) for item in items]
    for item in items:
        if "id" in item and item["id"] in table.records:
            raise ValueError(f"record {item['id']} already exists")
    _apply_pending(state, table, pending)
    return [
        _insert(
            state,
            table,
            cells,
            item.get("id"),
            parse_datetime(item["createdTime"]) if item.get("createdTime") else None,
        )
        for item, cells in zip(items, plans, strict=True)
    ]


def create(state: State, table: Table, body: dict[str, Any]) -> dict[str, Any]:
    options = write_options(state, body)
    if "records" in body:
        records = body["records"]
        if isinstance(records, list) and len(records) > MAX_RECORDS:
            raise errors.too_many_created(len(records))
        items = _batch(records)
        if any(set(item) - {"fields"} for item in items):
            raise errors.invalid_records()
        created = insert_records(state, table, items, options.typecast)
        return {"records": [_render(state, table, r, options) for r in created]}
    if "fields" not in body:
        raise errors.missing_fields()
    if not isinstance(body["fields"], dict):
        raise errors.invalid_request()
    (record,) = insert_records(state, table, [{"fields": body["fields"]}], options.typecast)
    return _render(state, table, record, options)  # single form: a bare record (§1.4)


# --------------------------------------------------------------------------- update


def update_one(state: State, table: Table, record_id: str, body: dict[str, Any], replace: bool) -> dict[str, Any]:
    options = write_options(state, body)
    if "records" in body or "performUpsert" in body:
        raise errors.invalid_request()
    record = table.records.get(record_id)
    if record is None:
        raise errors.record_not_found()
    if "fields" not in body:
        raise errors.missing_fields()
    pending = Pending()
    cells = plan_cells(state, table, body["fields"], options.typecast, pending)
    _apply_pending(state, table, pending)
    _write(state, table, record, cells, replace)
    return _render(state, table, record, options)


def update_batch(
    state: State,
    table: Table,
    body: dict[str, Any],
    replace: bool,
    between: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """PATCH/PUT of up to 10 records by ID, or an upsert (`performUpsert`). `between`, when given, is called
    after an upsert has matched its records and before it writes (`Quirks.upsert_atomic` False)."""
    options = write_options(state, body)
    if "fields" in body:
        raise errors.invalid_request()
    items = _batch(body.get("records"))
    if body.get("performUpsert") is not None:
        return _upsert(state, table, items, body["performUpsert"], options, replace, between)
    pending = Pending()
    plans: list[tuple[Record, Cells]] = []
    for item in items:
        record_id = item.get("id")
        if not isinstance(record_id, str):
            if state.quirks.missing_id_error == "ROW_DOES_NOT_EXIST":
                raise errors.row_does_not_exist(str(record_id))
            raise errors.invalid_records()
        record = table.records.get(record_id)
        if record is None:
            raise errors.row_does_not_exist(record_id)  # REPORTED (§1.5)
        plans.append((record, plan_cells(state, table, item["fields"], options.typecast, pending)))
    _apply_pending(state, table, pending)
    for record, cells in plans:
        _write(state, table, record, cells, replace)
    return {"records": [_render(state, table, record, options) for record, _ in plans]}


def _merge_fields(table: Table, upsert: Any) -> list[Field]:
    keys = upsert.get("fieldsToMergeOn") if isinstance(upsert, dict) else None
    if not isinstance(keys, list) or not 1 <= len(keys) <= 3:  # §1.6: one to three fields
        raise errors.invalid_request()
    fields = []
    for key in keys:
        target = table.field(key) if isinstance(key, str) else None
        if target is None:
            raise errors.unknown_field(str(key))
        if target.type not in MERGE_KEY_TYPES:
            raise errors.invalid_request(
                f'Field "{target.name}" of type {target.type} cannot be used in fieldsToMergeOn'
            )
        fields.append(target)
    return fields


def _upsert(
    state: State,
    table: Table,
    items: list[dict[str, Any]],
    upsert: Any,
    options: WriteOptions,
    replace: bool,
    between: Callable[[], None] | None = None,
) -> dict[str, Any]:
    merge_on = _merge_fields(table, upsert)
    pending = Pending()
    creates: list[Cells] = []
    ops: list[tuple[str | int, Cells]] = []  # (existing record id | index into creates, cells)
    for item in items:
        cells = plan_cells(state, table, item["fields"], options.typecast, pending)
        if "id" in item:  # an id ignores fieldsToMergeOn and must exist (§1.6)
            if item["id"] not in table.records:
                raise errors.row_does_not_exist(str(item["id"]))
            ops.append((item["id"], cells))
            continue
        key = [cells.get(f.id) for f in merge_on]
        if any(value is None for value in key):  # empty key: always created (§1.6)
            matches: list[str | int] = []
        else:
            matches = [
                rid
                for rid, rec in table.records.items()
                if all(rec.cells.get(f.id) == v for f, v in zip(merge_on, key, strict=True))
            ]
            matches += [
                i for i, c in enumerate(creates) if all(c.get(f.id) == v for f, v in zip(merge_on, key, strict=True))
            ]
        if len(matches) > 1:
            raise errors.typed(
                422,
                state.quirks.upsert_multiple_matches_type,
                f"{len(matches)} records match the fieldsToMergeOn values; they must uniquely identify a single record",
            )
        if not matches:
            creates.append(cells)
            ops.append((len(creates) - 1, {}))
        elif isinstance(matches[0], int):  # matches a record created earlier in this request
            index = matches[0]
            creates[index] = cells if replace else {**creates[index], **cells}
            ops.append((index, {}))
        else:
            ops.append((matches[0], cells))
    if between is not None:
        # Not atomic: other requests may run now. The records matched on arrival are written, and a key that
        # matched nothing is created even if another request created a record with that key meanwhile.
        between()
        for target, _cells in ops:
            if isinstance(target, str) and target not in table.records:
                raise errors.row_does_not_exist(target)
    _apply_pending(state, table, pending)
    created = [_insert(state, table, cells) for cells in creates]
    result_ids: list[str] = []
    updated: list[str] = []
    for target, cells in ops:
        if isinstance(target, int):
            result_ids.append(created[target].id)
            continue
        _write(state, table, table.records[target], cells, replace)
        result_ids.append(target)
        if target not in updated:
            updated.append(target)
    return {
        "createdRecords": [r.id for r in created],
        "updatedRecords": updated,
        "records": [_render(state, table, table.records[rid], options) for rid in result_ids],
    }


# --------------------------------------------------------------------------- delete


def _remove(state: State, table: Table, record_id: str) -> None:
    del table.records[record_id]
    for other in state.base_of(table).tables:  # drop the record from link cells pointing at it
        for fld in other.fields:
            if fld.type == "multipleRecordLinks" and fld.options.get("linkedTableId") == table.id:
                for rec in other.records.values():
                    links = rec.cells.get(fld.id)
                    if links and record_id in links:
                        remaining = [r for r in links if r != record_id]
                        if remaining:
                            rec.cells[fld.id] = remaining
                        else:
                            del rec.cells[fld.id]


def delete_one(state: State, table: Table, record_id: str) -> dict[str, Any]:
    if record_id not in table.records:
        raise errors.record_not_found()
    _remove(state, table, record_id)
    return {"deleted": True, "id": record_id}


def delete_batch(state: State, table: Table, record_ids: list[str]) -> dict[str, Any]:
    if not record_ids or len(record_ids) > MAX_RECORDS:
        raise errors.invalid_records(
            f"You must provide an array of up to {MAX_RECORDS} record IDs but you have provided {len(record_ids)}."
        )
    for record_id in record_ids:
        if record_id not in table.records:
            raise errors.row_does_not_exist(record_id)
    unique = list(dict.fromkeys(record_ids))
    for record_id in unique:
        _remove(state, table, record_id)
    return {"records": [{"deleted": True, "id": record_id} for record_id in unique]}
