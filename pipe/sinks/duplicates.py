"""Records concurrent runs created twice: Airtable does not say whether two upserts of a new key arriving
together create one record or two, so the release record and the deployments log are read back after an
upsert, and when a key matches several records every run keeps the same one (the oldest) and deletes the
others (docs/concurrency.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipe.clients.airtable import AirtableClient
from pipe.sinks.journal import Journal


def oldest(records: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The record every run keeps when a key matches several: the oldest (createdTime, then record ID)."""
    return min(records, key=lambda r: (str(r.get("createdTime", "")), str(r.get("id", ""))), default=None)


def delete_others(client: AirtableClient, records: Sequence[Mapping[str, Any]], kept: str, journal: Journal) -> int:
    """Delete every record but `kept` (journaled: each field from its value to nothing); returns how many this
    run deleted (a record another run deleted first is not counted)."""
    deleted = 0
    for record in records:
        if record["id"] == kept or not client.delete(record["id"]):
            continue
        deleted += 1
        values = record.get("fields", {})
        journal.record("airtable", client.table_name, record["id"], {k: (v, None) for k, v in values.items()})
    return deleted
