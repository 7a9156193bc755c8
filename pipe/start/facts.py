"""What `STAGE: start` knows before it plans, read once: the records (RECORD_ID, or every record of START_VIEW)
with their title, status and branch fields, and the branches Bitbucket has for them.

Reads only. Airtable: the base schema (fields checked as the sync checks them, the view looked up) and one
listing; Bitbucket: one listing of the branches whose name starts with `feature/<record ID>` or, with
KEY_PATTERN and KEY_FIELD, `feature/<key>` (20 records per request), and, for a record whose branch field names
another branch, that branch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipe.clients.airtable import AirtableClient, AirtableConfigError, AirtableError, TableSchema
from pipe.clients.bitbucket import BitbucketClient
from pipe.config.file import FieldMapping
from pipe.config.settings import Settings
from pipe.errors import ConfigError, UserError
from pipe.facts.fields import pin_fields
from pipe.model import ReferenceKind
from pipe.plan.records import cell_text
from pipe.references import scan_text, token_pattern
from pipe.start.names import belongs_to, other_records, own_prefix

log = logging.getLogger("pipe.start")

PREFIXES_PER_LISTING = 20  # records whose branches one listing asks for (`name ~ "…" OR …`)


@dataclass(frozen=True)
class Branch:
    name: str
    commit: str | None


@dataclass(frozen=True)
class WorkItem:
    """A record to start work on, as read."""

    record_id: str
    title: str | None  # None: the title field is empty
    key: str | None  # its KEY_FIELD value, when it is one KEY_PATTERN matches (feature/<key>… is its branch too)
    status: str | None
    branch: str | None  # what the record's branch field holds
    branch_url: str | None  # what its branch link field holds (None when not mapped or empty)
    url: str | None  # the record's page in Airtable


@dataclass(frozen=True)
class StartFacts:
    source: str  # "record rec…" or "view 'Ready for Dev'"
    items: tuple[WorkItem, ...]
    fields: FieldMapping  # pinned against the schema: the names to write
    title_field: str
    main_branch: str
    branches_read: bool  # False: a dry run without BITBUCKET_ACCESS_TOKEN (existing branches not checked)
    branches: Mapping[str, tuple[Branch, ...]] = field(default_factory=dict)  # record ID -> its own branches
    named: Mapping[str, Branch | None] = field(default_factory=dict)  # a branch field's other branch -> found?


def gather_start(settings: Settings, airtable: AirtableClient, bitbucket: BitbucketClient | None) -> StartFacts:
    schema = airtable.schema()
    mapping = pin_fields(schema, settings.airtable.fields, settings.airtable.key_field)
    if not mapping.branch:
        raise ConfigError(
            "airtable.fields.branch is null in the config file: STAGE: start writes the branch it creates there",
            ["map it to the text field that holds a record's branch (the default is Branch)"],
        )
    title_field = _title_field(mapping, schema)
    key_field = settings.airtable.key_field
    wanted = [name for name in (title_field, mapping.status, mapping.branch, mapping.branch_url, key_field) if name]
    start = settings.start
    if start.record_id is not None:
        source = f"record {start.record_id}"
        records = _one_record(airtable, start.record_id, wanted, settings.airtable.table or "")
    else:
        assert start.view is not None  # settings: one of the two
        source = f"view {start.view!r}"
        records = _view_records(airtable, start.view, wanted, schema)
    prefix = f"https://airtable.com/{airtable.base_id}/{schema.id if schema else airtable.table_name}/"
    keys = _Keys(key_field, settings.airtable.key_pattern)
    items = tuple(_item(r, mapping, title_field, prefix, keys) for r in records)
    log.info("Records: %d in %s", len(items), source)
    main = settings.run.main_branch
    if bitbucket is None:
        return StartFacts(source, items, mapping, title_field, main, branches_read=False)
    branches = _own_branches(bitbucket, items)
    named = _named_branches(bitbucket, items, branches, main)
    return StartFacts(source, items, mapping, title_field, main, True, branches, named)


def _title_field(mapping: FieldMapping, schema: TableSchema | None) -> str:
    if mapping.title:
        return mapping.title
    if schema is not None and schema.primary_field:
        return schema.primary_field
    raise ConfigError(
        "The title field is unknown: the branch name comes from the record's title, and without the token "
        "scope schema.bases:read the pipe cannot look up the table's primary field.",
        ["add the scope schema.bases:read to AIRTABLE_TOKEN, or set airtable.fields.title in the config file"],
    )


def _one_record(client: AirtableClient, record_id: str, fields: Sequence[str], table: str) -> list[dict[str, Any]]:
    found = client.records_with_ids([record_id], fields)
    if record_id not in found:
        raise UserError(
            f"RECORD_ID: got {record_id!r}; table {table!r} of base {client.base_id} has no record with this ID "
            "(deleted, or from another table or base?). Copy the ID from the record's URL (rec…); nothing was "
            "written."
        )
    return [found[record_id]]


def _view_records(
    client: AirtableClient, view: str, fields: Sequence[str], schema: TableSchema | None
) -> list[dict[str, Any]]:
    if schema is not None and schema.views and not any(view in pair for pair in schema.views):
        names = ", ".join(repr(name) for _id, name in schema.views)
        raise UserError(
            f"START_VIEW: got {view!r}; table {schema.name!r} has no view with this name or ID. Its views: {names}"
        )
    try:
        return client.records_in_view(view, fields)
    except (AirtableError, AirtableConfigError) as exc:
        status = getattr(exc, "status", None)
        if isinstance(exc, AirtableConfigError) or status in (404, 422):
            raise UserError(f"START_VIEW: got {view!r}; Airtable refused to list its records: {exc}") from None
        raise


@dataclass(frozen=True)
class _Keys:
    field: str | None
    pattern: re.Pattern[str] | None

    def of(self, values: Mapping[str, Any]) -> str | None:
        """The record's key when it is one: KEY_PATTERN matches all of it (a key is one word of a branch name)."""
        if not self.field or self.pattern is None:
            return None
        key = _text(values.get(self.field))
        if not key:
            return None
        found = scan_text(key, token_pattern(self.pattern))  # bounded in time, as every KEY_PATTERN search
        return key if (ReferenceKind.KEY, key) in found else None


