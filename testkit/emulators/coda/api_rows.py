"""listRows, getRow, upsertRows, deleteRows, updateRow, deleteRow."""

from __future__ import annotations

import json
import math
from typing import Any

from . import ids, lists, paging, render
from .api_tables import doc_and_table
from .backend import Backend, Call, Reply
from .errors import NATURAL_SORT, bad_request
from .state import Column, Doc, Row, Table
from .values import SCHEMA_ORG, Renderer, edit_size, parse, plain

# -- reads ------------------------------------------------------------------------------------------


def list_rows(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    query = _rows_query(backend, call)
    params = query.params
    sort, visible_only = params.get("sortBy"), params.get("visibleOnly")
    if sort == "natural" and visible_only is False:
        raise bad_request(NATURAL_SORT)
    visible = sort == "natural" or visible_only is True
    rows = [r for r in table.rows if not (visible and r.hidden)]
    if "query" in params:
        column, wanted = parse_query(table, str(params["query"]))
        rows = [r for r in rows if plain(table.cell(r, column)) == plain(wanted)]
    if "_since" in params:
        rows = [r for r in rows if r.updated_seq > params["_since"]]
    if sort == "updatedAt":
        rows.sort(key=lambda r: r.updated_seq)
    elif sort != "natural":
        rows.sort(key=lambda r: r.created_seq)
    columns = [c for c in table.columns if not (visible and c.hidden)]
    renderer = renderer_for(backend, doc, params.get("valueFormat", "simple"))
    position = {r.id: i for i, r in enumerate(table.rows)}
    use_names = bool(params.get("useColumnNames"))
    original = {k: v for k, v in params.items() if not k.startswith("_")}
    sync = paging.encode({"kind": "sync", "scope": call.path, "params": original, "seq": params["_seq"]})
    return lists.reply(
        backend,
        call,
        query,
        rows,
        lambda r, _i: render.row_json(backend.links, doc, table, r, position[r.id], renderer, columns, use_names),
        last_page={"nextSyncToken": sync},
    )


def _rows_query(backend: Backend, call: Call) -> lists.ListQuery:
    """The query for this page: from `pageToken`, else from `syncToken` (changes since), else the request."""
    if "pageToken" in call.query:
        return lists.start(call)
    seq = call.world.seq
    token = call.query.get("syncToken")
    if token is not None:
        payload = paging.decode(str(token), "sync", call.path)
        return lists.ListQuery({**payload["params"], "_since": payload["seq"], "_seq": seq}, 0)
    query = lists.start(call, extra={"_seq": seq})
    query.params.pop("syncToken", None)
    return query


def parse_query(table: Table, text: str) -> tuple[Column, Any]:
    """`c-xxx:<JSON>` or `"Column Name":<JSON>`; names must be quoted, values are JSON."""
    text = text.strip()
    if text.startswith('"'):
        try:
            ref, end = json.JSONDecoder().raw_decode(text)
        except ValueError:
            raise bad_request(f"Invalid query {text!r}: the quoted column name is not valid JSON.") from None
        column, rest = table.column(str(ref)), text[end:]
    else:
        ref = text.partition(":")[0]
        column = next((c for c in table.columns if c.id == ref), None)
        rest = text[len(ref) :]
    if not rest.startswith(":"):
        raise bad_request(f"Invalid query {text!r}: expected <column_id_or_quoted_name>:<JSON value>.")
    if column is None:
        raise bad_request(f"Invalid query {text!r}: no column {ref!r} (quote column names).")
    try:
        return column, json.loads(rest[1:])
    except ValueError:
        raise bad_request(f"Invalid query {text!r}: the value must be JSON (quote strings).") from None


def get_row(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    row = table.row(call.params["rowIdOrName"])
    renderer = renderer_for(backend, doc, call.query.get("valueFormat", "simple"))
    body = render.row_json(
        backend.links,
        doc,
        table,
        row,
        table.rows.index(row),
        renderer,
        table.columns,
        bool(call.query.get("useColumnNames")),
    )
    body["parent"] = render.table_ref(backend.links, doc, table)
    return Reply(200, body)


def renderer_for(backend: Backend, doc: Doc, value_format: str) -> Renderer:
    links = backend.links

    def resolve(column: Column, value: Any) -> tuple[str, dict[str, Any]] | None:
        target = next((t for t in doc.tables.values() if column.lookup_table in (t.id, t.name)), None)
        if target is None or column.lookup_table is None:
            return None
        row = next((r for r in target.rows if r.id == value), None) or next(
            (r for r in target.rows if plain(target.display_value(r)) == plain(value)), None
        )
        if row is None:
            return None
        name = plain(target.display_value(row))
        return name, {
            "@context": SCHEMA_ORG,
            "@type": "StructuredValue",
            "additionalType": "row",
            "name": name,
            "url": links.row_browser(doc, target, row),
            "tableId": target.id,
            "rowId": row.id,
            "tableUrl": links.table_browser(doc, target),
        }

    return Renderer(value_format, resolve)


# -- writes -----------------------------------------------------------------------------------------


def upsert_rows(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    if table.is_view:
        raise bad_request("Rows can only be added to or upserted into base tables, not views.")
    edits = call.body["rows"]
    _check_sizes(backend, edits)
    warnings: list[str] = []
    disable = bool(call.query.get("disableParsing"))
    rows = [_cells(backend, table, edit["cells"], disable, warnings) for edit in edits]
    keys = [k for k in (_key_column(backend, table, ref, warnings) for ref in call.body.get("keyColumns") or []) if k]
    if call.body.get("keyColumns") and len(keys) < len(call.body["keyColumns"]):
        return backend.mutate(call, doc.id, lambda _at: "; ".join(warnings))  # nothing can be matched
    if keys:
        for values in rows:
            missing = [k.name for k in keys if k.id not in values]
            if missing:
                raise bad_request(f"Every row must have a value for each key column; missing {missing}.")
        return backend.mutate(call, doc.id, lambda at: _keyed_upsert(backend, table, keys, rows, at, warnings))
    added = [backend.ids.new(ids.ROW) for _ in rows]

    def insert(at: float) -> str | None:
        for row_id, values in zip(added, rows, strict=True):
            _insert(backend, table, row_id, values, at)
        return "; ".join(warnings) or None

    return backend.mutate(call, doc.id, insert, addedRowIds=added)


def _keyed_upsert(
    backend: Backend, table: Table, keys: list[Column], rows: list[dict[str, Any]], at: float, warnings: list[str]
) -> str | None:
    """Update EVERY row whose key cells all match; insert when none does (row by row, in order)."""
    for values in rows:
        matches = [r for r in table.rows if all(plain(table.cell(r, k)) == plain(values[k.id]) for k in keys)]
        for row in matches:
            _update(backend, table, row, values, at)
        if not matches:
            _insert(backend, table, backend.ids.new(ids.ROW), values, at)
    return "; ".join(warnings) or None


def delete_rows(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    row_ids = list(call.body["rowIds"])

    def delete(at: float) -> None:
        table.rows[:] = [r for r in table.rows if r.id not in set(row_ids)]
        table.updated_at = at

    return backend.mutate(call, doc.id, delete, rowIds=row_ids)


def update_row(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    row = table.row(call.params["rowIdOrName"])
    _check_sizes(backend, [call.body["row"]])
    warnings: list[str] = []
    values = _cells(backend, table, call.body["row"]["cells"], bool(call.query.get("disableParsing")), warnings)

    def update(at: float) -> str | None:
        if row not in table.rows:
            raise LookupError("The row was deleted before the update was applied.")
        _update(backend, table, row, values, at)
        return "; ".join(warnings) or None

    return backend.mutate(call, doc.id, update, id=row.id)


def delete_row(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    row = table.row(call.params["rowIdOrName"])

    def delete(at: float) -> None:
        table.rows[:] = [r for r in table.rows if r.id != row.id]
        table.updated_at = at

    return backend.mutate(call, doc.id, delete, id=row.id)


# -- helpers ----------------------------------------------------------------------------------------


def _check_sizes(backend: Backend, edits: list[dict[str, Any]]) -> None:
    """Refuse the whole batch if any row edit is over the per-row limit."""
    limit = backend.options.max_row_bytes
    for edit in edits:
        size = edit_size(edit["cells"])
        if size > limit:
            kb = math.ceil(size / 1024)
            raise bad_request(f"Row edit of size {kb} KB exceeds maximum size of {limit // 1024} KB.")


def _unknown(backend: Backend, ref: str, what: str, warnings: list[str]) -> None:
    message = f"Could not find a {what} with the specified ID, URL or name: {ref!r}."
    if backend.options.unknown_column == "400":
        raise bad_request(message)
    warnings.append(message)


def _cells(
    backend: Backend, table: Table, cells: list[dict[str, Any]], disable: bool, warnings: list[str]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for cell in cells:
        column = table.column(cell["column"])
        if column is None:
            _unknown(backend, cell["column"], "column", warnings)
        elif column.calculated:
            warnings.append(f"Column {column.name!r} is calculated; the edit was ignored.")
        else:
            values[column.id] = parse(column, cell["value"], disable)
    return values


def _key_column(backend: Backend, table: Table, ref: str, warnings: list[str]) -> Column | None:
    column = table.column(ref)
    if column is None:
        _unknown(backend, ref, "key column", warnings)
    return column


def _insert(backend: Backend, table: Table, row_id: str, values: dict[str, Any], at: float) -> None:
    seq = backend.world.next_seq()
    table.rows.append(Row(row_id, dict(values), at, at, seq, seq))
    table.updated_at = at


def _update(backend: Backend, table: Table, row: Row, values: dict[str, Any], at: float) -> None:
    row.values.update(values)
    row.updated_at = at
    row.updated_seq = backend.world.next_seq()
    table.updated_at = at
