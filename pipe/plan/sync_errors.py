"""The `sync_error` field: why a record's last sync was skipped or failed, in words for people who never read CI
logs, and cleared (set to empty) once the record syncs again.

A skip is known when planning (a status people own, or one outside the workflow, is never moved); a failure is
only known after the write (pipe.sinks.sync_errors writes it then). Both name the stage and where the run came
from (the pull request or the commit and branch), never the build number, so a re-run that meets the same
problem writes nothing new.
"""

from __future__ import annotations

from typing import Any

from pipe.config.file import Workflow
from pipe.facts.run_facts import RunFacts
from pipe.model import FieldChange, Stage


def where(facts: RunFacts) -> str:
    """Where this run came from, for a reader of the record: `pull request #7`, `commit 3f2a1bc on main`."""
    if facts.stage is Stage.REVIEW and facts.context.pr_id:
        return f"pull request #{facts.context.pr_id}"
    sha = facts.head.short_sha if facts.head else (facts.context.commit or "")[:7]
    on = f" on {facts.branch}" if facts.branch else ""
    return f"commit {sha}{on}" if sha else (facts.branch or "this run")


def skip_reason(workflow: Workflow, facts: RunFacts, status: str | None, target: str | None) -> str | None:
    """Why this stage leaves the status alone although it would move it; None when it is not skipped."""
    if target is None or not status or status == target:
        return None
    stage = facts.stage.value
    if status in workflow.human_owned:
        return (
            f"Status '{status}' is set by people, so the pipe did not move it to '{target}' at the {stage} stage "
            f"({where(facts)}). Change the status by hand when the work goes on."
        )
    if status not in workflow.statuses:
        return (
            f"Status '{status}' is not one of the workflow's statuses, so the pipe did not move it to '{target}' at "
            f"the {stage} stage ({where(facts)}). Pick a status of the workflow, or add this one to the pipe's "
            "configuration file."
        )
    return None


def failure_reason(facts: RunFacts, error: str) -> str:
    return (
        f"The pipe could not update this record at the {facts.stage.value} stage ({where(facts)}): {error}. "
        "The next run tries again; if this stays, send this text to whoever looks after the pipeline."
    )


def sync_error_change(field: str, current: Any, reason: str | None) -> FieldChange | None:
    """The change that makes the field say `reason` (None clears it), or None when it already does."""
    now = str(current).strip() if current not in (None, "") else None
    if now == (reason.strip() if reason else None):
        return None
    return FieldChange(field, current, reason)
