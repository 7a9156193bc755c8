"""Roll back a run (`STAGE: rollback`) from its journal: a file (`JOURNAL_FILE`) or the change journal in Airtable
(`JOURNAL_RUN` with `AIRTABLE_JOURNAL_TABLE`).

Read the whole journal (a malformed line or record stops everything), read what every journaled target holds
now (Airtable records, Coda rows, the Coda page, CHANGELOG files in the clone), plan (restore a value only while
it still holds what the run wrote; delete a Coda row or page section the run added only while nobody changed
it), then write and journal those writes to a new journal (and to AIRTABLE_JOURNAL_TABLE when set). Airtable
records the run created are reported, never deleted. See docs/recovery.md.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pipe.clients.airtable import AirtableClient, airtable_policy
from pipe.config.file import JournalFields
from pipe.config.settings import Settings
from pipe.errors import SyncError, UserError
from pipe.modes.base import Finish, Outcome, Start
from pipe.recovery.apply import CurrentState, RollbackWriter, read_current
from pipe.recovery.journal_reader import JournalContents, JournalError, read_journal
from pipe.recovery.journal_table import read_journal_run
from pipe.recovery.output import (
    attention_lines,
    count,
    journal_line,
    rollback_journal_path,
    rollback_report,
    table_lines,
)
from pipe.recovery.plan import RollbackPlan, plan_rollback
from pipe.recovery.services import Restorers, open_restorers
from pipe.sinks.journal import Journal, JournalEntry
from pipe.sinks.journal_table import Stamp, append_entries, appended_result, check_journal_table

log = logging.getLogger("pipe.rollback")

__all__ = [
    "JournalError",
    "RollbackPlan",
    "plan_rollback",
    "read_journal",
    "rollback",
    "rollback_journal_path",
    "rollback_mode",
    "table_lines",
]


def rollback_mode(start: Start) -> Finish:
    """Roll back the writes journaled in JOURNAL_FILE (relative to the clone or absolute), or those of the run
    JOURNAL_RUN in AIRTABLE_JOURNAL_TABLE. Fails with exit 1 when some restores failed (what changed since the
    run is skipped and reported), 2 for bad input."""
    run = start.settings.run
    if run.journal_run is not None:
        return rollback(start, None)
    given = run.journal_file
    assert given is not None  # one of them is required with STAGE=rollback (settings)
    journal = Path(given)
    return rollback(start, journal if journal.is_absolute() else start.cwd / journal)


def rollback(start: Start, journal_path: Path | None) -> Finish:
    """`journal_path` None: the run JOURNAL_RUN, read from AIRTABLE_JOURNAL_TABLE."""
    settings = start.settings
    dry_run = settings.run.dry_run
    airtable: AirtableClient | None = None
    try:
        if journal_path is None:
            airtable = _journal_table_client(settings, start.deadline)
            contents = _read_run(airtable, settings)
        else:
            contents = read_journal(journal_path)
        log.info(journal_line(contents))
        if not contents.records:
            log.info("The journal holds no writes: nothing to roll back.")
        tables = [r.table for r in contents.records if r.service == "airtable"]
        if airtable is None and (tables or settings.airtable.journal_table):
            airtable = _client(settings, tables, dry_run, start.deadline)
        journal_fields = _journal_fields(airtable, settings)
        current = _read(airtable, contents) if airtable is not None and tables else None
        restorers = _restorers(settings, contents, start)
        plan = plan_rollback(contents, current, dry_run=dry_run, planners=restorers.planners)
    except SyncError as exc:
        raise SyncError(f"{exc}; nothing was rolled back.") from None

    written_to: Path | None = None
    extra: dict[str, Any] = {}
    if dry_run:
        log.info("Dry run: nothing is written. The plan:")
    elif plan.to_write:
        written_to = rollback_journal_path(start.outputs.report, journal_path)
        entries = _write(start, plan, airtable, restorers, written_to)
        if journal_fields is not None and airtable is not None:
            extra["journal_table"] = _append(start, airtable, journal_fields, entries)
    for line in table_lines(plan):
        log.info(line)
    for record in plan.records:
        if record.error:
            log.error("Not restored: %s %s: %s", record.table, record.record, record.error)
    for line in attention_lines(plan):
        log.warning(line)
    if written_to is not None:
        log.info("The restores are journaled in %s (roll that back to undo this rollback)", written_to)
    outcome: Outcome = "planned" if dry_run else ("failed" if plan.failed else "ok")
    extra["elapsed_seconds"] = round(time.monotonic() - start.started, 3)
    http = {"airtable": dict(airtable.policy.stats)} if airtable is not None else {}
    if restorers.coda is not None:
        http["coda"] = dict(restorers.coda.policy.stats)
    if http:
        extra["http"] = http
    return Finish(outcome, rollback_report(plan, outcome, written_to, extra), _verdict(plan))


def _write(
    start: Start, plan: RollbackPlan, airtable: AirtableClient | None, restorers: Restorers, written_to: Path | None
) -> list[JournalEntry]:
    """Every restore, journaled; returns the journal's entries."""
    outputs = start.outputs
    root = outputs.root if outputs.report is not None else (written_to.parent if written_to is not None else None)
    journal = Journal(written_to, start.context.run_id, root, outputs.report_variable)
    try:
        if plan.of_kind("airtable"):
            assert airtable is not None  # read before planning
            RollbackWriter(airtable, journal).apply(plan)
        restorers.apply(plan, journal)
    finally:
        journal.close()
    return journal.entries


