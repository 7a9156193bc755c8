"""The JSON report: what the run saw, planned and did, for people and for later steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipe.model import CommitRange, RecordPlan, SyncPlan
from pipe.report.summary import counts

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


def record_dict(plan: RecordPlan) -> dict[str, Any]:
    return {
        "reference": plan.reference,
        "record_id": plan.record_id,
        "title": plan.title,
        "url": plan.url,
        "current_values_known": plan.known,
        "status_before": plan.status_before,
        "status_after": plan.status_after,
        "fields": {c.field: {"before": c.before, "after": c.after} for c in plan.changes},
        "written": plan.written,
        "skipped": plan.skipped,
        "error": plan.error,
        "sources": [s.as_dict() for s in plan.sources],
    }


def build_report(
    plan: SyncPlan, *, stage_reason: str, outcome: str, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    report = {
        "report_version": REPORT_VERSION,
        "outcome": outcome,
        "stage": plan.stage.value,
        "stage_reason": stage_reason,
        "dry_run": plan.dry_run,
        "commit_range": range_dict(plan.commit_range),
        "references": [r.as_dict() for r in plan.references],
        "records": [record_dict(p) for p in plan.records],
        "summary": counts(plan.records),
        "warnings": list(plan.warnings),
    }
    report.update(extra or {})
    return report


def write_report(path: Path, report: dict[str, Any], redact) -> None:
    """Write atomically (a later step may read it) with secrets redacted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = redact(json.dumps(report, indent=2, ensure_ascii=False, default=str))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)
