"""Read what the journaled Airtable records hold now, and write their before-values back.

Reads name every journaled field (`fields[]`), so a field renamed or deleted since stops the rollback
before anything is written. Writes are PATCHes of at most 10 records by record ID (replay-safe); a
batch Airtable refuses as a whole (422) is retried record by record. Each restore is journaled like
any other write, to a new journal, so a rollback can itself be rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pipe.clients.airtable import WRITE_CHUNK, AirtableClient, AirtableConfigError, AirtableError
from pipe.clients.http import BudgetExceeded
from pipe.recovery.journal_reader import JournalContents
from pipe.recovery.plan import AIRTABLE_RECORD_ID, RecordRollback, RollbackPlan
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.rollback")

CurrentState = dict[tuple[str, str], Mapping[str, Any] | None]


def read_current(client: AirtableClient, contents: JournalContents) -> CurrentState:
    """(table, record ID) -> the record now (`fields`, `createdTime`), or None when it is gone.
    Records the journal marks as created by the run are not read: they are only reported."""
    wanted: dict[str, tuple[list[str], set[str]]] = {}
    for history in contents.records:
        if history.service != "airtable" or history.created or not AIRTABLE_RECORD_ID.fullmatch(history.record):
            continue
        ids, fields = wanted.setdefault(history.table, ([], set()))
        ids.append(history.record)
        fields.update(history.fields)
    state: CurrentState = {}
    for table, (ids, fields) in wanted.items():
        found = client.for_table(table).records_with_ids(ids, sorted(fields))
        for record_id in ids:
            state[(table, record_id)] = found.get(record_id)
    return state


class RollbackWriter:
    def __init__(self, client: AirtableClient, journal: Journal):
        self.client = client
        self.journal = journal

    def apply(self, plan: RollbackPlan) -> None:
        by_table: dict[str, list[RecordRollback]] = {}
        for record in plan.of_kind("airtable"):
            by_table.setdefault(record.table, []).append(record)
        every = [r for records in by_table.values() for r in records]
        try:
            for table, records in by_table.items():
                client = self.client.for_table(table)
                for start in range(0, len(records), WRITE_CHUNK):
                    self._write_batch(client, records[start : start + WRITE_CHUNK])
        except BudgetExceeded:
            left = _stop(every, "not written: the time budget (TIME_BUDGET) ran out; a re-run finishes the job")
            log.error("The time budget ran out: %d records left to restore", left)
        except (AirtableError, AirtableConfigError) as exc:
            left = _stop(every, f"not written after an earlier failure: {exc}")
            log.error("Airtable stopped taking writes: %d records left to restore; a re-run restores them", left)

    def _write_batch(self, client: AirtableClient, batch: list[RecordRollback]) -> None:
        """A batch refused as a whole (422) is retried record by record; a record's own refusal stays on
        it. Failures of Airtable itself (no answer, 429 or 5xx after the policy's retries, the token or
        table refused) are raised after marking the batch: later batches would only meet them again."""
        try:
            self._write(client, batch)
            return
        except (AirtableError, AirtableConfigError) as exc:
            if _service_failure(exc) or len(batch) == 1 or getattr(exc, "status", None) != 422:
                for record in batch:
                    record.error = str(exc)
                if _service_failure(exc):
                    raise
                return
        log.warning("Airtable refused a batch of %d records; restoring them one by one", len(batch))
        for record in batch:
            try:
                self._write(client, [record])
            except (AirtableError, AirtableConfigError) as single:
                record.error = str(single)
                if _service_failure(single):
                    raise

    def _write(self, client: AirtableClient, batch: list[RecordRollback]) -> None:
        client.update([(r.record, {f.field: f.before for f in r.to_restore}) for r in batch])
        for record in batch:
            record.written = True
            changes = {f.field: (f.current, f.before) for f in record.to_restore}
            self.journal.record("airtable", client.table_name, record.record, changes, created=False)


def _service_failure(exc: Exception) -> bool:
    """Airtable itself failed, not one record: no answer, 429/5xx after retries, token or table refused."""
    if isinstance(exc, AirtableConfigError):
        return True
    status = getattr(exc, "status", None)
    return status is None or status == 429 or status >= 500


def _stop(records: list[RecordRollback], why: str) -> int:
    left = [r for r in records if not r.written and not r.error]
    for record in left:
        record.error = why
    return len(left)
