"""What `STAGE: start` tells: one log line per record, the JSON report, the verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pipe.report.json_report import REPORT_VERSION
from pipe.report.summary import plural
from pipe.start.apply import StartOutcome
from pipe.start.facts import StartFacts
from pipe.start.plan import StartPlan

NO_OUTCOME = StartOutcome()


def record_line(plan: StartPlan, outcome: StartOutcome | None, dry_run: bool) -> str:
    item = plan.item
    head = f"{item.record_id} {item.title or '(no title)'!r}" + (f" ({item.status})" if item.status else "")
    if plan.action == "skip":
        return f"{head}: skipped: {plan.reason}"
    fields = ", ".join(c.field for c in plan.changes)
    if dry_run:
        verb = "would be created" if plan.action == "create" else "exists already, would be reused"
        writes = f"; would write {fields}" if fields else "; the record already names it"
        return f"{head}: branch {plan.branch} {verb}{writes}; {plan.url or ''}".rstrip("; ")
    outcome = outcome or NO_OUTCOME
    if plan.action == "create":
        unsure = "perhaps created (no answer came; a re-run finds it)" if outcome.unconfirmed else "not created"
        done = "created" if outcome.created else (outcome.note or unsure)
    else:
        done = "exists already, reused" + (f" (also: {', '.join(plan.others)})" if plan.others else "")
    if outcome.error:
        return f"{head}: branch {plan.branch} {done}; FAILED: {outcome.error}"
    writes = f"; {fields} written" if outcome.written else "; the record already names it"
    return f"{head}: branch {plan.branch} {done}{writes}; {plan.url or ''}".rstrip("; ")


def tally(plans: Sequence[StartPlan], outcomes: Mapping[str, StartOutcome]) -> dict[str, int]:
    def outcome(plan: StartPlan) -> StartOutcome:
        return outcomes.get(plan.record_id, NO_OUTCOME)

    return {
        "created": sum(1 for p in plans if outcome(p).created),
        "reused": sum(1 for p in plans if p.action == "reuse" or outcome(p).note),
        "skipped": sum(1 for p in plans if p.action == "skip"),
        "failed": sum(1 for p in plans if outcome(p).error),
        "records_written": sum(1 for p in plans if outcome(p).written),
    }


def verdict(plans: Sequence[StartPlan], outcomes: Mapping[str, StartOutcome], dry_run: bool) -> tuple[bool, str]:
    """(failed, the one line)."""
    if not plans:
        return False, "Start: no record to start; nothing was written."
    if dry_run:
        creating = sum(1 for p in plans if p.action == "create")
        reusing = sum(1 for p in plans if p.action == "reuse")
        skipping = sum(1 for p in plans if p.action == "skip")
        return False, (
            f"Dry run: {plural(creating, 'branch', 'branches')} would be created, {reusing} reused, "
            f"{skipping} skipped; nothing was written."
        )
    counts = tally(plans, outcomes)
    line = (
        f"Start: {plural(counts['created'], 'branch', 'branches')} created, {counts['reused']} reused, "
        f"{plural(counts['records_written'], 'record')} written"
    )
    if len(plans) == 1 and plans[0].branch and not counts["failed"]:
        line += f" ({plans[0].branch})"
    problems = [f"{counts[k]} {k}" for k in ("skipped", "failed") if counts[k]]
    if problems:
        return True, f"{line}; {', '.join(problems)}: see above."
    return False, line + "."


def start_report(
    facts: StartFacts,
    plans: Sequence[StartPlan],
    outcomes: Mapping[str, StartOutcome],
    *,
    outcome: str,
    dry_run: bool,
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "report_version": REPORT_VERSION,
        "stage": "start",
        "outcome": outcome,
        "dry_run": dry_run,
        "source": facts.source,
        "main_branch": facts.main_branch,
        "branches_checked": facts.branches_read,
        "summary": tally(plans, outcomes),
        "records": [_record(p, outcomes.get(p.record_id), dry_run) for p in plans],
        **extra,
    }


def _record(plan: StartPlan, outcome: StartOutcome | None, dry_run: bool) -> dict[str, Any]:
    item, done = plan.item, outcome or NO_OUTCOME
    return {
        "record_id": item.record_id,
        "title": item.title,
        "url": item.url,
        "status": item.status,
        "action": plan.action,
        "reason": plan.reason,
        "branch": plan.branch,
        "branch_url": plan.url,
        "other_branches": list(plan.others),
        "fields": {c.field: {"before": c.before, "after": c.after} for c in plan.changes},
        "branch_created": done.created,
        "written": done.written,
        "note": done.note or None,
        "unconfirmed": done.unconfirmed,
        "error": done.error,
    }
