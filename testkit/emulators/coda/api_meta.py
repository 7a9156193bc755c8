"""whoami, resolveBrowserLink, listDocs, getDoc and getMutationStatus."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from . import auth, lists, render
from .backend import Backend, Call, Reply
from .errors import bad_request, not_found
from .state import Doc
from .values import plain


def whoami(backend: Backend, call: Call) -> Reply:
    user = backend.world.users[call.token.owner]
    return Reply(200, render.user_json(backend.links, user, call.token))


def list_docs(backend: Backend, call: Call) -> Reply:
    query = lists.start(call)
    text = str(query.params.get("query", "")).lower()
    docs = [d for d in call.world.docs.values() if auth.can_see_doc(call.token, d.id) and text in d.name.lower()]
    return lists.reply(backend, call, query, docs, lambda doc, _i: render.doc_json(backend.links, doc))


def get_doc(backend: Backend, call: Call) -> Reply:
    return Reply(200, render.doc_json(backend.links, call.world.doc(call.params["docId"])))


def get_mutation_status(backend: Backend, call: Call) -> Reply:
    mutation = backend.queue.get(call.params["requestId"])
    missing = not_found("Could not find a mutation with the specified request ID.")
    if mutation is None or not auth.can_see_doc(call.token, mutation.doc_id):
        raise missing
    if backend.now() - mutation.queued_at < backend.options.mutation_status_404_for:
        raise missing
    body: dict[str, object] = {"completed": mutation.completed}
    if mutation.completed and mutation.warning:
        body["warning"] = mutation.warning
    return Reply(200, body)


_CODA_URL = re.compile(r"^https?://(www\.)?(coda\.io|docs\.superhuman\.com)/d/")


def resolve_browser_link(backend: Backend, call: Call) -> Reply:
    url = str(call.query["url"])
    found = _CODA_URL.match(url) and re.search(r"_d([\w-]+)", urlsplit(url).path)
    if not found:
        raise bad_request("The URL does not appear to be a Coda URL.")
    doc = call.world.docs.get(found.group(1))
    if doc is None or not auth.can_see_doc(call.token, doc.id):
        raise not_found("Could not find a doc with the specified ID.")
    resource = _resolve_in_doc(backend, doc, url, bool(call.query.get("degradeGracefully")))
    browser, kind, ident, name, href = resource
    return Reply(
        200,
        {
            "type": "apiLink",
            "href": backend.links.api("resolveBrowserLink") + "?url=" + quote(url, safe=""),
            "browserLink": browser,
            "resource": {"type": kind, "id": ident, "name": name, "href": href},
        },
    )


def _resolve_in_doc(backend: Backend, doc: Doc, url: str, degrade: bool) -> tuple[str, str, str, str, str]:
    """(browserLink, type, id, name, href) of the most specific object the link names."""
    links = backend.links
    table_m = re.search(r"_t([\w-]+?)(?:/|$)", url)
    row_m = re.search(r"_ru(i-[\w-]+)", url)
    page_m = re.search(r"_su([\w-]+)", url)
    table = next((t for t in doc.tables.values() if table_m and t.id.endswith("-" + table_m.group(1))), None)
    if table is not None:
        row = next((r for r in table.rows if row_m and r.id == row_m.group(1)), None)
        if row is not None:
            return (
                links.row_browser(doc, table, row),
                "row",
                row.id,
                plain(table.display_value(row)),
                links.api("docs", doc.id, "tables", table.id, "rows", row.id),
            )
        if not row_m or degrade:
            return links.table_browser(doc, table), "table", table.id, table.name, links.table(doc, table)
    page = next((p for p in doc.pages.values() if page_m and p.id.endswith("-" + page_m.group(1))), None)
    if page is not None and not page.deleted and not (table_m and not degrade):
        return links.page_browser(doc, page), "page", page.id, page.name, links.page(doc, page)
    if (table_m or page_m) and not degrade:
        raise not_found("Could not find the object this link points to.")
    return links.doc_browser(doc), "doc", doc.id, doc.name, links.doc(doc)
