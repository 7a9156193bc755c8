"""JSON shapes of Coda resources (spec 1.5.0): links, docs, tables, columns, rows, pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from . import ids
from .state import Column, Doc, Page, Row, Table, Token, User
from .values import Renderer, plain

BROWSER = "https://coda.io"


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-") or "Untitled"


class Links:
    """API links (`href`) under the emulator's base URL; browser links on coda.io."""

    def __init__(self, base_url: str):
        self.base = base_url

    def api(self, *segments: str) -> str:
        return self.base + "".join("/" + quote(s, safe="") for s in segments)

    def doc(self, doc: Doc) -> str:
        return self.api("docs", doc.id)

    def table(self, doc: Doc, table: Table) -> str:
        return self.api("docs", doc.id, "tables", table.id)

    def page(self, doc: Doc, page: Page) -> str:
        return self.api("docs", doc.id, "pages", page.id)

    @staticmethod
    def doc_browser(doc: Doc) -> str:
        return f"{BROWSER}/d/_d{doc.id}"

    @staticmethod
    def page_browser(doc: Doc, page: Page) -> str:
        return f"{BROWSER}/d/_d{doc.id}/{slug(page.name)}_su{ids.suffix(page.id)}"

    @staticmethod
    def table_browser(doc: Doc, table: Table) -> str:
        return f"{BROWSER}/d/_d{doc.id}/#{slug(table.name)}_t{ids.suffix(table.id)}"

    @staticmethod
    def row_browser(doc: Doc, table: Table, row: Row) -> str:
        return f"{BROWSER}/d/_d{doc.id}#{slug(table.name)}_t{ids.suffix(table.id)}/_ru{row.id}"


def user_json(links: Links, user: User, token: Token) -> dict[str, Any]:
    return {
        "name": user.name,
        "loginId": user.email,
        "type": "user",
        "scoped": token.scoped,
        "tokenName": token.name,
        "href": links.api("whoami"),
        "pictureLink": "https://cdn.coda.io/avatars/default_avatar.png",
        "workspace": workspace_json(user),
    }


def workspace_json(user: User) -> dict[str, Any]:
    return {
        "id": user.workspace_id,
        "type": "workspace",
        "name": f"{user.name}'s workspace",
        "browserLink": f"{BROWSER}/docs?workspaceId={user.workspace_id}",
    }


def doc_json(links: Links, doc: Doc) -> dict[str, Any]:
    tables = len(doc.tables)
    return {
        "id": doc.id,
        "type": "doc",
        "href": links.doc(doc),
        "browserLink": links.doc_browser(doc),
        "name": doc.name,
        "owner": doc.owner.email,
        "ownerName": doc.owner.name,
        "createdAt": iso(doc.created_at),
        "updatedAt": iso(doc.updated_at),
        "workspace": workspace_json(doc.owner),
        "workspaceId": doc.owner.workspace_id,
        "folder": {
            "id": doc.folder_id,
            "type": "folder",
            "browserLink": f"{BROWSER}/folders/{doc.folder_id}",
            "name": "My docs",
        },
        "folderId": doc.folder_id,
        "docSize": {
            "totalRowCount": sum(len(t.rows) for t in doc.tables.values() if not t.is_view),
            "tableAndViewCount": tables,
            "pageCount": len(doc.live_pages()),
            "overApiSizeLimit": False,
        },
    }


def page_ref(links: Links, doc: Doc, page: Page) -> dict[str, Any]:
    return {
        "id": page.id,
        "type": "page",
        "href": links.page(doc, page),
        "browserLink": links.page_browser(doc, page),
        "name": page.name,
    }


def table_ref(links: Links, doc: Doc, table: Table) -> dict[str, Any]:
    ref = {
        "id": table.id,
        "type": "table",
        "tableType": "view" if table.is_view else "table",
        "href": links.table(doc, table),
        "browserLink": links.table_browser(doc, table),
        "name": table.name,
    }
    page = doc.pages.get(table.page_id)
    if page is not None:
        ref["parent"] = page_ref(links, doc, page)
    return ref


