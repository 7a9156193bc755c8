"""The human-readable summary printed at the end of a run: one line per record."""

from __future__ import annotations

from collections.abc import Sequence

from pipe.model import RecordPlan


def record_line(plan: RecordPlan, dry_run: bool) -> str:
    name = plan.record_id or plan.reference
    if plan.record_id and plan.reference != plan.record_id:
        name = f"{plan.reference} ({plan.record_id})"
    title = f" {plan.title!r}" if plan.title else ""
    if plan.skipped:
        return f"- {name}{title}: skipped, {plan.skipped}"
    status = _status(plan)
    if plan.error:
        outcome = f"FAILED: {plan.error}"
    elif not plan.changes:
        outcome = "up to date, nothing to write"
    elif dry_run:
        outcome = "would set " + ", ".join(f"{c.field}={_short(c.after)}" for c in plan.changes)
    else:
        outcome = f"{'set' if plan.written else 'not written'} {', '.join(plan.changed_fields)}"
    url = f" <{plan.url}>" if plan.url else ""
    return f"- {name}{title}: {status}{outcome}{url}"


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _status(plan: RecordPlan) -> str:
    if plan.status_before is None and plan.status_after is None:
        return ""
    before = plan.status_before or ("(empty)" if plan.known else "(not read)")
    after = plan.status_after or "(empty)"
    return f"status {before} -> {after}; " if before != after else f"status {after}; "


def summary_lines(plans: Sequence[RecordPlan], dry_run: bool) -> list[str]:
    if not plans:
        return ["No Airtable records are referenced by this run."]
    return [record_line(p, dry_run) for p in plans]


def counts(plans: Sequence[RecordPlan]) -> dict[str, int]:
    return {
        "records": len(plans),
        "written": sum(1 for p in plans if p.written),
        "unchanged": sum(1 for p in plans if not p.changes and not p.skipped and not p.error),
        "skipped": sum(1 for p in plans if p.skipped),
        "failed": sum(1 for p in plans if p.error),
    }


def release_lines(release) -> list[str]:
    """The release's targets, one line each: `Release 1.4.0 → CHANGELOG.md: written (added 1.4.0)`."""
    lines = [f"Release {release.version}: {len(release.notes.entries)} entries"]
    for result in release.results:
        detail = f" ({result.detail})" if result.detail else ""
        lines.append(f"  {result.target}: {result.status}{detail}")
    if not release.results:
        lines.append("  no publishing target is configured (CHANGELOG_FILE, AIRTABLE_RELEASES_TABLE, CODA_*)")
    return lines
