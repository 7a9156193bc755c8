"""Read what the base holds for a reconcile: the work items (every record of the table, or only the sampled
ones) and the deployments log. Reads only.

A full reconcile lists the whole table, 100 records per request, with only the mapped fields: it needs every
record anyway, to name those the history does not know, and it matches keys without a formula per key. A
sampled one reads only its records, by ID and by key, 100 per request (pipe.facts.airtable_state).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pipe.clients.airtable import AirtableClient
from pipe.config.settings import AirtableSettings
from pipe.facts.airtable_state import read_state
from pipe.facts.deployments import all_deployments
from pipe.facts.fields import pin_fields
from pipe.facts.run_facts import Deployment, TableFields
from pipe.model import RecordState, Reference, ReferenceKind, ReferenceSource, Resolution
from pipe.reconcile.referenced import Referenced

log = logging.getLogger("pipe.reconcile")


@dataclass(frozen=True)
class BaseState:
    resolution: Resolution  # the records read, by ID and by key
    fields: TableFields
    whole_table: bool  # every record of the table was read (else only the referenced ones)
    records_read: int


def read_base(
    client: AirtableClient, settings: AirtableSettings, wanted: Sequence[Referenced], *, whole_table: bool
) -> BaseState:
    schema = client.schema()
    mapping = pin_fields(schema, settings.fields, settings.key_field) if schema is not None else settings.fields
    choices = None
    if schema is not None and mapping.status and (status := schema.fields.get(mapping.status)) is not None:
        choices = status.choices if status.type == "singleSelect" else None
    fields = TableFields(mapping, settings.releases, settings.deployments, choices)
    if not whole_table:
        references = [Reference(w.kind, w.value, ReferenceSource.COMMIT) for w in wanted]
        resolution = read_state(client, references, mapping, settings.key_field, schema)
        return BaseState(resolution, fields, False, len(resolution.by_id))
    title = mapping.title or (schema.primary_field if schema else None)
    key = settings.key_field
    names = [*mapping.written().values(), *([title] if title else []), *([key] if key else [])]
    records = client.all_records(names, f"reading every record of {client.table_name!r}")
    by_id: dict[str, RecordState] = {}
    by_key: dict[str, list[RecordState]] = {}
    for record in records:
        values = record.get("fields", {})
        key_value = values.get(key) if key else None
        state = RecordState(record["id"], values, None if key_value in (None, "") else str(key_value))
        by_id[state.record_id] = state
        if state.key is not None:
            by_key.setdefault(state.key, []).append(state)
    prefix = f"https://airtable.com/{client.base_id}/{schema.id if schema else client.table_name}/"
    resolution = Resolution(known=True, by_id=by_id, by_key=by_key, title_field=title, url_prefix=prefix)
    return BaseState(resolution, fields, True, len(records))


def read_deployments(client: AirtableClient, settings: AirtableSettings) -> list[Deployment]:
    """The deployments log (AIRTABLE_DEPLOYMENTS_TABLE), every environment; none when there is no log."""
    if not settings.deployments_table:
        return []
    return all_deployments(client.for_table(settings.deployments_table), settings.deployments)


def unknown_to_history(state: BaseState, wanted: Sequence[Referenced]) -> list[RecordState]:
    """Records of the table that no record ID and no key of the history names (a full reconcile only)."""
    if not state.whole_table:
        return []
    ids = {w.value for w in wanted if w.kind is ReferenceKind.RECORD_ID}
    keys = {w.value for w in wanted if w.kind is ReferenceKind.KEY}
    by_id = state.resolution.by_id
    return [s for s in by_id.values() if s.record_id not in ids and (s.key is None or s.key not in keys)]
