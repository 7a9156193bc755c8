"""Apply record plans to Airtable: write only the differences, 10 records per request, journaled.

A batch Airtable refuses as a whole (422) is retried record by record, so one bad record never
stops the others; what failed is kept on its plan for the report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from pipe.clients.airtable import WRITE_CHUNK, AirtableClient, AirtableError
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
                self._write(batch)
            except BudgetExceeded:
                left = pending[start:]
                for plan in left:
                    plan.error = "not written: the time budget (TIME_BUDGET) ran out; a re-run finishes the job"
                log.error("The time budget ran out: %d records written, %d left", start, len(left))
                return
            except AirtableError as exc:
                if len(batch) == 1 or exc.status != 422:
                    for plan in batch:
                        plan.error = str(exc)
                    continue
                log.warning(
                    "Airtable refused a batch of %d records (%s); writing them one by one", len(batch), exc.error_type
                )
                for plan in batch:
                    try:
                        self._write([plan])
                    except AirtableError as single:
                        plan.error = str(single)

    def _write(self, batch: Sequence[RecordPlan]) -> None:
        updates = [(p.record_id, {c.field: c.after for c in p.changes}) for p in batch]
        self.client.update(updates)
        for plan in batch:
            plan.written = True
            self.journal.record(
                "airtable",
                self.client.table_name,
                plan.record_id,
                {c.field: (c.before, c.after) for c in plan.changes},
                created=False,
            )
