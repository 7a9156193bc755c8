"""The change journal in Airtable (AIRTABLE_JOURNAL_TABLE): every write the run made, appended after them.

The last target: apply() reads what the targets before it journaled (`journal.entries`) and upserts one record
per entry, 10 per request, on the entry key (pipe.sinks.journal_cells): a replayed request writes the same
records, never a second copy. prepare() checks the table and its fields (`airtable.journal`) like every target
does, so a missing table or field stops the run with nothing written; a failure while appending is reported
and never fails the sync (the journal file beside the report holds every write either way).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipe.clients.airtable import WRITE_CHUNK, AirtableClient, AirtableConfigError, AirtableError, TableSchema
from pipe.clients.http import BudgetExceeded
from pipe.config.file import JournalFields
from pipe.facts.fields import pin_section
from pipe.model import TargetResult
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.journal import Journal, JournalEntry
from pipe.sinks.journal_cells import change_of, entry_key, to_cell

log = logging.getLogger("pipe.journal")

NAME = "Airtable change journal"
VARIABLE = "AIRTABLE_JOURNAL_TABLE"
SERVICES = ("airtable", "coda", "file")
CHANGES = ("created", "updated")


@dataclass(frozen=True)
class Stamp:
    """What every entry of one run says about the run."""

    stage: str  # build, review, merge, deploy, rollback
    run_id: str | None
    pipeline: str | None  # the pipeline's web page


def check_journal_table(client: AirtableClient, fields: JournalFields, stages: Iterable[str] = ()) -> JournalFields:
    """The mapping with the fields' current names, checked before anything is written: the table exists, every
    mapped field exists with a type the journal can hold, and a single-select field has the options it will get.
    Raises AirtableConfigError (nothing written). Without the scope schema.bases:read, a read naming every
    field checks that they exist."""
    schema = client.schema(VARIABLE)
    pinned = pin_section(schema, fields, "airtable.journal")
    names = [name for name in pinned.model_dump().values() if name]
    if schema is None:
        try:
            client.find("FALSE()", names, f"checking the fields of {client.table_name!r}")
        except AirtableConfigError as exc:
            raise AirtableConfigError(
                f"{VARIABLE}: {exc} (the journal's fields are mapped in the config file's airtable.journal section)",
                exc.problems,
            ) from None
        return pinned
    problems = _missing_options(schema, pinned, stages)
    if problems:
        raise AirtableConfigError(
            f"{VARIABLE}: table {schema.name!r} has single-select fields without the options the journal writes "
            "(nothing was written). Add the options, or make the fields text:",
            problems,
        )
    return pinned


def _missing_options(schema: TableSchema, fields: JournalFields, stages: Iterable[str]) -> list[str]:
    wanted = {"stage": tuple(stages), "service": SERVICES, "change": CHANGES}
    problems = []
    for logical, values in wanted.items():
        name = getattr(fields, logical)
        info = schema.fields.get(name) if name else None
        if info is None or info.type != "singleSelect":
            continue
        missing = [v for v in values if v not in info.choices]
        if missing:
            problems.append(f"airtable.journal.{logical}: {name!r} has no option {', '.join(map(repr, missing))}")
    return problems


def journal_record(entry: JournalEntry, number: int, fields: JournalFields, stamp: Stamp) -> dict[str, Any]:
    """The Airtable record of one journal entry (empty optional values are left out)."""
    record: dict[str, Any] = {
        fields.entry: entry_key(entry, number),
        fields.run: entry.run_id or "",
        fields.service: entry.service,
        fields.table: entry.table,
        fields.record: entry.record,
        fields.field: entry.field,
        fields.before: to_cell(entry.before),
        fields.after: to_cell(entry.after),
        fields.time: entry.time,
    }
    optional = {
        fields.stage: stamp.stage,
        fields.change: change_of(entry),
        fields.unconfirmed: True if entry.unconfirmed else None,
        fields.pipeline: stamp.pipeline,
    }
    record.update({name: value for name, value in optional.items() if name and value is not None})
    return {name: value for name, value in record.items() if value is not None}


def append_entries(
    client: AirtableClient, fields: JournalFields, stamp: Stamp, entries: Sequence[JournalEntry]
) -> tuple[int, str | None]:
    """Upsert the entries, 10 per request, in order; returns (how many were appended, why it stopped)."""
    records = [journal_record(e, n, fields, stamp) for n, e in enumerate(entries, start=1)]
    done = 0
    for start in range(0, len(records), WRITE_CHUNK):
        chunk = records[start : start + WRITE_CHUNK]
        try:
            client.upsert(chunk, [fields.entry])
        except (AirtableError, AirtableConfigError, BudgetExceeded) as exc:
            return done, str(exc)
        done += len(chunk)
    return done, None


def appended_result(table: str, total: int, done: int, error: str | None) -> TargetResult:
    """`written`, or `skipped` with the reason (a warning: the journal never fails the run)."""
    if error is None:
        return TargetResult(NAME, "written", f"{_entries(done)} appended to {table!r}", {"entries": done})
    log.warning(
        "The change journal in Airtable is incomplete: %d of %s appended to %r, then: %s. The journal file beside "
        "the report holds every write; the run itself is not affected.",
        done,
        _entries(total),
        table,
        error,
    )
    detail = f"{done} of {_entries(total)} appended to {table!r}, then: {error}"
    return TargetResult(NAME, "skipped", detail, {"entries": done, "not_appended": total - done})


def _entries(n: int) -> str:
    return f"{n} entry" if n == 1 else f"{n} entries"


# -- the run's target ----------------------------------------------------------------------------------


def target(run: TargetRun) -> JournalTableTarget | Fixed | None:
    table = run.settings.airtable.journal_table
    if not table:
        return None
    if run.clients.airtable is None:
        return Fixed(TargetResult(NAME, "planned", f"every write appended to {table!r} (not read: no token)"))
    facts = run.facts
    stamp = Stamp(facts.stage.value, facts.run_id, facts.context.build_url)
    return JournalTableTarget(run.clients.airtable.for_table(table), run.settings.airtable.journal, stamp)


@dataclass
class JournalTableTarget:
    client: AirtableClient
    fields: JournalFields
    stamp: Stamp
    name: str = NAME

    def prepare(self) -> JournalTableChange:
        """A mismatch stops the run (AirtableConfigError); Airtable failing for a while does not: the table is
        checked again before appending, and a failure then is reported like any failure to append."""
        try:
            fields: JournalFields | None = check_journal_table(self.client, self.fields, [self.stamp.stage])
        except (AirtableError, BudgetExceeded) as exc:
            log.warning("Could not read %s before writing (%s); it is read again before appending.", NAME, exc)
            fields = None
        return JournalTableChange(self, fields)


@dataclass(frozen=True)
class JournalTableChange:
    target: JournalTableTarget
    fields: JournalFields | None  # None: not checked yet (Airtable failed while preparing)
    name: str = NAME

    def preview(self) -> TargetResult:
        table = self.target.client.table_name
        return TargetResult(NAME, "planned", f"would append every write of the run to {table!r}")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        t = self.target
        entries = list(journal.entries)
        if not entries:
            return TargetResult(NAME, "unchanged")  # nothing was written: nothing to say
        fields = self.fields
        if fields is None:
            try:
                fields = check_journal_table(t.client, t.fields, [t.stamp.stage])
            except (AirtableError, AirtableConfigError, BudgetExceeded) as exc:
                return appended_result(t.client.table_name, len(entries), 0, str(exc))
        done, error = append_entries(t.client, fields, t.stamp, entries)
        return appended_result(t.client.table_name, len(entries), done, error)
