"""The pull-request comment the review stage keeps up to date: the linked records, what the pipe changed, the
warnings, and a preview of the release-notes entries the pull request will add.

The comment is found again by its hidden first line (`MARKER`). Its "changes" part says what the last run that
changed something did; a run that changes nothing keeps that part as it was (`changes_block`), so a re-run
renders the very same text and the comment is not written at all. Pure: text in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from pipe.insights.findings import Finding
from pipe.insights.report import record_line
from pipe.model import RecordOutcome, RecordPlan

MARKER_TEXT = "airtable-coda-sync:pull-request-comment"
MARKER = f"<!-- {MARKER_TEXT} -->"
CHANGES_BEGIN = "<!-- changes -->"
CHANGES_END = "<!-- /changes -->"
MAX_ROWS = 50  # table rows; a pull request naming more records says how many more there are
MAX_WARNINGS = 30
_CHANGES = re.compile(re.escape(CHANGES_BEGIN) + r"\n(.*?)\n" + re.escape(CHANGES_END), re.S)


def render_comment(
    plans: Sequence[RecordPlan],
    outcomes: Mapping[str, RecordOutcome],
    found: Sequence[Finding],
    *,
    changes: str,
    warnings: Sequence[str] = (),
    preview: str | None = None,
) -> str:
    """The whole comment. `changes`: this run's `changes_text`, or the block kept from the existing comment."""
    parts = [MARKER, "### Airtable records of this pull request", "", *_table(plans, outcomes)]
    parts += ["", CHANGES_BEGIN, changes, CHANGES_END]
    lines = [f"- {f.summary} ({f.where})" for f in found] + [f"- {w}" for w in warnings]
    if lines:
        shown = lines[:MAX_WARNINGS]
        if len(lines) > MAX_WARNINGS:
            shown.append(f"- … and {len(lines) - MAX_WARNINGS} more (see the pipe's log)")
        parts += ["", "**Warnings**", "", *shown]
    if preview:
        parts += ["", "**Release notes preview** (the entries this pull request adds, as the release will show them)"]
        parts += ["", preview.strip()]
    parts += ["", "_Kept up to date by airtable-coda-sync at every run of this pull request's pipeline._"]
    return "\n".join(parts) + "\n"


def changes_text(plans: Sequence[RecordPlan], outcomes: Mapping[str, RecordOutcome], run: str) -> str | None:
    """What this run wrote to the records (`run`: e.g. `build #58, commit 3f2a1bc`), None when it wrote nothing."""
    written = [p for p in plans if (o := outcomes.get(p.key)) is not None and o.written]
    if not written:
        return None
    lines = [f"**Changed by {run}:**", ""]
    for plan in written[:MAX_ROWS]:
        fields = ", ".join(plan.changed_fields)
        lines.append(f"- {record_line(plan, outcomes.get(plan.key))}; set {fields}")
    if len(written) > MAX_ROWS:
        lines.append(f"- … and {len(written) - MAX_ROWS} more records")
    return "\n".join(lines)


def changes_block(existing: str | None) -> str | None:
    """The changes part of an existing comment, to keep it when this run changed nothing."""
    match = _CHANGES.search(existing or "")
    return match.group(1) if match else None


NOTHING_CHANGED = "_The pipe has not changed any record of this pull request yet._"


def _table(plans: Sequence[RecordPlan], outcomes: Mapping[str, RecordOutcome]) -> list[str]:
    if not plans:
        return ["No Airtable record is named in this pull request's branch or commits."]
    rows = ["| Record | Title | Status | Link |", "| --- | --- | --- | --- |"]
    for plan in plans[:MAX_ROWS]:
        outcome = outcomes.get(plan.key)
        status = (outcome.repaired if outcome else None) or plan.status_after or plan.status_before or ""
        if plan.skipped:
            status = f"skipped: {plan.skipped}"
        elif outcome is not None and outcome.error:
            status = f"{status} (not written)".strip()
        link = f"[open]({plan.url})" if plan.url else ""
        rows.append(f"| {_cell(plan.reference)} | {_cell(plan.title or '')} | {_cell(status)} | {link} |")
    if len(plans) > MAX_ROWS:
        rows.append(f"| … | {len(plans) - MAX_ROWS} more records | | |")
    return rows


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: no pipes, no line breaks."""
    return text.replace("|", "\\|").replace("\r", " ").replace("\n", " ")
