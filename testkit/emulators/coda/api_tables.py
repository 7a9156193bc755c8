"""listTables, getTable, listColumns, getColumn."""

from __future__ import annotations

from . import auth, lists, render
from .backend import Backend, Call, Reply
from .state import Doc, Table


def doc_and_table(backend: Backend, call: Call) -> tuple[Doc, Table]:
    doc = call.world.doc(call.params["docId"])
    table = doc.table(call.params["tableIdOrName"])
    auth.check_table(call.token, table)
    return doc, table


def list_tables(backend: Backend, call: Call) -> Reply:
    doc = call.world.doc(call.params["docId"])
    query = lists.start(call)
    kinds = query.params.get("tableTypes") or ["table", "view"]
    tables = [
        t
        for t in doc.tables.values()
        if ("view" if t.is_view else "table") in kinds and auth.can_see_table(call.token, t)
    ]
    if query.params.get("sortBy") == "name":
        tables.sort(key=lambda t: t.name.lower())
    return lists.reply(backend, call, query, tables, lambda t, _i: render.table_ref(backend.links, doc, t))


def get_table(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    return Reply(200, render.table_json(backend.links, doc, table))


def list_columns(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    query = lists.start(call)
    columns = table.columns
    if query.params.get("visibleOnly") and not table.is_view:
        columns = [c for c in columns if not c.hidden]
    return lists.reply(
        backend, call, query, columns, lambda c, _i: render.column_json(backend.links, doc, table, c), max_limit=100
    )


def get_column(backend: Backend, call: Call) -> Reply:
    doc, table = doc_and_table(backend, call)
    column = table.column_or_404(call.params["columnIdOrName"])
    return Reply(200, render.column_json(backend.links, doc, table, column, detail=True))
