"""What a reconcile shows: the table of disagreements in the log, the lines around it, and the JSON report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipe.model import RecordOutcome, RecordState, Resolution
from pipe.reconcile.base import BaseState
from pipe.reconcile.compare import Disagreement, Reconciled
from pipe.reconcile.history import History
from pipe.reconcile.referenced import Referenced
from pipe.report.json_report import REPORT_VERSION
from pipe.report.summary import plural

SHOWN_COMMITS = 3  # commits named per row of the log (the report has them all)
SHOWN_UNKNOWN = 10  # records the history does not know, named in the log


@dataclass(frozen=True)
class ReconcileMode:
    """How the run treats disagreements: only reported, or written (and whether this is a dry run)."""

    apply: bool
    dry_run: bool

    @property
    def name(self) -> str:
        return "apply" if self.apply else "report"

    def action(self, disagreement: Disagreement, outcome: RecordOutcome | None) -> str:
        if not disagreement.fix:
            return "left alone"
        if not self.apply:
            return "to fix"
        if self.dry_run or outcome is None:
            return "would fix"
        if outcome.error:
            return "FAILED"
        return "fixed" if outcome.written else "not written"


# -- the log --------------------------------------------------------------------------------------------------


def history_line(history: History, deployments: int) -> str:
    return (
        f"Reconcile of {history.description}: {plural(len(history.commits), 'commit')}, "
        f"{plural(_tags_in(history), 'release tag')}, {plural(deployments, 'logged deployment')}"
    )


def base_line(base: BaseState, table: str, wanted: int, referenced: int, seed: str, size: int | None) -> str:
    if base.whole_table:
        return f"Read {plural(base.records_read, 'record')} of {table!r} (the whole table)"
    sample = f"a sample of {wanted} of the {referenced} referenced records" if size is not None else "the references"
    return (
        f"Read {plural(base.records_read, 'record')} of {table!r}: {sample} (the lowest SHA-256 of "
        f"'{seed[:12]}…:<record ID or key>')"
    )


def table_lines(results: Sequence[Reconciled], mode: ReconcileMode, outcomes: Mapping[str, RecordOutcome]) -> list[str]:
    """One row per disagreement, in aligned columns: record, field, base, history, action, why."""
    rows = [("record", "field", "base", "history", "action", "why (commits, release)")]
    for result in results:
        outcome = outcomes.get(result.plan.key)
        for d in result.disagreements:
            rows.append((_name(result), d.field, _show(d.base), _show(d.history), mode.action(d, outcome), _why(d)))
    if len(rows) == 1:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5] for row in rows]


def missing_lines(results: Sequence[Reconciled]) -> list[str]:
    """References the base has no single record for: the sync would skip them too."""
    lines = []
    for result in results:
        if result.plan.skipped:
            shas = [s.commit for s in result.plan.sources if s.commit]
            lines.append(f"{result.plan.reference}: {result.plan.skipped} (named by {_commits(tuple(shas))})")
    return lines


def unknown_line(unknown: Sequence[RecordState], resolution: Resolution, table: str, history: History) -> str:
    shown = ", ".join(_record(s, resolution) for s in unknown[:SHOWN_UNKNOWN])
    more = (
        f" and {len(unknown) - SHOWN_UNKNOWN} more (the report lists them all)" if len(unknown) > SHOWN_UNKNOWN else ""
    )
    return (
        f"{plural(len(unknown), 'record')} of {table!r} {'is' if len(unknown) == 1 else 'are'} named nowhere in the "
        f"history read ({history.description}); left alone: {shown}{more}"
    )


def verdict(results: Sequence[Reconciled], mode: ReconcileMode, outcomes: Mapping[str, RecordOutcome]) -> str:
    compared = [r for r in results if r.evidence is not None]
    disagreeing = [r for r in compared if r.disagreements]
    found = sum(len(r.disagreements) for r in compared)
    fixable = sum(len(r.fixes) for r in compared)
    left = found - fixable
    head = (
        f"Reconcile: {plural(found, 'disagreement')} on {len(disagreeing)} of {plural(len(compared), 'record')} "
        f"({fixable} to fix, {left} left alone)"
    )
    if not mode.apply:
        tail = "; nothing written (RECONCILE: report): set RECONCILE: apply to write the fixes." if fixable else "."
        return head + tail
    if mode.dry_run:
        return head + "; dry run: nothing written."
    fixed = sum(len(r.fixes) for r in compared if outcomes.get(r.plan.key, RecordOutcome()).written)
    failed = sum(1 for r in compared if outcomes.get(r.plan.key, RecordOutcome()).error)
    return head + f"; {fixed} fixed" + (f", {plural(failed, 'record')} failed." if failed else ".")


# -- the report -----------------------------------------------------------------------------------------------


def reconcile_report(
    *,
    history: History,
    wanted: Sequence[Referenced],
    referenced: int,
    sample: int | None,
    base: BaseState | None,
    deployments: int,
    results: Sequence[Reconciled],
    unknown: Sequence[RecordState],
    mode: ReconcileMode,
    outcome: str,
    outcomes: Mapping[str, RecordOutcome],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    compared = [r for r in results if r.evidence is not None]
    resolution = base.resolution if base is not None else None
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "stage": "reconcile",
        "outcome": outcome,
        "dry_run": mode.dry_run,
        "mode": mode.name,
        "history": {
            "branch": history.branch,
            "head": history.head,
            "since": history.since.text if history.since else None,
            "since_commit": history.base,
            "description": history.description,
            "commits": len(history.commits),
            "release_tags": _tags_in(history),
            "deployments": deployments,
            "warnings": list(history.warnings),
            "fetched": list(history.fetched),
        },
        "sample": (
            {"size": len(wanted), "of": referenced, "rank": f"sha256('{history.head}:' + record ID or key)"}
            if sample is not None
            else None
        ),
        "records_read": base.records_read if base is not None else 0,
        "whole_table": base.whole_table if base is not None else False,
        "records": [_record_dict(r, mode, outcomes.get(r.plan.key)) for r in compared],
        "not_in_table": [
            {"reference": r.plan.reference, "problem": r.plan.skipped, "commits": [s.commit for s in r.plan.sources]}
            for r in results
            if r.evidence is None
        ],
        "unknown_to_history": [
            {"record_id": s.record_id, "title": resolution.title(s) if resolution else None} for s in unknown
        ],
        "summary": _summary(results, unknown, mode, outcomes),
    }
    report.update(extra)
    return report


def _record_dict(result: Reconciled, mode: ReconcileMode, outcome: RecordOutcome | None) -> dict[str, Any]:
    plan, evidence = result.plan, result.evidence
    assert evidence is not None
    return {
        "reference": plan.reference,
        "record_id": plan.record_id,
        "title": plan.title,
        "url": plan.url,
        "references": list(dict.fromkeys(s.value for s in plan.sources)),
        "status": plan.status_before,
        "status_implied": evidence.status,
        "commits": list(evidence.commits),
        "merged_by": evidence.merged_by.sha if evidence.merged_by else None,
        "release": evidence.release,
        "deployments": [
            {"environment": d.environment, "status": d.status, "commit": d.commit, "deployed_at": d.deployed_at}
            for d in evidence.deployments
        ],
        "pull_request": evidence.pull_request,
        "disagreements": [
            {
                "field": d.field,
                "base": d.base,
                "history": d.history,
                "action": mode.action(d, outcome),
                "why": d.why,
                "commits": list(d.commits),
                "tags": list(d.tags),
            }
            for d in result.disagreements
        ],
        "fields_written": {c.field: {"before": c.before, "after": c.after} for c in plan.changes}
        if outcome is not None and outcome.written
        else {},
        "error": outcome.error if outcome is not None else None,
    }


def _summary(
    results: Sequence[Reconciled],
    unknown: Sequence[RecordState],
    mode: ReconcileMode,
    outcomes: Mapping[str, RecordOutcome],
) -> dict[str, int]:
    compared = [r for r in results if r.evidence is not None]
    found = sum(len(r.disagreements) for r in compared)
    fixable = sum(len(r.fixes) for r in compared)
    written = [r for r in compared if outcomes.get(r.plan.key, RecordOutcome()).written]
    return {
        "records_compared": len(compared),
        "records_in_agreement": sum(1 for r in compared if not r.disagreements),
        "records_disagreeing": sum(1 for r in compared if r.disagreements),
        "disagreements": found,
        "to_fix": fixable,
        "left_alone": found - fixable,
        "fixed": sum(len(r.fixes) for r in written) if mode.apply and not mode.dry_run else 0,
        "records_written": len(written),
        "records_failed": sum(1 for r in compared if outcomes.get(r.plan.key, RecordOutcome()).error),
        "not_in_table": sum(1 for r in results if r.evidence is None),
        "unknown_to_history": len(unknown),
    }


# -- helpers --------------------------------------------------------------------------------------------------


def _tags_in(history: History) -> int:
    shas = {c.sha for c in history.commits}
    return sum(1 for t in history.tags if t.sha in shas)


def _name(result: Reconciled) -> str:
    plan = result.plan
    if plan.record_id and plan.reference != plan.record_id:
        return f"{plan.reference} ({plan.record_id})"
    return plan.record_id or plan.reference


def _record(state: RecordState, resolution: Resolution) -> str:
    title = resolution.title(state)
    name = f"{state.key} ({state.record_id})" if state.key else state.record_id
    return f"{name} {title!r}" if title else name


def _why(d: Disagreement) -> str:
    parts = [d.why, _commits(d.commits)]
    if d.tags:
        parts.append("release " + ", ".join(d.tags))
    return "; ".join(parts)


def _commits(shas: tuple[str | None, ...]) -> str:
    named = [s[:7] for s in shas if s]
    shown = ", ".join(named[:SHOWN_COMMITS])
    more = f" and {len(named) - SHOWN_COMMITS} more" if len(named) > SHOWN_COMMITS else ""
    return f"{'commit' if len(named) == 1 else 'commits'} {shown}{more}"


def _show(value: Any, limit: int = 100) -> str:
    if value is None or value == "" or value == []:
        return "(empty)"
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
