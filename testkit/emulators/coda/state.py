"""The applied state of the emulated Coda account: users, tokens, docs, tables, rows and pages.

Plain dataclasses; the backend guards them with one lock. Lookups raise `ApiError` (404/410) with the
messages the API uses, so handlers stay short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ROW_NOT_FOUND, ApiError, not_found
from .values import empty_value, plain

Access = Literal["readwrite", "read", "write"]


@dataclass(frozen=True)
class User:
    email: str
    name: str
    workspace_id: str


@dataclass(frozen=True)
class Token:
    """An API token. `access` restricts methods; `doc_id`/`table` restrict the objects it reaches."""

    value: str
    owner: str
    name: str = "Emulator token"
    access: Access = "readwrite"
    doc_id: str | None = None
    table: str | None = None  # table ID or name (requires doc_id)

    @property
    def scoped(self) -> bool:
        return self.access != "readwrite" or self.doc_id is not None


@dataclass
class Column:
    id: str
    name: str
    type: str = "text"
    is_array: bool = False
    calculated: bool = False
    formula: str | None = None
    hidden: bool = False
    format: dict[str, Any] = field(default_factory=dict)  # extra type-specific format fields
    lookup_table: str | None = None  # lookup/person: ID or name of the referenced table


@dataclass
class Row:
    id: str
    values: dict[str, Any]  # column ID → stored value
    created_at: float
    updated_at: float
    created_seq: int
    updated_seq: int
    hidden: bool = False


@dataclass
class Table:
    id: str
    name: str
    page_id: str
    columns: list[Column]
    rows: list[Row]  # natural (display) order; a view shares this list with its base table
    display_column_id: str
    created_at: float
    updated_at: float
    base: Table | None = None  # set for views

    @property
    def is_view(self) -> bool:
        return self.base is not None

    def column(self, ref: str) -> Column | None:
        """By ID, by column URL (`…/columns/c-…`) or by name (an arbitrary one for duplicates)."""
        key = ref.rstrip("/").rsplit("/", 1)[-1] if "/" in ref else ref
        for col in self.columns:
            if col.id == key:
                return col
        return next((col for col in self.columns if col.name == ref), None)

    def column_or_404(self, ref: str) -> Column:
        col = self.column(ref)
        if col is None:
            raise not_found("Could not find a column with the specified ID or name.")
        return col

    def cell(self, row: Row, column: Column) -> Any:
        """The stored value, or what an empty cell reads as."""
        return row.values.get(column.id, empty_value(column))

    def display_value(self, row: Row) -> Any:
        return row.values.get(self.display_column_id, "")

    def row(self, ref: str) -> Row:
        for row in self.rows:
            if row.id == ref:
                return row
        for row in self.rows:
            if plain(self.display_value(row)) == ref:
                return row
        raise not_found(ROW_NOT_FOUND)


@dataclass
class Line:
    id: str
    style: str
    content: str
    level: int = 0


@dataclass
class Page:
    id: str
    name: str
    created_at: float
    updated_at: float
    author: str
    subtitle: str | None = None
    icon_name: str | None = None
    image_url: str | None = None
    parent_id: str | None = None
    content_type: str = "canvas"
    hidden: bool = False
    deleted: bool = False
    lines: list[Line] = field(default_factory=list)


@dataclass
class WebhookCall:
    """One trigger a rule accepted (202): what it received, and whether it has run."""

    request_id: str
    received_at: float
    content_type: str
    payload: Any  # parsed JSON, a dict of form fields, a string (text/plain), or None (no body)
    ran_at: float | None = None  # when the queued trigger was applied and the rule ran
    skipped: str | None = None  # why the rule did not run although the trigger was accepted

    def describe(self) -> dict[str, Any]:
        return {
            "requestId": self.request_id,
            "receivedAt": self.received_at,
            "contentType": self.content_type,
            "payload": self.payload,
            "ran": self.ran_at is not None,
            "ranAt": self.ran_at,
            "skipped": self.skipped,
        }


@dataclass
class Automation:
    """An automation rule with the trigger "Webhook invoked"; `enabled` is the rule's on/off switch."""

    id: str
    name: str
    enabled: bool = True
    received: list[WebhookCall] = field(default_factory=list)


@dataclass
class Doc:
    id: str
    name: str
    owner: User
    folder_id: str
    created_at: float
    updated_at: float
    tables: dict[str, Table] = field(default_factory=dict)
    pages: dict[str, Page] = field(default_factory=dict)
    automations: dict[str, Automation] = field(default_factory=dict)

    def table(self, ref: str) -> Table:
        if ref in self.tables:
            return self.tables[ref]
        for table in self.tables.values():
            if table.name == ref:
                return table
        raise not_found("Could not find a table with the specified ID or name.")

    def page(self, ref: str, *, allow_deleted: bool = False) -> Page:
        """A live page by ID or name; a deleted one raises 410 (or is returned with allow_deleted)."""
        page = self.pages.get(ref)
        if page is None:
            named = [p for p in self.pages.values() if p.name == ref]
            page = next((p for p in named if not p.deleted), named[0] if named else None)
        if page is None:
            raise not_found("Could not find a page with the specified ID or name.")
        if page.deleted and not allow_deleted:
            raise ApiError(410, "This page has been deleted.", undeclared_ok=True)
        return page

    def automation(self, ref: str) -> Automation:
        """A rule by ID or name (introspection; the API takes IDs only)."""
        found = self.automations.get(ref) or next((a for a in self.automations.values() if a.name == ref), None)
        if found is None:
            raise KeyError(f"no automation rule {ref!r} in doc {self.id}")
        return found

    def live_pages(self) -> list[Page]:
        return [p for p in self.pages.values() if not p.deleted]


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    docs: dict[str, Doc] = field(default_factory=dict)
    seq: int = 0  # bumps on every row change; sync tokens remember it

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def doc(self, doc_id: str) -> Doc:
        doc = self.docs.get(doc_id)
        if doc is None:
            raise not_found("Could not find a doc with the specified ID.")
        return doc
