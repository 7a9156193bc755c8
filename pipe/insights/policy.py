"""REQUIRE_RECORD: a branch build or pull request must reference at least one Airtable record that exists.

Teams that turn it on can make a passing Code Insights report a merge check; the step fails too, with a message
that says what to add and where.
"""

from __future__ import annotations

from pipe.facts.run_facts import RunFacts
from pipe.model import Stage
from pipe.plan.run_plan import RunPlan

POLICY_STAGES = (Stage.BUILD, Stage.REVIEW)


def missing_record_problem(facts: RunFacts, plan: RunPlan, keys: bool) -> str | None:
    """The message when the run breaks the policy, None when it keeps it (or the stage is not a branch's).
    `keys`: KEY_PATTERN is set, so a human key names a record too."""
    if facts.stage not in POLICY_STAGES or any(p.record_id for p in plan.records):
        return None
    subject = f"pull request #{facts.context.pr_id}" if facts.stage is Stage.REVIEW and facts.context.pr_id else None
    subject = subject or (f"branch {facts.branch}" if facts.branch else "this branch")
    commits = len(facts.commit_range.commits)
    named = [p.reference for p in plan.records]
    found = f" only names {', '.join(named)}, which no record matches;" if named else " references no Airtable record;"
    example = "a record ID such as recAbCdEfGhIjKlMn" + (" or a key matching KEY_PATTERN" if keys else "")
    return (
        f"REQUIRE_RECORD: {subject} (its name and {commits} commit{'s' if commits != 1 else ''}){found} "
        f"name one ({example}) in the branch name or a commit message and push again"
    )
