"""Pages: listPages, createPage, getPage, updatePage, deletePage, listPageContent, deletePageContent."""

from __future__ import annotations

from typing import Any

from . import ids, lists, render
from .backend import Backend, Call, Reply
from .content import LineSpec, to_lines
from .errors import bad_request
from .state import Doc, Line, Page

_INDENTABLE = frozenset({"paragraph", "blockQuote", "bulletedList", "numberedList", "checkboxList"})
_RELATIVE = {"append": (1, 1), "prepend": (0, 0), "replace": (0, 1)}  # slice around the element
_PAGE_FIELDS = (
    ("name", "name"),
    ("subtitle", "subtitle"),
    ("iconName", "icon_name"),
    ("imageUrl", "image_url"),
    ("isHidden", "hidden"),
)


def _doc_and_page(backend: Backend, call: Call) -> tuple[Doc, Page]:
    doc = call.world.doc(call.params["docId"])
    return doc, doc.page(call.params["pageIdOrName"])


def new_lines(backend: Backend, specs: list[LineSpec]) -> list[Line]:
    return [Line(backend.ids.new(ids.LINE), s.style, s.content, s.level) for s in specs]


def list_pages(backend: Backend, call: Call) -> Reply:
    doc = call.world.doc(call.params["docId"])
    query = lists.start(call)
    return lists.reply(backend, call, query, doc.live_pages(), lambda p, _i: render.page_json(backend.links, doc, p))


def get_page(backend: Backend, call: Call) -> Reply:
    doc, page = _doc_and_page(backend, call)
    return Reply(200, render.page_json(backend.links, doc, page))


def create_page(backend: Backend, call: Call) -> Reply:
    doc = call.world.doc(call.params["docId"])
    body: dict[str, Any] = call.body
    parent_id = body.get("parentPageId")
    if parent_id is not None:
        parent_id = doc.page(parent_id).id
    content = body.get("pageContent") or {"type": "canvas"}
    if content["type"] == "syncPage":
        raise bad_request("The Coda emulator does not support sync pages.")
    canvas = content.get("canvasContent")
    specs = to_lines(canvas["format"], canvas["content"]) if canvas else []
    page_id = backend.ids.new(ids.PAGE)

    def create(at: float) -> None:
        doc.pages[page_id] = Page(
            id=page_id,
            name=body.get("name", "Untitled"),
            created_at=at,
            updated_at=at,
            author=call.token.owner,
            subtitle=body.get("subtitle"),
            icon_name=body.get("iconName"),
            image_url=body.get("imageUrl"),
            parent_id=parent_id,
            content_type=content["type"],
            lines=new_lines(backend, specs),
        )

    return backend.mutate(call, doc.id, create, id=page_id)


def update_page(backend: Backend, call: Call) -> Reply:
    doc, page = _doc_and_page(backend, call)
    body: dict[str, Any] = call.body
    update = body.get("contentUpdate")
    element_id = update.get("elementId") if update else None
    if element_id and backend.options.missing_element == "400" and all(ln.id != element_id for ln in page.lines):
        raise bad_request(f"Could not find an element with ID {element_id!r} on this page.")
    specs = to_lines(update["canvasContent"]["format"], update["canvasContent"]["content"]) if update else []

    def apply(at: float) -> str | None:
        if page.deleted:
            raise LookupError("The page was deleted before the update was applied.")
        for key, attr in _PAGE_FIELDS:
            if key in body:
                setattr(page, attr, body[key])
        page.updated_at = at
        if update:
            return _edit(backend, page, update["insertionMode"], element_id, new_lines(backend, specs))
        return None

    return backend.mutate(call, doc.id, apply, id=page.id)


def _edit(backend: Backend, page: Page, mode: str, element_id: str | None, lines: list[Line]) -> str | None:
    """append/prepend/replace relative to `element_id`, or to the whole page without one."""
    if element_id is not None:
        index = next((i for i, line in enumerate(page.lines) if line.id == element_id), None)
        if index is None and backend.options.missing_element == "400":
            return f"Element {element_id} is no longer on the page; the content update was skipped."
        if index is not None:
            start, end = _RELATIVE[mode]
            page.lines[index + start : index + end] = lines
            return None
    if mode == "append":
        page.lines.extend(lines)
    elif mode == "prepend":
        page.lines[:0] = lines
    else:
        page.lines[:] = lines
    return None


def delete_page(backend: Backend, call: Call) -> Reply:
    doc, page = _doc_and_page(backend, call)

    def delete(at: float) -> None:
        doomed = [page]
        while doomed:
            current = doomed.pop()
            current.deleted, current.updated_at = True, at
            doomed.extend(p for p in doc.pages.values() if p.parent_id == current.id and not p.deleted)

    return backend.mutate(call, doc.id, delete, id=page.id)


def list_page_content(backend: Backend, call: Call) -> Reply:
    _, page = _doc_and_page(backend, call)
    query = lists.start(call)
    return lists.reply(
        backend, call, query, page.lines, lambda line, _i: _line_json(line), default_limit=50, max_limit=500
    )


def _line_json(line: Line) -> dict[str, Any]:
    content: dict[str, Any] = {"style": line.style, "format": "plainText", "content": line.content}
    if line.style in _INDENTABLE:
        content["lineLevel"] = line.level
    return {"id": line.id, "type": "line", "itemContent": content}


def delete_page_content(backend: Backend, call: Call) -> Reply:
    doc, page = _doc_and_page(backend, call)
    element_ids = list((call.body or {}).get("elementIds") or [])

    def delete(at: float) -> str | None:
        if page.deleted:
            raise LookupError("The page was deleted before its content could be deleted.")
        page.updated_at = at
        if not element_ids:
            page.lines.clear()
            return None
        missing = [e for e in element_ids if all(line.id != e for line in page.lines)]
        page.lines[:] = [line for line in page.lines if line.id not in element_ids]
        return f"Elements not found on the page: {', '.join(missing)}." if missing else None

    return backend.mutate(call, doc.id, delete, id=page.id)
