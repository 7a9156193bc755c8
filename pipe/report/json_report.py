"""The JSON report: what the run saw, planned and did, for people and for later steps."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pipe.facts.run_facts import RunFacts
from pipe.files import write_file
from pipe.model import CommitRange, RecordOutcome, RecordPlan, TargetResult
from pipe.plan.run_plan import RunPlan
from pipe.report.summary import NO_OUTCOME, counts
from pipe.sinks.airtable_records import NAME as RECORDS

REPORT_VERSION = 1


def range_dict(commit_range: CommitRange | None) -> dict[str, Any] | None:
    if commit_range is None:
        return None
    return {
        "head": commit_range.head,
        "base": commit_range.base,
        "description": commit_range.description,
        "commits": [c.sha for c in commit_range.commits],
        "warnings": list(commit_range.warnings),
        "fetched": list(commit_range.fetched),
    }


def record_dict(plan: RecordPlan, outcome: RecordOutcome) -> dict[str, Any]:
    return {
        "reference": plan.reference,
        "record_id": plan.record_id,
        "title": plan.title,
        "url": plan.url,
        "current_values_known": plan.known,
        "status_before": plan.status_before,
        "status_after": outcome.repaired or plan.status_after,
        "fields": {c.field: {"before": c.before, "after": c.after} for c in plan.changes},
        "written": outcome.written,
        "skipped": plan.skipped,
        "error": outcome.error,
        "status_set_again": outcome.repaired,
        "sources": [s.as_dict() for s in plan.sources],
    }


def sync_report(
    facts: RunFacts,
    plan: RunPlan,
    results: Sequence[TargetResult],
    outcomes: Mapping[str, RecordOutcome],
    *,
    outcome: str,
    dry_run: bool,
    warnings: Sequence[str],
    extra: Mapping[str, Any],
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "outcome": outcome,
        "stage": facts.stage.value,
        "stage_reason": facts.stage_reason,
        "dry_run": dry_run,
        "commit_range": range_dict(facts.commit_range),
        "references": [r.as_dict() for r in facts.references],
        "records": [record_dict(p, outcomes.get(p.key, NO_OUTCOME)) for p in plan.records],
        "summary": counts(plan.records, outcomes),
        "targets": [r.as_dict() for r in results],
        "warnings": list(warnings),
    }
    if plan.release is not None:
        release = plan.release.as_dict()
        release["targets"] = [r.as_dict() for r in results if r.target != RECORDS]
        report["release"] = release
    report.update(extra)
    return report


def write_report(
    path: Path, report: Mapping[str, Any], redact: Callable[[str], str], root: Path, variable: str = "REPORT_FILE"
) -> None:
    """Write atomically (a later step may read it) with secrets redacted, through no link (pipe.files)."""
    text = redact(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    write_file(path, text + "\n", root, variable, create_parents=True)
