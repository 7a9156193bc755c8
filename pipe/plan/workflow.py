"""Status moves along the team's workflow: forward only, never a status people own."""

from __future__ import annotations

from dataclasses import dataclass

from pipe.config.file import Workflow


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
