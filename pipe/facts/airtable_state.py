"""Read the current Airtable state of the referenced records (the last fact before planning)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pipe.clients.airtable import AirtableClient, TableSchema
from pipe.config.file import FieldMapping
from pipe.model import Reference, ReferenceKind, Resolution

log = logging.getLogger("pipe.airtable")


def unknown_resolution(mapping: FieldMapping) -> Resolution:
    """Used by a dry run without a token: the plan shows what would be set."""
    return Resolution(known=False, by_id={}, by_key={}, title_field=mapping.title)


def read_state(
    client: AirtableClient,
    references: Sequence[Reference],
    mapping: FieldMapping,
    key_field: str | None,
    schema: TableSchema | None,
) -> Resolution:
    title_field = mapping.title or (schema.primary_field if schema else None)
    fields = [*mapping.written().values(), *([title_field] if title_field else [])]
    ids = list(dict.fromkeys(r.value for r in references if r.kind is ReferenceKind.RECORD_ID))
    keys = list(dict.fromkeys(r.value for r in references if r.kind is ReferenceKind.KEY))
    by_id = client.records_by_id(ids, fields) if ids else {}
    by_key = client.records_by_key(key_field, keys, fields) if keys and key_field else {}
    for states in by_key.values():
        for state in states:
            by_id.setdefault(state.record_id, state)
    table_part = schema.id if schema else client.table_name
    prefix = f"https://airtable.com/{client.base_id}/{table_part}/"
    log.debug("read %d records by ID and %d keys", len(ids), len(keys))
    return Resolution(known=True, by_id=by_id, by_key=by_key, title_field=title_field, url_prefix=prefix)
