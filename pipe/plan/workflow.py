"""Status moves along the team's workflow: forward only, never a status people own.

Several pipelines may move the same record at once (a staging and a production deploy of one commit, a
branch build beside its pull-request pipeline), and Airtable has no conditional writes: a run that read
"Merged" may write "On Staging" after another run wrote "Released". Two rules make the end state right
whatever the interleaving (docs/concurrency.md):

1. **Stage times are facts that never go backwards.** Each stage writes the time it owns once
   (`reviewed_at`, `merged_at`, `staged_at`, `released_at`), in the same request as its status. A time written recently
   (within `recent_window` of now: the runs that may still overlap) implies its stage's status, so the
   status a run plans is the furthest of the record's status, its own stage's status and what recent times
   imply.
2. **Every run reads back what it wrote.** After its writes a run reads the statuses again and writes
   once more where a record holds a status behind the furthest of what it wrote and what recent times
   imply (another run's write landed after its own). See `repair_status`.

A time written long ago implies nothing: a person who moved a released record back (reopened it) is not
overruled by the next build.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipe.config.file import Workflow
from pipe.model import Stage

# Logical field (pipe.config.file.FieldMapping) -> the stage whose status the time implies.
STAGE_TIMES: Mapping[str, Stage] = {
    "reviewed_at": Stage.REVIEW,
    "merged_at": Stage.MERGE,
    "staged_at": Stage.DEPLOY,
    "released_at": Stage.DEPLOY,
}


@dataclass(frozen=True)
class StatusDecision:
    after: str | None  # the status to write, or None to leave the field alone
    reason: str


def decide_status(workflow: Workflow, current: str | None, target: str | None) -> StatusDecision:
    if target is None:
        return StatusDecision(None, "this stage sets no status")
    if not current:
        return StatusDecision(target, f"empty -> {target}")
    if current in workflow.human_owned:
        return StatusDecision(None, f"status {current!r} is owned by people; left alone")
    if current not in workflow.statuses:
        return StatusDecision(None, f"status {current!r} is not in the workflow; left alone")
    if workflow.statuses.index(current) >= workflow.statuses.index(target):
        if current == target:
            return StatusDecision(None, f"already {current}")
        return StatusDecision(None, f"already past {target} ({current}); statuses never move back")
    return StatusDecision(target, f"{current} -> {target}")


def furthest(workflow: Workflow, statuses: Iterable[str | None]) -> str | None:
    """The status furthest along the workflow among `statuses` (those not in the workflow are ignored)."""
    known = [s for s in statuses if s and s in workflow.statuses]
    return max(known, key=workflow.statuses.index) if known else None


def time_status(workflow: Workflow, logical: str) -> str | None:
    """The status a stage time implies: reviewed_at the review status; merged_at the merge status; released_at
    the deploy stage's (release)
    status; staged_at the first status along the workflow that a deployment environment moves records to
    other than the release status (the default: On Staging)."""
    stage = STAGE_TIMES.get(logical)
    if stage is None:
        return None
    release = workflow.stage_status(Stage.DEPLOY)
    if logical == "released_at" or stage in (Stage.REVIEW, Stage.MERGE):
        return workflow.stage_status(stage)
    staged = [s for s in workflow.environments.values() if s != release and s in workflow.statuses]
    return min(staged, key=workflow.statuses.index) if staged else None


def parse_time(value: Any) -> float | None:
    """Seconds since the epoch of an Airtable dateTime (`2026-01-14T13:05:00.000Z`), None if unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


def is_recent(value: Any, *, now: float, recent_window: float) -> bool:
    """Whether an Airtable dateTime lies within `recent_window` seconds of `now` (either side: clocks differ)."""
    written = parse_time(value)
    return written is not None and now - recent_window <= written <= now + recent_window


def implied_status(workflow: Workflow, times: Mapping[str, Any], *, now: float, recent_window: float) -> str | None:
    """The furthest status the record's stage times written in the last `recent_window` seconds imply.
    `times`: logical field -> value read from the record."""
    implied = [
        time_status(workflow, logical)
        for logical, value in times.items()
        if is_recent(value, now=now, recent_window=recent_window)
    ]
    return furthest(workflow, implied)


def repair_status(workflow: Workflow, current: str | None, wanted: str | None) -> str | None:
    """After reading back: the status to write again, or None. `wanted` is the furthest of what the run wrote
    and what recent stage times imply. A status people own, or one not in the workflow, is left alone, and only
    a status of the workflow is ever written."""
    if wanted is None or wanted not in workflow.statuses:
        return None
    if current and (current in workflow.human_owned or current not in workflow.statuses):
        return None
    if current and workflow.statuses.index(current) >= workflow.statuses.index(wanted):
        return None
    return wanted
