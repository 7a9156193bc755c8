"""What developers should look at after a run, each tied to the commit (or branch name) it came from: words that
look like record IDs but are not, references to records that do not exist, records whose status people own,
and failures. The Code Insights report shows them as annotations, the pull-request comment as warnings.

Pure: computed from the facts, the plan and the targets' results.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pipe.config.file import Workflow
from pipe.facts.run_facts import RunFacts
from pipe.model import RecordOutcome, RecordPlan, Reference, ReferenceSource, TargetResult
from pipe.plan.records import stage_target
from pipe.plan.sync_errors import skip_reason

Kind = Literal["look-alike", "missing", "owned", "failed"]


@dataclass(frozen=True)
class Finding:
    kind: Kind
    subject: str  # the word, the reference or the target it is about
    summary: str  # one line for a reader
    commit: str | None  # the full sha it came from; None for the branch name
    where: str  # "commit 3f2a1bc" or "the branch name feature/x"
    link: str | None = None  # the record, when there is one

    @property
    def external_id(self) -> str:
        """Stable across runs, so a re-run updates the same annotation (letters, digits and dashes only)."""
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.subject).strip("-")[:40]
        digest = hashlib.sha1(f"{self.kind}\0{self.subject}\0{self.commit}".encode()).hexdigest()[:10]
        return f"acs-{self.kind}-{slug}-{digest}"

    @property
    def severity(self) -> str:
        return {"look-alike": "LOW", "missing": "MEDIUM", "owned": "LOW", "failed": "HIGH"}[self.kind]

    @property
    def result(self) -> str:
        return {"look-alike": "IGNORED", "missing": "FAILED", "owned": "SKIPPED", "failed": "FAILED"}[self.kind]


def findings(
    facts: RunFacts,
    plans: Sequence[RecordPlan],
    outcomes: Mapping[str, RecordOutcome],
    workflow: Workflow,
    results: Sequence[TargetResult] = (),
) -> list[Finding]:
    found = [*_look_alikes(facts), *_missing(facts, plans), *_owned(facts, plans, workflow)]
    found += _failed_records(facts, plans, outcomes)
    head, head_where = _head(facts)
    for result in results:
        if result.failed and not result.records:
            found.append(Finding("failed", result.target, f"{result.target} failed: {result.detail}", head, head_where))
    return found


def _look_alikes(facts: RunFacts) -> list[Finding]:
    found = []
    for word in facts.near_misses:
        commit, where = _origin_of_text(facts, word)
        if word.startswith("REC"):
            why = "record IDs start with a lower-case 'rec' (they are case-sensitive)"
        else:
            why = f"it has {len(word) - 3} characters after 'rec'; a record ID has exactly 14 letters or digits there"
        found.append(Finding("look-alike", word, f"'{word}' is not an Airtable record ID: {why}", commit, where))
    return found


def _missing(facts: RunFacts, plans: Sequence[RecordPlan]) -> list[Finding]:
    found = []
    for plan in plans:
        if plan.skipped and plan.record_id is None:
            commit, where = _origin_of_plan(facts, plan)
            found.append(Finding("missing", plan.reference, f"{plan.reference}: {plan.skipped}", commit, where))
    return found


def _owned(facts: RunFacts, plans: Sequence[RecordPlan], workflow: Workflow) -> list[Finding]:
    target, _ = stage_target(facts, workflow)
    found = []
    for plan in plans:
        reason = skip_reason(workflow, facts, plan.status_before, target) if plan.record_id else None
        if reason is None:
            continue
        commit, where = _origin_of_plan(facts, plan)
        summary = f"{_name(plan)}: status '{plan.status_before}' was left alone (not moved to '{target}')"
        found.append(Finding("owned", plan.record_id or plan.reference, summary, commit, where, plan.url))
    return found


def _failed_records(
    facts: RunFacts, plans: Sequence[RecordPlan], outcomes: Mapping[str, RecordOutcome]
) -> list[Finding]:
    found = []
    for plan in plans:
        outcome = outcomes.get(plan.key)
        if outcome is None or not outcome.error:
            continue
        commit, where = _origin_of_plan(facts, plan)
        summary = f"{_name(plan)}: not written: {outcome.error}"
        found.append(Finding("failed", plan.record_id or plan.reference, summary, commit, where, plan.url))
    return found


def _name(plan: RecordPlan) -> str:
    title = f" '{plan.title}'" if plan.title else ""
    return f"{plan.reference}{title}"


def _head(facts: RunFacts) -> tuple[str | None, str]:
    sha = facts.head.sha if facts.head else facts.context.commit
    return sha, f"commit {sha[:7]}" if sha else "this run"


def _origin_of_plan(facts: RunFacts, plan: RecordPlan) -> tuple[str | None, str]:
    return _origin(facts, plan.sources)


def _origin(facts: RunFacts, sources: Sequence[Reference]) -> tuple[str | None, str]:
    """The commit a reference came from (the oldest of the run's commits that mentions it), else the branch."""
    for source in sources:
        if source.source is not ReferenceSource.BRANCH and source.commit:
            return source.commit, f"commit {source.commit[:7]}"
    if facts.branch:
        return None, f"the branch name {facts.branch}"
    return _head(facts)


def _origin_of_text(facts: RunFacts, word: str) -> tuple[str | None, str]:
    if facts.branch and word in facts.branch:
        return None, f"the branch name {facts.branch}"
    for commit in reversed(facts.commit_range.commits):  # oldest first
        if word in commit.message:
            return commit.sha, f"commit {commit.short_sha}"
    return _head(facts)