def _verdict(plan: RollbackPlan) -> str:
    tally = plan.counts()
    done = tally["fields_to_restore"] if plan.dry_run else tally["fields_restored"]
    deleted = tally["records_to_delete"] if plan.dry_run else tally["records_deleted"]
    rows = (
        f"{count(deleted, 'row')} {'to delete' if plan.dry_run else 'deleted'}, " if tally["records_to_delete"] else ""
    )
    return (
        f"Rollback: {count(done, 'field')} {'to restore' if plan.dry_run else 'restored'}, {rows}"
        f"{tally['fields_changed_since']} changed since and left alone, {tally['fields_already_restored']} already "
        f"as before, {count(tally['records_failed'], 'record')} failed."
    )


def _client(settings: Settings, tables: list[str], dry_run: bool, deadline: float) -> AirtableClient | None:
    a = settings.airtable
    if not a.token or not a.base_id:
        if dry_run:
            log.info("No AIRTABLE_TOKEN: the plan shows what would be restored, without reading current values.")
            return None
        missing = "AIRTABLE_TOKEN" if not a.token else "AIRTABLE_BASE_ID"
        raise UserError(
            f"{missing}: is required to roll back Airtable writes (the journal names tables, not the base); "
            "set DRY_RUN: 'true' to only print the plan"
        )
    policy = airtable_policy(a.rate_limit_wait, deadline)
    return AirtableClient(a.token, a.base_id, (tables or [a.journal_table or ""])[0], a.api_url, policy)


def _journal_table_client(settings: Settings, deadline: float) -> AirtableClient:
    a = settings.airtable
    assert a.journal_table is not None  # required with JOURNAL_RUN (settings)
    if not a.token or not a.base_id:
        missing = "AIRTABLE_TOKEN" if not a.token else "AIRTABLE_BASE_ID"
        raise UserError(
            f"{missing}: is required to read run {settings.run.journal_run!r} from AIRTABLE_JOURNAL_TABLE "
            f"{a.journal_table!r}, also for a dry run (or give the run's journal file as JOURNAL_FILE)"
        )
    return AirtableClient(a.token, a.base_id, a.journal_table, a.api_url, airtable_policy(a.rate_limit_wait, deadline))


def _read_run(client: AirtableClient, settings: Settings) -> JournalContents:
    run_id = settings.run.journal_run
    assert run_id is not None
    return read_journal_run(client, settings.airtable.journal, run_id)


def _journal_fields(client: AirtableClient | None, settings: Settings) -> JournalFields | None:
    """The journal table's fields, checked before anything is written (None: no journal table, or not read)."""
    if client is None or not settings.airtable.journal_table:
        return None
    return check_journal_table(
        client.for_table(settings.airtable.journal_table), settings.airtable.journal, ["rollback"]
    )


def _read(client: AirtableClient, contents: JournalContents) -> CurrentState:
    try:
        return read_current(client, contents)
    except UserError as exc:
        raise UserError(
            f"Reading the records {contents.where} names failed, so nothing was rolled back: {exc}", exc.problems
        ) from None


def _restorers(settings: Settings, contents: JournalContents, start: Start) -> Restorers:
    try:
        return open_restorers(settings, contents, start.root, start.deadline)
    except UserError as exc:
        raise UserError(
            f"Reading what {contents.where} names failed, so nothing was rolled back: {exc}", exc.problems
        ) from None


def _append(start: Start, client: AirtableClient, fields: JournalFields, entries: list[JournalEntry]) -> dict[str, Any]:
    """The rollback's own writes, appended to AIRTABLE_JOURNAL_TABLE like a sync's (a failure is a warning)."""
    table = start.settings.airtable.journal_table or ""
    stamp = Stamp("rollback", start.context.run_id, start.context.build_url)
    done, error = append_entries(client.for_table(table), fields, stamp, entries)
    result = appended_result(table, len(entries), done, error)
    if error is None:
        log.info("The restores are appended to the change journal in Airtable (%s)", result.detail)
    return result.as_dict()
