"""One comment on the pull request, kept up to date at the review stage (BITBUCKET_ACCESS_TOKEN, scope
`pullrequest`); see pipe.insights.comment for what it says.

prepare() reads the pull request's comments that carry the hidden marker and renders the release-notes preview;
apply() renders the comment and writes only when the text differs:

* none found: POST one, then read again; two pipelines of the same pull request may both have posted.
* found: keep the oldest (lowest id) and DELETE the others. Every run picks the same one, so two runs at once
  agree on which comment stays; the kept one then gets this run's text (PUT) unless it already has it.

Like the report, it never fails a sync: a token without the scope, a deleted pull request or an unreachable
Bitbucket is a warning and the result is `skipped`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipe.clients.bitbucket import BitbucketClient, BitbucketError
from pipe.clients.git import GitError, GitRepo
from pipe.config.settings import Settings
from pipe.errors import UserError
from pipe.facts.run_facts import RunFacts
from pipe.insights.comment import MARKER, MARKER_TEXT, NOTHING_CHANGED, changes_block, changes_text, render_comment
from pipe.insights.findings import findings
from pipe.insights.preview import release_preview
from pipe.model import Stage, TargetResult
from pipe.plan.run_plan import RunPlan
from pipe.sinks.airtable_records import NAME as RECORDS
from pipe.sinks.base import TargetRun
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.bitbucket")

NAME = "Bitbucket pull-request comment"


def target(run: TargetRun) -> PullRequestCommentTarget | None:
    pr = run.facts.context.pr_id
    if run.facts.stage is not Stage.REVIEW or not pr or not pr.isdigit():
        return None
    if run.clients.bitbucket is None:
        if not run.settings.bitbucket.token:
            log.info("No pull-request comment: BITBUCKET_ACCESS_TOKEN is not set")
        return None
    return PullRequestCommentTarget(run.clients.bitbucket, int(pr), run.facts, run.plan, run.settings, run.root)


@dataclass
class PullRequestCommentTarget:
    client: BitbucketClient
    number: int
    facts: RunFacts
    plan: RunPlan
    settings: Settings
    root: Path  # the clone
    name: str = NAME

    def prepare(self) -> PullRequestCommentChange:
        change = PullRequestCommentChange(self)
        change.preview_text = self._preview()
        if self.settings.run.dry_run:
            return change
        try:
            found = self.client.comments_containing(self.number, MARKER_TEXT)
        except BitbucketError as exc:
            change.unsent = str(exc)
            return change
        if found is None:
            change.unsent = f"pull request #{self.number} was not found in {self.client.repo_full_name} (deleted?)"
        else:
            change.ours = _ours(found)
        return change

    def _preview(self) -> str | None:
        try:
            return release_preview(GitRepo.open(self.root), self.facts, self.settings)
        except (UserError, GitError) as exc:  # a broken template must not stop a review: the release will say so
            log.warning("No release-notes preview in the pull-request comment: %s", exc)
            return None


@dataclass
class PullRequestCommentChange:
    target: PullRequestCommentTarget
    ours: list[dict[str, Any]] = field(default_factory=list)  # comments with the marker, oldest first
    preview_text: str | None = None
    unsent: str | None = None

    @property
    def name(self) -> str:
        return NAME

    def preview(self) -> TargetResult:
        return TargetResult(NAME, "planned", f"would keep one comment on pull request #{self.target.number}")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        t = self.target
        before = t.client.policy.stats["requests"]
        try:
            writes = self._write(self._render(earlier)) if self.unsent is None else None
        except BitbucketError as exc:
            writes, self.unsent = None, str(exc)
        requests = t.client.policy.stats["requests"] - before
        if writes is None:
            log.warning("The pull-request comment was not written: %s. The sync itself is not affected.", self.unsent)
            return TargetResult(NAME, "skipped", f"not written: {self.unsent}")
        detail = f"pull request #{t.number}: {writes} write(s)" if writes else f"pull request #{t.number}: up to date"
        return TargetResult(
            NAME, "written" if writes else "unchanged", detail, {"writes": writes, "requests": requests}
        )

    def _render(self, earlier: Sequence[TargetResult]) -> str:
        t = self.target
        records = next((r for r in earlier if r.target == RECORDS), None)
        outcomes = dict(records.records) if records else {}
        found = findings(
            t.facts, t.plan.records, outcomes, t.settings.workflow, [r for r in earlier if r.target != RECORDS]
        )
        run = _run_name(t.facts)
        changes = changes_text(t.plan.records, outcomes, run)
        if changes is None:
            changes = changes_block(_raw(self.ours[0]) if self.ours else None) or NOTHING_CHANGED
        return render_comment(
            t.plan.records,
            outcomes,
            found,
            changes=changes,
            warnings=t.facts.commit_range.warnings,
            preview=self.preview_text,
        )

    def _write(self, body: str) -> int:
        """Make the pull request hold exactly one comment with `body`; returns the write requests sent."""
        client, number = self.target.client, self.target.number
        writes = 0
        ours = self.ours
        if not ours:
            client.create_comment(number, body)
            writes += 1
            ours = _ours(client.comments_containing(number, MARKER_TEXT) or [])  # another run may have posted too
        for duplicate in ours[1:]:
            client.delete_comment(number, int(duplicate["id"]))
            writes += 1
        if ours and _raw(ours[0]).strip() != body.strip():
            client.update_comment(number, int(ours[0]["id"]), body)
            writes += 1
        return writes


def _ours(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The pipe's comments (the marker opens them; a person quoting it does not), oldest first."""
    mine = [c for c in comments if _raw(c).lstrip().startswith(MARKER)]
    return sorted(mine, key=lambda c: int(c.get("id") or 0))


def _raw(comment: dict[str, Any]) -> str:
    return str((comment.get("content") or {}).get("raw") or "")


def _run_name(facts: RunFacts) -> str:
    build = f"build #{facts.context.build_number}" if facts.context.build_number else "a run"
    sha = facts.head.short_sha if facts.head else (facts.context.commit or "")[:7]
    return f"{build}, commit {sha}" if sha else build
