"""The work items: write each record's planned changes to Airtable, 10 records per request, journaled; then
read the statuses back and set them again where another run moved one back meanwhile.

A batch Airtable refuses as a whole (422) is retried record by record, so one bad record never stops the
others. When Airtable itself fails (no answer, 429 or 5xx after the HTTP policy's retries, the token refused
after some records were written) or the time budget runs out, the sink stops: the records left are marked
not written, and a re-run writes them (it writes only differences). A batch that failed without an answer
saying whether Airtable applied it is journaled as unconfirmed, so a rollback still covers it.

Read-back (pipe.plan.workflow): Airtable has no conditional writes, so a concurrent run may overwrite a status
this run just wrote with one further back. After its writes the sink reads the statuses and stage times of
the records whose status it wrote, and writes once more where a record holds a status behind the furthest of
what this run wrote and what recent stage times imply (at most `REPAIR_ROUNDS` times). When the read-back or
the write after it fails (Airtable failing after the retries, the time budget), those records are reported
failed although written: the step fails, and its re-run sets them right.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from pipe.clients.airtable import WRITE_CHUNK, AirtableClient, AirtableConfigError, AirtableError
from pipe.clients.http import BudgetExceeded
from pipe.config.file import Workflow
from pipe.facts.run_facts import TableFields
from pipe.model import FieldChange, RecordOutcome, RecordPlan, TargetResult
from pipe.plan.records import cell_text
from pipe.plan.workflow import STAGE_TIMES, furthest, implied_status, repair_status
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.airtable")

NAME = "Airtable records"
REPAIR_ROUNDS = 3


class WriteFacts(Protocol):
    """What writing and reading back needs of the facts: the sync's RunFacts, or a reconcile's."""

    @property
    def fields(self) -> TableFields: ...

    @property
    def now(self) -> int: ...

    @property
    def recent_window(self) -> float: ...


def target(run: TargetRun) -> RecordsTarget | None:
    if not run.plan.records:
        return None
    return RecordsTarget(run.clients.airtable, run.plan.records, run.facts, run.settings.workflow)


@dataclass
class RecordsTarget:
    client: AirtableClient | None
    plans: Sequence[RecordPlan]
    facts: WriteFacts
    workflow: Workflow
    name: str = NAME

    def prepare(self) -> RecordsChange | Fixed:
        """The plans already hold the difference (the records were read with the facts)."""
        pending = [p for p in self.plans if p.writes]
        if not pending:
            return Fixed(TargetResult(self.name, "unchanged", _records(len(self.plans)) + " up to date"))
        return RecordsChange(self.client, pending, self.facts, self.workflow)


@dataclass
class RecordsChange:
    client: AirtableClient | None
    pending: list[RecordPlan]
    facts: WriteFacts
    workflow: Workflow
    outcomes: dict[str, RecordOutcome] = field(default_factory=dict)

    def preview(self) -> TargetResult:
        return TargetResult(NAME, "planned", f"would write {_records(len(self.pending))}")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        if self.client is None:  # only without a token, which only a dry run allows
            return self.preview()
        self._write_all(self.client, journal)
        self._read_back(self.client, journal)
        written = sum(1 for o in self.outcomes.values() if o.written)
        failed = sum(1 for o in self.outcomes.values() if o.error)
        repaired = sum(1 for o in self.outcomes.values() if o.repaired)
        detail = f"{_records(written)} written" + (f", {failed} failed" if failed else "")
        if repaired:
            detail += f", {repaired} status(es) set again after another run moved them back"
        return TargetResult(NAME, "failed" if failed else "written", detail, records=dict(self.outcomes))

    # -- writing -----------------------------------------------------------------------------------

    def _write_all(self, client: AirtableClient, journal: Journal) -> None:
        for start in range(0, len(self.pending), WRITE_CHUNK):
            batch = self.pending[start : start + WRITE_CHUNK]
            try:
                self._write_batch(client, journal, batch)
            except BudgetExceeded:
                left = self._unsettled(self.pending[start:])
                self._fail(left, "not written: the time budget (TIME_BUDGET) ran out; a re-run finishes the job")
                log.error("The time budget ran out: %s written, %d left", _records(self._written()), len(left))
                return
            except (AirtableError, AirtableConfigError) as exc:
                if isinstance(exc, AirtableConfigError) and not self._written():
                    raise  # refused before anything was written: a configuration problem (exit 2)
                in_batch = {p.key for p in batch}
                for plan in self._unsettled(self.pending[start:]):
                    reason = str(exc) if plan.key in in_batch else f"not written after an earlier failure: {exc}"
                    self.outcomes[plan.key] = RecordOutcome(error=reason)
                log.error(
                    "Airtable stopped taking writes: %s written, %d not; a re-run writes what is left",
                    _records(self._written()),
                    len(self.pending) - self._written(),
                )
                return

    def _write_batch(self, client: AirtableClient, journal: Journal, batch: Sequence[RecordPlan]) -> None:
        """Write one batch; a batch refused as a whole (422) is retried record by record. Errors about the
        records stay on their outcomes; errors about Airtable itself (no answer, still rate limited or failing
        after the policy's retries, token or table refused) are raised: later batches would meet them again."""
        try:
            self._write(client, journal, batch)
            return
        except AirtableError as exc:
            if _service_failure(exc):
                raise
            if len(batch) == 1 or exc.status != 422:
                self._fail(batch, str(exc))
                return
            log.warning(
                "Airtable refused a batch of %d records (%s); writing them one by one", len(batch), exc.error_type
            )
        for plan in batch:
            try:
                self._write(client, journal, [plan])
            except AirtableError as single:
                if _service_failure(single):
                    raise
                self._fail([plan], str(single))

    def _write(self, client: AirtableClient, journal: Journal, batch: Sequence[RecordPlan]) -> None:
        updates = [(p.record_id or "", {c.field: c.after for c in p.changes}) for p in batch]
        try:
            client.update(updates)
        except (AirtableError, BudgetExceeded) as exc:
            if isinstance(exc, BudgetExceeded) or _service_failure(exc):
                # No answer said whether Airtable carried the write out: an attempt may have been applied and its
                # answer lost before the retries failed. Journaled as unconfirmed, so a rollback covers it.
                _journal(journal, client, batch, unconfirmed=True)
            raise
        for plan in batch:
            self.outcomes[plan.key] = RecordOutcome(written=True)
        _journal(journal, client, batch)

    # -- reading back ------------------------------------------------------------------------------

    def _read_back(self, client: AirtableClient, journal: Journal) -> None:
        mapping = self.facts.fields.items
        status_field = mapping.status
        if not status_field:
            return
        wrote = {
            p.key: (p, change.after)
            for p in self.pending
            if self.outcomes.get(p.key, RecordOutcome()).written
            for change in p.changes
            if change.field == status_field
        }
        times = {logical: name for logical, name in mapping.written().items() if logical in STAGE_TIMES}
        for _ in range(REPAIR_ROUNDS):
            if not wrote:
                return
            try:
                current = client.records_by_id(list(wrote), [status_field, *times.values()])
            except (AirtableError, BudgetExceeded) as exc:
                self._unverified(wrote, f"written, but its status could not be read back ({exc})")
                return
            repairs = []
            for key, (plan, written_status) in wrote.items():
                state = current.get(key)
                if state is None:
                    continue
                now_status = cell_text(state.fields.get(status_field))
                recent = implied_status(
                    self.workflow,
                    {logical: state.fields.get(name) for logical, name in times.items()},
                    now=self.facts.now,
                    recent_window=self.facts.recent_window,
                )
                again = repair_status(self.workflow, now_status, furthest(self.workflow, [written_status, recent]))
                if again is not None:
                    repairs.append((plan, FieldChange(status_field, now_status, again)))
            if not repairs:
                return
            wrote = self._repair(client, journal, repairs)

    def _repair(
        self, client: AirtableClient, journal: Journal, repairs: list[tuple[RecordPlan, FieldChange]]
    ) -> dict[str, tuple[RecordPlan, str]]:
        done: dict[str, tuple[RecordPlan, str]] = {}
        for start in range(0, len(repairs), WRITE_CHUNK):
            chunk = repairs[start : start + WRITE_CHUNK]
            try:
                client.update([(plan.record_id or "", {change.field: change.after}) for plan, change in chunk])
            except (AirtableError, BudgetExceeded) as exc:
                left = {plan.key: (plan, str(change.after)) for plan, change in repairs[start:]}
                self._unverified(left, f"written, but its status could not be set again after another run ({exc})")
                return done
            for plan, change in chunk:
                log.info(
                    "%s: status %s -> %s again (another run had moved it back)",
                    plan.record_id,
                    change.before or "(empty)",
                    change.after,
                )
                journal.record(
                    "airtable", client.table_name, plan.record_id or "", {change.field: (change.before, change.after)}
                )
                self.outcomes[plan.key] = RecordOutcome(written=True, repaired=str(change.after))
                done[plan.key] = (plan, str(change.after))
        return done

    def _unverified(self, plans: dict[str, tuple[RecordPlan, str]], reason: str) -> None:
        """Records whose status a run at the same time may have moved back, without this run knowing: failed,
        so the step fails and its re-run (which plans from recent stage times too) sets them right."""
        log.error("%s: %s; a re-run sets them right", _records(len(plans)), reason)
        for key in plans:
            self.outcomes[key] = RecordOutcome(written=True, error=f"{reason}; re-run the step")

    # -- bookkeeping -------------------------------------------------------------------------------

    def _fail(self, plans: Sequence[RecordPlan], reason: str) -> None:
        for plan in plans:
            self.outcomes[plan.key] = RecordOutcome(error=reason)

    def _written(self) -> int:
        return sum(1 for o in self.outcomes.values() if o.written)

    def _unsettled(self, plans: Sequence[RecordPlan]) -> list[RecordPlan]:
        return [p for p in plans if p.key not in self.outcomes]


def _journal(
    journal: Journal, client: AirtableClient, batch: Sequence[RecordPlan], *, unconfirmed: bool = False
) -> None:
    for plan in batch:
        journal.record(
            "airtable",
            client.table_name,
            plan.record_id or "",
            {c.field: (c.before, c.after) for c in plan.changes},
            created=False,
            unconfirmed=unconfirmed,
        )


def _service_failure(exc: AirtableError) -> bool:
    """No answer at all, or 429/5xx even after the HTTP policy's retries."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


def _records(n: int) -> str:
    return f"{n} record" if n == 1 else f"{n} records"
