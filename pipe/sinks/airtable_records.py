"""Apply record plans to Airtable: write only the differences, 10 records per request, journaled.

A batch Airtable refuses as a whole (422) is retried record by record, so one bad record never
stops the others; what failed is kept on its plan for the report. When Airtable itself fails (no
answer, 429 or 5xx after the HTTP policy's retries, the token refused after some records were
written) or the time budget runs out, the sink stops: the records left are marked not written, and
a re-run writes them (it writes only differences). The batch that failed without an answer saying
whether Airtable applied it (an attempt may have been carried out before its answer was lost) is
journaled as unconfirmed, so a rollback still covers it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pipe.clients.airtable import WRITE_CHUNK, AirtableClient, AirtableConfigError, AirtableError
from pipe.clients.http import BudgetExceeded
from pipe.model import RecordPlan
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.airtable")


class AirtableRecordSink:
    def __init__(self, client: AirtableClient, journal: Journal):
        self.client = client
        self.journal = journal

    def apply(self, plans: Sequence[RecordPlan]) -> None:
        pending = [p for p in plans if p.changes and not p.skipped and p.record_id]
        for start in range(0, len(pending), WRITE_CHUNK):
            batch = pending[start : start + WRITE_CHUNK]
            try:
                self._write_batch(batch)
            except BudgetExceeded:
                left = _unsettled(pending[start:])
                for plan in left:
                    plan.error = "not written: the time budget (TIME_BUDGET) ran out; a re-run finishes the job"
                log.error("The time budget ran out: %d records written, %d left", _written(pending), len(left))
                return
            except (AirtableError, AirtableConfigError) as exc:
                if isinstance(exc, AirtableConfigError) and not _written(pending):
                    raise  # refused before anything was written: a configuration problem (exit 2)
                in_batch = {id(plan) for plan in batch}
                left = _unsettled(pending[start:])
                for plan in left:
                    plan.error = str(exc) if id(plan) in in_batch else f"not written after an earlier failure: {exc}"
                log.error(
                    "Airtable stopped taking writes: %d records written, %d not; a re-run writes what is left",
                    _written(pending),
                    len(left),
                )
                return

    def _write_batch(self, batch: Sequence[RecordPlan]) -> None:
        """Write one batch; a batch refused as a whole (422) is retried record by record. Errors about
        the records stay on their plans; errors about Airtable itself (no answer, still rate limited
        or failing after the policy's retries, token or table refused) are raised: later batches
        would only meet them again."""
        try:
            self._write(batch)
            return
        except AirtableError as exc:
            if _service_failure(exc):
                raise
            if len(batch) == 1 or exc.status != 422:
                for plan in batch:
                    plan.error = str(exc)
                return
            log.warning(
                "Airtable refused a batch of %d records (%s); writing them one by one", len(batch), exc.error_type
            )
        for plan in batch:
            try:
                self._write([plan])
            except AirtableError as single:
                if _service_failure(single):
                    raise
                plan.error = str(single)

    def _write(self, batch: Sequence[RecordPlan]) -> None:
        updates = [(p.record_id, {c.field: c.after for c in p.changes}) for p in batch]
        try:
            self.client.update(updates)
        except (AirtableError, BudgetExceeded) as exc:
            if isinstance(exc, BudgetExceeded) or _service_failure(exc):
                # No answer said whether Airtable carried the write out: an attempt may have been applied and
                # its answer lost before the retries failed. Journaled as unconfirmed, so a rollback covers it.
                self._journal(batch, unconfirmed=True)
            raise
        for plan in batch:
            plan.written = True
        self._journal(batch)

    def _journal(self, batch: Sequence[RecordPlan], *, unconfirmed: bool = False) -> None:
        for plan in batch:
            self.journal.record(
                "airtable",
                self.client.table_name,
                plan.record_id,
                {c.field: (c.before, c.after) for c in plan.changes},
                created=False,
                unconfirmed=unconfirmed,
            )


def _service_failure(exc: AirtableError) -> bool:
    """No answer at all, or 429/5xx even after the HTTP policy's retries."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


def _written(plans: Sequence[RecordPlan]) -> int:
    return sum(1 for p in plans if p.written)


def _unsettled(plans: Sequence[RecordPlan]) -> list[RecordPlan]:
    return [p for p in plans if not p.written and not p.error]
