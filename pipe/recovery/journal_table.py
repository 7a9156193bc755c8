"""Read one run's journal from the change journal in Airtable (`JOURNAL_RUN` with `AIRTABLE_JOURNAL_TABLE`).

The table and its fields are checked first (`airtable.journal`, as the sync checks them); then the run's entries
are read (one formula on the run field), put in the order they were written (time, then the entry key, whose
`#<n>` is the place in the run) and grouped like a journal file's lines. A record that is not an entry (a field
the rollback needs is empty) stops the rollback before anything is read or written, naming every such record.
A run with no entry is bad input: the message lists the runs journaled most recently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pyairtable.formulas import EQ, Field, to_formula_str

from pipe.clients.airtable import AirtableClient
from pipe.config.file import JournalFields
from pipe.recovery.journal_reader import MAX_LISTED_PROBLEMS, JournalContents, JournalError, JournalLine, group_entries
from pipe.sinks.journal_cells import created_of, from_cell
from pipe.sinks.journal_table import VARIABLE, check_journal_table

REQUIRED = ("service", "table", "record", "field")
RECENT_RECORDS = 100  # records read to name the runs journaled last, when JOURNAL_RUN names none
RECENT_RUNS = 5
_EARLIEST = datetime.min.replace(tzinfo=UTC)


def read_journal_run(client: AirtableClient, fields: JournalFields, run_id: str) -> JournalContents:
    """The run's entries, grouped; raises JournalError (nothing written) for no entry or malformed ones."""
    pinned = check_journal_table(client, fields)
    names = [name for name in pinned.model_dump().values() if name]
    formula = to_formula_str(EQ(Field(pinned.run), run_id))
    records = client.find(formula, names, f"reading the journal of run {run_id!r}")
    source = f"{VARIABLE} {client.table_name!r}, run {run_id!r}"
    if not records:
        raise JournalError(_no_such_run(client, pinned, run_id))
    lines, problems = parse_records(records, pinned)
    if problems:
        shown = problems[:MAX_LISTED_PROBLEMS]
        if len(problems) > MAX_LISTED_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_LISTED_PROBLEMS} more")
        raise JournalError(
            f"JOURNAL_RUN: {len(problems)} of the {len(records)} records of run {run_id!r} in {client.table_name!r} "
            f"are not journal entries; nothing was rolled back. Each needs its {', '.join(REQUIRED)} fields.",
            shown,
        )
    return JournalContents(None, lines, group_entries(lines), source=source)


def parse_records(records: Sequence[Mapping[str, Any]], fields: JournalFields) -> tuple[list[JournalLine], list[str]]:
    """Entries in the order they were written, and problems (`record rec…: …`)."""
    ordered = sorted(records, key=lambda r: _order(r, fields))
    lines: list[JournalLine] = []
    problems: list[str] = []
    for number, record in enumerate(ordered, start=1):
        values: Mapping[str, Any] = record.get("fields") or {}
        empty = [getattr(fields, k) for k in REQUIRED if not str(values.get(getattr(fields, k)) or "").strip()]
        if empty:
            problems.append(f"record {record.get('id')}: {', '.join(repr(n) for n in empty)} empty")
            continue
        before, cut_before = from_cell(values.get(fields.before))
        after, cut_after = from_cell(values.get(fields.after))
        lines.append(
            JournalLine(
                service=str(values[fields.service]).strip(),
                table=str(values[fields.table]),
                record=str(values[fields.record]),
                field=str(values[fields.field]),
                before=before,
                after=after,
                run_id=values.get(fields.run),
                time=_text(values.get(fields.time)),
                created=created_of(values.get(fields.change)) if fields.change else None,
                unconfirmed=bool(values.get(fields.unconfirmed)) if fields.unconfirmed else False,
                line=number,
                cut=cut_before or cut_after,
            )
        )
    return lines, problems


def _order(record: Mapping[str, Any], fields: JournalFields) -> tuple[datetime, str]:
    values = record.get("fields") or {}
    return _instant(values.get(fields.time)), str(values.get(fields.entry) or "")


def _instant(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        return _EARLIEST
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _no_such_run(client: AirtableClient, fields: JournalFields, run_id: str) -> str:
    recent = client.latest([fields.run, fields.time], fields.time, RECENT_RECORDS, "reading the latest journal entries")
    named = dict.fromkeys(str(r.get("fields", {}).get(fields.run) or "") for r in recent)
    runs = [run for run in named if run][:RECENT_RUNS]
    head = f"JOURNAL_RUN: got {run_id!r}; the table {client.table_name!r} ({VARIABLE}) holds no entry of that run."
    if not runs:
        return f"{head} It holds no entries at all: was {VARIABLE} set when the run ran?"
    listed = ", ".join(repr(r) for r in runs)
    return (
        f"{head} Runs journaled most recently: {listed}. Give the run's ID as its {fields.run!r} field shows it "
        "(the pipeline UUID with its braces, or build #N)."
    )
