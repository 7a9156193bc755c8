"""What a rollback prints and reports: one row per field (per record for records only reported), what needs a
person, and the JSON report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipe.recovery.journal_reader import JournalContents
from pipe.recovery.plan import FieldAction, RecordAction, RecordRollback, RollbackPlan
from pipe.report.json_report import REPORT_VERSION

# -- the log -------------------------------------------------------------------------------------


def journal_line(contents: JournalContents) -> str:
    runs = ", ".join(contents.run_ids) or "no run id"
    return (
        f"Rollback of {contents.where}: {len(contents.lines)} journaled writes to {len(contents.records)} "
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
    if record.action is RecordAction.DELETE:
        return [(*where, "(whole row)", _deleted(record, dry_run), _delete_detail(record))]
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
            detail = f.note or f"{_show(f.current)} -> {_show(f.before)}"
            if record.pending:
                detail += " (queued in Coda, not confirmed yet)"
        elif f.action is FieldAction.ALREADY:
            result, detail = "already as before", f.note or _show(f.current)
        elif f.action is FieldAction.CHANGED_SINCE:
            result = "skipped"
            detail = f.note or (
                f"changed since the run: now {_show(f.current)}, the run wrote {_show(f.after)}; left alone"
            )
        elif record.error:
            result, detail = "FAILED", record.error
        else:
            result = "would restore"
            detail = f.note or f"{_show(f.before)} if it still holds {_show(f.after)} (not read)"
        rows.append((*where, f.field, result, detail))
    return rows


def _deleted(record: RecordRollback, dry_run: bool) -> str:
    if dry_run or not record.deletes:
        return "would delete"
    if record.error:
        return "FAILED"
    return "deleted" if record.written else "not written"


def _delete_detail(record: RecordRollback) -> str:
    names = ", ".join(f.field for f in record.fields)
    detail = f"{record.error or record.reason} (columns: {names})"
    return detail + (" (queued in Coda, not confirmed yet)" if record.pending else "")


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
    files = sorted({r.table for r in plan.records if r.kind == "file" and r.written})
    if files:
        lines.append(
            f"{', '.join(files)} changed in this clone and not committed: commit and push the change to keep it "
            "(the pipe never pushes)."
        )
    pending = [r for r in plan.records if r.pending]
    if pending:
        lines.append(f"{_count(len(pending), 'Coda write')} queued in Coda, not confirmed applied yet.")
    return lines


def count(n: int, noun: str) -> str:
    return _count(n, noun)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _show(value: Any, limit: int = 60) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- the report ----------------------------------------------------------------------------------


def rollback_journal_path(report_path: Path | None, journal_path: Path | None) -> Path | None:
    """Beside the report like any run's journal (`<report>.journal.jsonl`), else beside the journal
    rolled back; never the journal being read. None: no report and no journal file (kept in memory)."""
    if report_path is not None:
        candidate = report_path.with_name(report_path.stem + ".journal.jsonl")
        if journal_path is None or candidate.resolve() != journal_path.resolve():
            return candidate
    if journal_path is None:
        return None
    return journal_path.with_name(journal_path.name.removesuffix(".jsonl") + ".rollback.jsonl")


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
