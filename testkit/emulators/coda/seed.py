"""Seeding: users, tokens, docs, tables, rows and pages written straight into the applied state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import ids
from .backend import Backend
from .content import to_lines
from .state import Access, Automation, Column, Doc, Line, Page, Row, Table, Token, User
from .values import parse

DEFAULT_OWNER = "user@example.com"


class Seeder:
    def __init__(self, backend: Backend):
        self._backend = backend
        self._ids = backend.ids
        self._world = backend.world

    def user(self, email: str, name: str | None = None) -> User:
        user = self._world.users.get(email)
        if user is None:
            display = name or email.split("@")[0].replace(".", " ").replace("_", " ").title()
            user = User(email, display, self._ids.new(ids.WORKSPACE))
            self._world.users[email] = user
        return user

    def token(
        self,
        value: str,
        owner: str = DEFAULT_OWNER,
        *,
        name: str = "Emulator token",
        access: Access = "readwrite",
        doc: str | None = None,
        table: str | None = None,
        owner_name: str | None = None,
    ) -> Token:
        if access not in ("readwrite", "read", "write"):
            raise ValueError("access must be 'readwrite', 'read' or 'write'")
        if table is not None and doc is None:
            raise ValueError("a table-scoped token also needs doc")
        self.user(owner, owner_name)
        token = Token(value, owner, name, access, self.doc(doc).id if doc else None, table)
        self._world.tokens[value] = token
        return token

    def add_doc(self, doc_id: str | None = None, name: str = "Untitled", owner: str | None = None) -> Doc:
        owner_email = owner or next(iter(self._world.users), DEFAULT_OWNER)
        now = self._backend.now()
        doc = Doc(
            self._ids.reserve(doc_id) if doc_id else self._ids.new(ids.DOC),
            name,
            self.user(owner_email),
            self._ids.new(ids.FOLDER),
            now,
            now,
        )
        self._world.docs[doc.id] = doc
        return doc

    def doc(self, ref: str) -> Doc:
        """A doc by ID or name (seeding and introspection accept either)."""
        found = self._world.docs.get(ref) or next((d for d in self._world.docs.values() if d.name == ref), None)
        if found is None:
            raise KeyError(f"no doc {ref!r}")
        return found

    def add_page(self, doc_ref: str, spec: Mapping[str, Any]) -> Page:
        doc = self.doc(doc_ref)
        now = self._backend.now()
        parent = doc.page(spec["parent"]).id if spec.get("parent") else None
        content = spec.get("content", "")
        lines = [
            Line(self._ids.new(ids.LINE), s.style, s.content, s.level)
            for s in to_lines(spec.get("format", "markdown"), content)
        ]
        page_id = self._ids.reserve(spec["id"]) if spec.get("id") else self._ids.new(ids.PAGE)
        page = Page(
            page_id,
            spec.get("name", "Untitled"),
            now,
            now,
            doc.owner.email,
            subtitle=spec.get("subtitle"),
            icon_name=spec.get("iconName"),
            parent_id=parent,
            hidden=bool(spec.get("hidden", False)),
            lines=lines,
        )
        doc.pages[page.id] = page
        return page

    def add_automation(self, doc_ref: str, spec: Mapping[str, Any]) -> Automation:
        """`{"id"?, "name"?, "enabled"?}`: a rule with the trigger "Webhook invoked" (on unless `enabled` is false)."""
        doc = self.doc(doc_ref)
        rule_id = self._ids.reserve(spec["id"]) if spec.get("id") else self._ids.new(ids.AUTOMATION)
        rule = Automation(rule_id, spec.get("name", "Webhook rule"), bool(spec.get("enabled", True)))
        doc.automations[rule.id] = rule
        return rule

    def add_table(self, doc_ref: str, spec: Mapping[str, Any]) -> Table:
        doc = self.doc(doc_ref)
        now = self._backend.now()
        page_ref = spec.get("page")
        page = doc.page(page_ref) if page_ref else self.add_page(doc.id, {"name": spec["name"]})
        base = doc.table(spec["view_of"]) if spec.get("view_of") else None
        if base is not None:
            table = Table(
                self._ids.reserve(spec["id"]) if spec.get("id") else self._ids.new(ids.VIEW),
                spec["name"],
                page.id,
                base.columns,
                base.rows,
                base.display_column_id,
                now,
                now,
                base=base,
            )
        else:
            columns = [self._column(c) for c in spec.get("columns", [])]
            if not columns:
                raise ValueError(f"table {spec['name']!r} needs at least one column")
            table = Table(
                self._ids.reserve(spec["id"]) if spec.get("id") else self._ids.new(ids.TABLE),
                spec["name"],
                page.id,
                columns,
                [],
                columns[0].id,
                now,
                now,
            )
            if spec.get("displayColumn"):
                display = table.column(spec["displayColumn"])
                if display is None:
                    raise ValueError(f"displayColumn {spec['displayColumn']!r} is not a column of {spec['name']!r}")
                table.display_column_id = display.id
        doc.tables[table.id] = table
        if spec.get("rows"):
            self.add_rows(doc.id, table.id, spec["rows"])
        return table

    def add_rows(self, doc_ref: str, table_ref: str, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        table = self.doc(doc_ref).table(table_ref)
        added = []
        for values in rows:
            stored: dict[str, Any] = {}
            hidden = False
            for ref, value in values.items():
                if ref == "_hidden":
                    hidden = bool(value)
                    continue
                column = table.column(ref)
                if column is None:
                    raise KeyError(f"table {table.name!r} has no column {ref!r}")
                stored[column.id] = parse(column, value, False)
            now, seq = self._backend.now(), self._world.next_seq()
            row = Row(self._ids.new(ids.ROW), stored, now, now, seq, seq, hidden=hidden)
            table.rows.append(row)
            added.append(row.id)
        return added

    def _column(self, spec: Mapping[str, Any]) -> Column:
        return Column(
            id=self._ids.reserve(spec["id"]) if spec.get("id") else self._ids.new(ids.COLUMN),
            name=spec["name"],
            type=spec.get("type", "text"),
            is_array=bool(spec.get("isArray", False)),
            calculated=bool(spec.get("calculated", False)),
            formula=spec.get("formula"),
            hidden=bool(spec.get("hidden", False)),
            format=dict(spec.get("format", {})),
            lookup_table=spec.get("table"),
        )

    def load(self, data: Mapping[str, Any]) -> None:
        """`{"tokens": [{token, owner, …}], "docs": [{id?, name, owner?, pages, tables, automations: […]}]}`."""
        tokens = data.get("tokens", [])
        for token in (t for t in tokens if not t.get("doc")):
            self._seed_token(token)
        for doc_spec in data.get("docs", []):
            doc = self.add_doc(doc_spec.get("id"), doc_spec["name"], doc_spec.get("owner"))
            for page in doc_spec.get("pages", []):
                self.add_page(doc.id, page)
            for table in doc_spec.get("tables", []):
                self.add_table(doc.id, table)
            for rule in doc_spec.get("automations", []):
                self.add_automation(doc.id, rule)
        for token in (t for t in tokens if t.get("doc")):  # scoped tokens name docs seeded above
            self._seed_token(token)

    def _seed_token(self, spec: Mapping[str, Any]) -> None:
        options = {k: v for k, v in spec.items() if k in ("name", "access", "owner_name", "doc", "table")}
        self.token(spec["token"], spec.get("owner", DEFAULT_OWNER), **options)
