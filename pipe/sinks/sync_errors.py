"""The `sync_error` field (config file `airtable.fields.sync_error`) of the records whose write failed: the reason
in plain words, so people who never read CI logs see it on the record and can report it.

Applied right after the work items. Skips (a status people own) are planned with the record's other changes, and
a record that syncs has the field cleared with them (pipe.plan.sync_errors); only failures are known this late.
It never fails the run: the sync has already failed for these records, and a service that refused their write
may refuse this one too, which is logged as a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pipe.clients.airtable import WRITE_CHUNK, AirtableClient, AirtableConfigError, AirtableError
from pipe.clients.http import BudgetExceeded
from pipe.facts.run_facts import RunFacts
from pipe.model import RecordPlan, TargetResult
from pipe.plan.sync_errors import failure_reason
from pipe.sinks.airtable_records import NAME as RECORDS
from pipe.sinks.base import TargetRun
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.airtable")

NAME = "Airtable sync errors"


def target(run: TargetRun) -> SyncErrorsTarget | None:
    field = run.facts.fields.items.sync_error
    if not field or run.clients.airtable is None or not any(p.writes for p in run.plan.records):
        return None
    return SyncErrorsTarget(run.clients.airtable, field, run.facts, run.plan.records)


@dataclass(frozen=True)
class SyncErrorsTarget:
    client: AirtableClient
    field: str
    facts: RunFacts
    plans: Sequence[RecordPlan]
    name: str = NAME

    def prepare(self) -> SyncErrorsTarget:
        return self  # nothing to read: which records failed is only known once they were written

    def preview(self) -> TargetResult:
        return TargetResult(NAME, "planned", f"a record whose write fails gets the reason in {self.field!r}")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        records = next((r for r in earlier if r.target == RECORDS), None)
        outcomes = records.records if records else {}
        failed = [(p, o.error) for p in self.plans if p.record_id and (o := outcomes.get(p.key)) and o.error]
        if not failed:
            return TargetResult(NAME, "unchanged")  # nothing to say: not listed in the log
        written = 0
        for start in range(0, len(failed), WRITE_CHUNK):
            chunk = failed[start : start + WRITE_CHUNK]
            updates = [(p.record_id or "", {self.field: failure_reason(self.facts, error)}) for p, error in chunk]
            try:
                self.client.update(updates)
            except (AirtableError, AirtableConfigError, BudgetExceeded) as exc:
                log.warning("Could not write the reason into %r of %d record(s): %s", self.field, len(chunk), exc)
                return TargetResult(NAME, "skipped", f"{written} written, then: {exc}")
            for (plan, _), (record_id, fields) in zip(chunk, updates, strict=True):
                before = self._current(plan)
                journal.record(
                    "airtable", self.client.table_name, record_id, {self.field: (before, fields[self.field])}
                )
            written += len(chunk)
        return TargetResult(NAME, "written", f"the reason written on {written} record(s)")

    def _current(self, plan: RecordPlan) -> object:
        state = self.facts.airtable.by_id.get(plan.record_id or "")
        return state.fields.get(self.field) if state is not None else None