def _item(record: Mapping[str, Any], mapping: FieldMapping, title_field: str, url_prefix: str, keys: _Keys) -> WorkItem:
    values = record.get("fields") or {}
    title = cell_text(values.get(title_field))
    return WorkItem(
        record_id=str(record["id"]),
        title=title if title and title.strip() else None,
        key=keys.of(values),
        status=cell_text(values.get(mapping.status)) if mapping.status else None,
        branch=_text(values.get(mapping.branch)) if mapping.branch else None,
        branch_url=_text(values.get(mapping.branch_url)) if mapping.branch_url else None,
        url=url_prefix + str(record["id"]),
    )


def _text(value: Any) -> str | None:
    text = cell_text(value)
    return text.strip() if text and text.strip() else None


def _own_branches(client: BitbucketClient, items: Sequence[WorkItem]) -> dict[str, tuple[Branch, ...]]:
    """Record ID -> the branches whose name starts with `feature/<record ID>` (or `feature/<key>`), by name."""
    found: dict[str, list[Branch]] = {item.record_id: [] for item in items}
    for start in range(0, len(items), PREFIXES_PER_LISTING):
        chunk = items[start : start + PREFIXES_PER_LISTING]
        words = {item.record_id: [w for w in (item.record_id, item.key) if w] for item in chunk}
        prefixes = [own_prefix(w) for ws in words.values() for w in ws]
        for raw in client.branches_starting(prefixes):
            branch = _branch(raw)
            for rid, own in words.items():
                if any(belongs_to(branch.name, w) for w in own):
                    found[rid].append(branch)
    return {rid: tuple(sorted(branches, key=lambda b: b.name)) for rid, branches in found.items()}


def _named_branches(
    client: BitbucketClient, items: Sequence[WorkItem], own: Mapping[str, Sequence[Branch]], main: str
) -> dict[str, Branch | None]:
    """The branch a record's branch field names, when it is not one of the record's own (listed) branches nor
    the main branch: read, to know whether it still exists."""
    named: dict[str, Branch | None] = {}
    for item in items:
        name = item.branch
        if not name or name == main or name in named or any(b.name == name for b in own.get(item.record_id, ())):
            continue
        if other_records(name, item.record_id):  # another record's branch: the plan refuses it, no need to read
            continue
        raw = client.branch(name)
        named[name] = _branch(raw) if raw is not None else None
    return named


def _branch(raw: Mapping[str, Any]) -> Branch:
    target = raw.get("target") or {}
    commit = target.get("hash") if isinstance(target, Mapping) else None
    return Branch(str(raw.get("name") or ""), str(commit) if commit else None)