def table_json(links: Links, doc: Doc, table: Table) -> dict[str, Any]:
    out = table_ref(links, doc, table)
    out.update(
        {
            "displayColumn": column_ref(links, doc, table, table.display_column_id),
            "rowCount": len(table.rows),
            "sorts": [],
            "layout": "default",
            "createdAt": iso(table.created_at),
            "updatedAt": iso(table.updated_at),
            "viewId": table.id,
        }
    )
    if table.base is not None:
        out["parentTable"] = table_ref(links, doc, table.base)
    return out


def column_ref(links: Links, doc: Doc, table: Table, column_id: str) -> dict[str, Any]:
    href = links.api("docs", doc.id, "tables", table.id, "columns", column_id)
    return {"id": column_id, "type": "column", "href": href}


def column_json(links: Links, doc: Doc, table: Table, column: Column, *, detail: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        **column_ref(links, doc, table, column.id),
        "name": column.name,
        "format": column_format(links, doc, column),
    }
    if column.id == table.display_column_id:
        out["display"] = True
    if column.calculated:
        out["calculated"] = True
    if column.formula:
        out["formula"] = column.formula
    if detail:
        out["parent"] = table_ref(links, doc, table)
    return out


_FORMAT_DEFAULTS: dict[str, dict[str, Any]] = {
    "checkbox": {"displayType": "check"},
    "scale": {"maximum": 5, "icon": "star"},
    "imageReference": {"width": 100, "height": 100, "style": "auto"},
}


def column_format(links: Links, doc: Doc, column: Column) -> dict[str, Any]:
    out: dict[str, Any] = {"type": column.type, "isArray": column.is_array, **_FORMAT_DEFAULTS.get(column.type, {})}
    out.update(column.format)
    if column.type in ("lookup", "person") and column.lookup_table:
        target = next((t for t in doc.tables.values() if column.lookup_table in (t.id, t.name)), None)
        if target is not None:
            out["table"] = table_ref(links, doc, target)
    return out


def row_json(
    links: Links,
    doc: Doc,
    table: Table,
    row: Row,
    index: int,
    renderer: Renderer,
    columns: list[Column],
    use_names: bool,
) -> dict[str, Any]:
    return {
        "id": row.id,
        "type": "row",
        "href": links.api("docs", doc.id, "tables", table.id, "rows", row.id),
        "name": plain(table.display_value(row)),
        "index": index,
        "browserLink": links.row_browser(doc, table, row),
        "createdAt": iso(row.created_at),
        "updatedAt": iso(row.updated_at),
        "values": {(c.name if use_names else c.id): renderer.render(c, row.values.get(c.id)) for c in columns},
    }


def page_json(links: Links, doc: Doc, page: Page) -> dict[str, Any]:
    out: dict[str, Any] = {
        **page_ref(links, doc, page),
        "contentType": page.content_type,
        "isHidden": page.hidden,
        "isEffectivelyHidden": _effectively_hidden(doc, page),
        "children": [page_ref(links, doc, p) for p in doc.live_pages() if p.parent_id == page.id],
        "createdAt": iso(page.created_at),
        "updatedAt": iso(page.updated_at),
    }
    if page.subtitle is not None:
        out["subtitle"] = page.subtitle
    if page.icon_name:
        out["icon"] = {
            "name": page.icon_name,
            "type": "image/png",
            "browserLink": f"https://cdn.coda.io/icons/png/color/{quote(page.icon_name)}-32.png",
        }
    if page.image_url:
        out["image"] = {"browserLink": page.image_url}
    parent = doc.pages.get(page.parent_id) if page.parent_id else None
    if parent is not None and not parent.deleted:
        out["parent"] = page_ref(links, doc, parent)
    return out


def _effectively_hidden(doc: Doc, page: Page) -> bool:
    current: Page | None = page
    while current is not None:
        if current.hidden:
            return True
        current = doc.pages.get(current.parent_id) if current.parent_id else None
    return False
