"""A change-journal table (AIRTABLE_JOURNAL_TABLE) for the Airtable emulator's sample base, with the default
field names of the config file's `airtable.journal` section, and helpers to read it back in tests."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from testkit.emulators.airtable.emulator import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID

JOURNAL_TABLE = "Change Journal"
STAGES = ["build", "review", "merge", "deploy", "rollback"]

JOURNAL_TABLE_SPEC: dict[str, Any] = {
    "id": "tblChangeJournal1",
    "name": JOURNAL_TABLE,
    "primaryField": "Entry",
    "fields": [
        {"id": "fldCJEntry0000000", "name": "Entry", "type": "singleLineText"},
        {"id": "fldCJRun000000000", "name": "Run", "type": "singleLineText"},
        {"id": "fldCJStage0000000", "name": "Stage", "type": "singleSelect", "options": {"choices": STAGES}},
        {"id": "fldCJService00000", "name": "Service", "type": "singleLineText"},
        {"id": "fldCJTable0000000", "name": "Table", "type": "singleLineText"},
        {"id": "fldCJRecord000000", "name": "Record", "type": "singleLineText"},
        {"id": "fldCJField0000000", "name": "Field", "type": "singleLineText"},
        {"id": "fldCJBefore000000", "name": "Before", "type": "multilineText"},
        {"id": "fldCJAfter0000000", "name": "After", "type": "multilineText"},
        {"id": "fldCJTime00000000", "name": "Time", "type": "dateTime", "options": {"timeZone": "utc"}},
        {
            "id": "fldCJChange000000",
            "name": "Change",
            "type": "singleSelect",
            "options": {"choices": ["created", "updated"]},
        },
        {"id": "fldCJUnconfirmed0", "name": "Unconfirmed", "type": "checkbox"},
        {"id": "fldCJPipeline0000", "name": "Pipeline", "type": "url"},
    ],
    "views": [{"id": "viwChangeJournal1", "name": "Grid view"}],
}


def add_journal_table(
    emulator: AirtableEmulator, *, without: Iterable[str] = (), renamed: dict[str, str] | None = None
) -> str:
    """Add the journal table to the sample base, with the fields named in `without` left out and those in
    `renamed` renamed (a table that does not match the config); returns the table's name."""
    spec = copy.deepcopy(JOURNAL_TABLE_SPEC)
    left_out = set(without)
    spec["fields"] = [f for f in spec["fields"] if f["name"] not in left_out]
    for field in spec["fields"]:
        field["name"] = (renamed or {}).get(field["name"], field["name"])
    emulator.add_table(SAMPLE_BASE_ID, spec)
    return JOURNAL_TABLE


def journal_entries(emulator: AirtableEmulator, run: str | None = None) -> list[dict[str, Any]]:
    """The journal's records' fields (of one run), in the order of their entry keys."""
    found = [r["fields"] for r in emulator.records(SAMPLE_BASE_ID, JOURNAL_TABLE)]
    return sorted((f for f in found if run is None or f.get("Run") == run), key=lambda f: f.get("Entry", ""))
