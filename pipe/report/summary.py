"""The human-readable end of a sync run: one line per record, the release's targets, the verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pipe.model import RecordOutcome, RecordPlan, TargetResult
from pipe.plan.release import ReleasePlan
from pipe.sinks import code_insights, journal_table, pr_comment, sync_errors
from pipe.sinks.airtable_records import NAME as RECORDS

NO_OUTCOME = RecordOutcome()
# Targets that report on the sync rather than publish the release: listed on their own lines, never as a
# release's targets (their failures still count).
SIDE_TARGETS = frozenset({sync_errors.NAME, pr_comment.NAME, code_insights.NAME, journal_table.NAME})


def side_lines(results: Sequence[TargetResult]) -> list[str]:
    """`Bitbucket Code Insights report: written (PASSED, 2 annotation(s), 3 write(s))`, one per side target."""
    shown = [r for r in results if r.target in SIDE_TARGETS and (r.detail or r.status != "unchanged")]
    return [f"{r.target}: {r.status}" + (f" ({r.detail})" if r.detail else "") for r in shown]


def plural(n: int, noun: str, many: str | None = None) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {many or noun + 's'}"


def record_line(plan: RecordPlan, outcome: RecordOutcome, dry_run: bool) -> str:
    name = plan.record_id or plan.reference
    if plan.record_id and plan.reference != plan.record_id:
        name = f"{plan.reference} ({plan.record_id})"
    title = f" {plan.title!r}" if plan.title else ""
    if plan.skipped:
        return f"- {name}{title}: skipped, {plan.skipped}"
    status = _status(plan, outcome)
    if outcome.error:
        result = f"FAILED: {outcome.error}"
    elif not plan.changes:
        result = "up to date, nothing to write"
    elif dry_run:
        result = "would set " + ", ".join(f"{c.field}={_short(c.after)}" for c in plan.changes)
    else:
        result = f"{'set' if outcome.written else 'not written:'} {', '.join(plan.changed_fields)}"
    url = f" <{plan.url}>" if plan.url else ""
    return f"- {name}{title}: {status}{result}{url}"


def _short(value: object, limit: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _status(plan: RecordPlan, outcome: RecordOutcome) -> str:
    after = outcome.repaired or plan.status_after
    if plan.status_before is None and after is None:
        return ""
    before = plan.status_before or ("(empty)" if plan.known else "(not read)")
    shown = after or "(empty)"
    return f"status {before} -> {shown}; " if before != shown else f"status {shown}; "


def summary_lines(plans: Sequence[RecordPlan], outcomes: Mapping[str, RecordOutcome], dry_run: bool) -> list[str]:
    if not plans:
        return ["No Airtable records are referenced by this run."]
    return [record_line(p, outcomes.get(p.key, NO_OUTCOME), dry_run) for p in plans]


def counts(plans: Sequence[RecordPlan], outcomes: Mapping[str, RecordOutcome]) -> dict[str, int]:
    def outcome(plan: RecordPlan) -> RecordOutcome:
        return outcomes.get(plan.key, NO_OUTCOME)

    return {
        "records": len(plans),
        "written": sum(1 for p in plans if outcome(p).written),
        "unchanged": sum(1 for p in plans if not p.changes and not p.skipped and not outcome(p).error),
        "skipped": sum(1 for p in plans if p.skipped),
        "failed": sum(1 for p in plans if outcome(p).error),
    }


def release_lines(release: ReleasePlan, results: Sequence[TargetResult]) -> list[str]:
    """The release's targets, one line each, aligned: `  CHANGELOG.md:         written (added 1.4.0)`."""
    lines = [f"Release {release.version}: {plural(len(release.notes.entries), 'entry', 'entries')}"]
    results = [r for r in results if r.target not in SIDE_TARGETS]
    if not results:
        lines.append("  no publishing target is configured (CHANGELOG_FILE, AIRTABLE_RELEASES_TABLE, CODA_*)")
        return lines
    width = max(len(r.target) for r in results) + 1
    for result in results:
        detail = f" ({result.detail})" if result.detail else ""
        lines.append(f"  {(result.target + ':').ljust(width)} {result.status}{detail}")
    return lines


def verdict(
    tally: Mapping[str, int], results: Sequence[TargetResult], release: ReleasePlan | None, dry_run: bool
) -> tuple[bool, str]:
    """(failed, the one line that ends the log), e.g. `Done: 3 records, 2 written, 1 unchanged, 0 skipped,
    0 failed; release 1.4.0 published to CHANGELOG.md`."""
    numbers = (
        f"{plural(tally['records'], 'record')}, {tally['written']} written, {tally['unchanged']} unchanged, "
        f"{tally['skipped']} skipped, {tally['failed']} failed"
    )
    published = [r for r in results if r.target != RECORDS]
    failed_targets = [r for r in published if r.failed]
    published = [r for r in published if r.target not in SIDE_TARGETS]
    if tally["failed"] or failed_targets:
        reasons = "".join(f"; {r.target} failed: {r.detail}" for r in failed_targets)
        return True, f"Failed: {numbers}{reasons}. A re-run writes what is left."
    if dry_run:
        planned = [r.target for r in published if r.status == "planned"]
        release_part = f"; release {release.version} would change {', '.join(planned)}" if release and planned else ""
        return False, f"Dry run: {numbers}{release_part}; nothing was written."
    line = f"Done: {numbers}"
    if release is not None:
        written = [r.target for r in published if r.status == "written"]
        line += f"; release {release.version} " + (f"published to {', '.join(written)}" if written else "up to date")
    pending = [r.target for r in published if r.status == "pending"]
    if pending:
        line += f"; queued in Coda, not confirmed yet: {', '.join(pending)}"
    return False, line + "."
