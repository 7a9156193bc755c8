"""Roll back a run from its journal (`STAGE: rollback` with `JOURNAL_FILE`).

Read the whole journal (a malformed line stops everything), read what the journaled Airtable records
hold now, plan (restore a field only while it still holds what the run wrote), then write the
before-values and journal those writes to a new journal. Records the run created, and writes to
other services (files, Coda), are reported, never changed. See docs/recovery.md.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from pipe.clients.airtable import AirtableClient, airtable_policy
from pipe.config.settings import Settings
from pipe.errors import SyncError, UserError
from pipe.modes.base import Finish, Outcome, Start
from pipe.recovery.apply import RollbackWriter, read_current
from pipe.recovery.journal_reader import JournalContents, JournalError, read_journal
from pipe.recovery.plan import FieldAction, RecordAction, RecordRollback, RollbackPlan, plan_rollback
from pipe.report.json_report import REPORT_VERSION
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.rollback")

__all__ = [
    "JournalError",
    "RollbackPlan",
    "plan_rollback",
    "read_journal",
    "rollback",
    "rollback_journal_path",
    "rollback_mode",
]


def rollback_mode(start: Start) -> Finish:
    """Roll back the writes journaled in JOURNAL_FILE (relative to the clone or absolute). Fails with exit 1
    when some restores failed (fields changed since the run are skipped and reported), 2 for bad input."""
    given = start.settings.run.journal_file
    assert given is not None  # required with STAGE=rollback (settings)
    journal = Path(given)
    return rollback(start, journal if journal.is_absolute() else start.cwd / journal)


def rollback(start: Start, journal_path: Path) -> Finish:
    settings = start.settings
    dry_run = settings.run.dry_run
    client: AirtableClient | None = None
    try:
        contents = read_journal(journal_path)
        log.info(_journal_line(contents))
        if not contents.records:
            log.info("The journal holds no writes: nothing to roll back.")
        client = _client(settings, contents, dry_run, start.deadline)
        current = _read(client, contents) if client is not None else None
        plan = plan_rollback(contents, current, dry_run=dry_run)
    except SyncError as exc:
        raise SyncError(f"{exc}; nothing was rolled back.") from None

    written_to: Path | None = None
    if dry_run:
        log.info("Dry run: nothing is written. The plan:")
    elif plan.to_write:
        assert client is not None
        written_to = rollback_journal_path(start.outputs.report, journal_path)
        root = start.outputs.root if start.outputs.report is not None else written_to.parent
        journal = Journal(written_to, start.context.run_id, root, start.outputs.report_variable)
        try:
            RollbackWriter(client, journal).apply(plan)
        finally:
            journal.close()
    for line in table_lines(plan):
        log.info(line)
    for record in plan.records:
        if record.error:
            log.error("Not restored: %s %s: %s", record.table, record.record, record.error)
    for line in attention_lines(plan):
        log.warning(line)
    if written_to is not None:
        log.info("The restores are journaled in %s (roll that back to undo this rollback)", written_to)
    tally = plan.counts()
    outcome: Outcome = "planned" if dry_run else ("failed" if plan.failed else "ok")
    extra: dict[str, Any] = {"elapsed_seconds": round(time.monotonic() - start.started, 3)}
    if client is not None:
        extra["http"] = {"airtable": dict(client.policy.stats)}
    done = tally["fields_to_restore"] if dry_run else tally["fields_restored"]
    verdict = (
        f"Rollback: {_count(done, 'field')} {'to restore' if dry_run else 'restored'}, "
        f"{tally['fields_changed_since']} changed since and left alone, {tally['fields_already_restored']} already "
        f"as before, {_count(tally['records_failed'], 'record')} failed."
    )
    return Finish(outcome, rollback_report(plan, outcome, written_to, extra), verdict)


def _client(settings: Settings, contents: JournalContents, dry_run: bool, deadline: float) -> AirtableClient | None:
    a = settings.airtable
    tables = [r.table for r in contents.records if r.service == "airtable"]
    if not tables:
        return None
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
    return AirtableClient(a.token, a.base_id, tables[0], a.api_url, policy)


def _read(client: AirtableClient, contents: JournalContents):
    try:
        return read_current(client, contents)
    except UserError as exc:
        raise UserError(
            f"Reading the records {contents.path} names failed, so nothing was rolled back: {exc}", exc.problems
        ) from None


def rollback_journal_path(report_path: Path | None, journal_path: Path) -> Path:
    """Beside the report like any run's journal (`<report>.journal.jsonl`), else beside the journal
    rolled back; never the journal being read."""
    if report_path is not None:
        candidate = report_path.with_name(report_path.stem + ".journal.jsonl")
        if candidate.resolve() != journal_path.resolve():
            return candidate
    return journal_path.with_name(journal_path.name.removesuffix(".jsonl") + ".rollback.jsonl")


# -- the log -------------------------------------------------------------------------------------


def _journal_line(contents: JournalContents) -> str:
    runs = ", ".join(contents.run_ids) or "no run id"
    return (
        f"Rollback of {contents.path}: {len(contents.lines)} journaled writes to {len(contents.records)} "
        f"records, by {runs}"
    )


def table_lines(plan: RollbackPlan) -> list[str]:
    """One row per field (per record for records only reported), in aligned columns."""
    rows = [("table", "record", "field", "result", "detail")]
    for record in plan.records:
        rows.extend(_rows(record, plan.dry_run))
    if len(rows) == 1:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4] for row in rows]


def _rows(record: RecordRollback, dry_run: bool) -> list[tuple[str, str, str, str, str]]:
    where = (record.table if record.service == "airtable" else f"{record.service}: {record.table}", record.record)
    if record.action is not RecordAction.ROLL_BACK:
        result = {
            RecordAction.CREATED: "created by the run",
            RecordAction.MISSING: "not found",
            RecordAction.NOT_SUPPORTED: "not rolled back",
        }[record.action]
        names = ", ".join(f.field for f in record.fields)
        return [(*where, "(whole record)", result, f"{record.reason} (fields: {names})")]
    rows = []
    for f in record.fields:
        if f.action is FieldAction.RESTORE:
            if dry_run:
                result = "would restore"
            elif record.error:
                result = "FAILED"
            else:
                result = "restored" if record.written else "not written"
            detail = f"{_show(f.current)} -> {_show(f.before)}"
        elif f.action is FieldAction.ALREADY:
            result, detail = "already as before", _show(f.current)
        elif f.action is FieldAction.CHANGED_SINCE:
            result = "skipped"
            detail = f"changed since the run: now {_show(f.current)}, the run wrote {_show(f.after)}; left alone"
        else:
            result, detail = "would restore", f"{_show(f.before)} if it still holds {_show(f.after)} (not read)"
        rows.append((*where, f.field, result, detail))
    return rows


def attention_lines(plan: RollbackPlan) -> list[str]:
    """What a person has to look at, after the table."""
    tally = plan.counts()
    lines = []
    if tally["fields_changed_since"]:
        lines.append(
            f"{_count(tally['fields_changed_since'], 'field')} changed after the run and left alone (see 'skipped')."
        )
    if tally["records_created_by_the_run"]:
        lines.append(
            f"{_count(tally['records_created_by_the_run'], 'record')} created by the run and left in place "
            "(see 'created by the run'): delete by hand what should go."
        )
    if tally["records_not_supported"]:
        lines.append(
            f"{_count(tally['records_not_supported'], 'journaled target')} not rolled back (see 'not rolled back')."
        )
    if tally["records_missing"]:
        lines.append(f"{_count(tally['records_missing'], 'record')} no longer in the table (see 'not found').")
    return lines


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _show(value: Any, limit: int = 60) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the report ----------------------------------------------------------------------------------


def rollback_report(
    plan: RollbackPlan, outcome: str, rollback_journal: Path | None, extra: dict[str, Any]
) -> dict[str, Any]:
    report = {
        "report_version": REPORT_VERSION,
        "stage": "rollback",
        "outcome": outcome,
        "dry_run": plan.dry_run,
        "journal": plan.journal,
        "journal_entries": plan.entries,
        "run_ids": list(plan.run_ids),
        "current_values_known": plan.known,
        "rollback_journal": str(rollback_journal) if rollback_journal else None,
        "records": [r.as_dict() for r in plan.records],
        "summary": plan.counts(),
    }
    report.update(extra)
    return report
