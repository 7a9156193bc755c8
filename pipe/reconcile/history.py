"""Read the history a reconcile compares the base with: `MAIN_BRANCH`'s commits in one `git log` pass (all of
them, or those after `RECONCILE_SINCE`), and the release tags in one `git show-ref`.

Reads only. A shallow clone (Pipelines clones 50 commits deep) is made complete first, with its tags, since a
reconcile is about the whole history; when that fetch fails the reconcile goes on with what the clone has and
says so.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from pipe.clients.git import GitError, GitRepo
from pipe.config.reconcile import Since
from pipe.errors import UserError
from pipe.model import Commit, PipelineContext
from pipe.release.range import FULL_DEPTH_HINT, ReleaseTag, release_tags

log = logging.getLogger("pipe.reconcile")

REMOTE = "origin"
UNSHALLOW_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class History:
    branch: str  # MAIN_BRANCH
    head: str  # the commit of MAIN_BRANCH read from
    since: Since | None
    base: str | None  # the commit of the RECONCILE_SINCE tag (exclusive)
    commits: tuple[Commit, ...]  # newest first, as `git log` lists them
    tags: tuple[ReleaseTag, ...]  # every release tag of the clone (those not in `commits` are ignored)
    warnings: tuple[str, ...] = ()
    fetched: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        where = f"{self.branch} at {self.head[:7]}"
        return f"{where}, {self.since.text}" if self.since is not None else f"{where}, the whole history"


def read_history(
    repo: GitRepo, context: PipelineContext, main_branch: str, since: Since | None, tag_pattern: re.Pattern[str]
) -> History:
    warnings: list[str] = []
    fetched: list[str] = []
    if repo.is_shallow():
        _unshallow(repo, warnings, fetched)
    head = _head(repo, context, main_branch, fetched)
    base = _since_tag(repo, since.tag) if since is not None and since.tag is not None else None
    stamp = int(since.date.timestamp()) if since is not None and since.date is not None else None
    commits = repo.log(head, *([f"^{base}"] if base else []), since=stamp)
    tags = release_tags(repo.tag_targets(), tag_pattern)
    return History(main_branch, head, since, base, tuple(commits), tuple(tags), tuple(warnings), tuple(fetched))


def _head(repo: GitRepo, context: PipelineContext, main_branch: str, fetched: list[str]) -> str:
    """MAIN_BRANCH's commit: the step's own commit on a pipeline of that branch, else the branch as the clone has
    it (a custom pipeline has no BITBUCKET_BRANCH), else as the remote has it. Only commits of MAIN_BRANCH are
    merged: a feature branch's history is never taken for it."""
    if context.branch == main_branch and context.commit:
        sha = repo.rev_parse(context.commit)
        if sha:
            return sha
    tracking = f"refs/remotes/{REMOTE}/{main_branch}"
    for ref in (f"refs/heads/{main_branch}", tracking):
        sha = repo.rev_parse(ref)
        if sha:
            return sha
    problem = f"there is no git remote {REMOTE!r} to fetch it from"
    if repo.remote_url(REMOTE) is not None:
        try:
            repo.fetch(REMOTE, f"+refs/heads/{main_branch}:{tracking}", timeout=UNSHALLOW_TIMEOUT_SECONDS)
            fetched.append(f"{main_branch} from {REMOTE} (the clone had only {context.branch or 'another branch'})")
        except GitError as exc:
            problem = f"fetching it from {REMOTE!r} failed: {exc}"
        sha = repo.rev_parse(tracking)
        if sha:
            return sha
    where = f" (this step runs on {context.branch!r})" if context.branch else ""
    raise UserError(
        f"MAIN_BRANCH: got {main_branch!r}; STAGE: reconcile reads the history of that branch, which is not in this "
        f"clone{where} and {problem}. Run the reconcile in a pipeline of {main_branch!r} (a custom pipeline run "
        f"from {main_branch!r}), or set MAIN_BRANCH to the branch releases are made from."
    )


def _since_tag(repo: GitRepo, tag: str) -> str:
    sha = repo.rev_parse(f"refs/tags/{tag}")
    if sha is not None:
        return sha
    names = sorted((t.name for t in repo.tag_targets()), reverse=True)
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    raise UserError(
        f"RECONCILE_SINCE: got {tag!r}; this clone has no tag {tag!r} (tags here: {shown or 'none'}), and it is "
        "not a date (such as 2024-05-01). Give a tag the history has, or a date."
    )


def _unshallow(repo: GitRepo, warnings: list[str], fetched: list[str]) -> None:
    try:
        repo.fetch("--unshallow", "--tags", REMOTE, timeout=UNSHALLOW_TIMEOUT_SECONDS)
    except GitError as exc:
        warning = (
            f"The clone is shallow and its whole history could not be fetched ({exc}); the reconcile reads only the "
            f"commits the clone has: {FULL_DEPTH_HINT}"
        )
        log.warning(warning)
        warnings.append(warning)
        return
    fetched.append(f"the whole history and the tags of {REMOTE} (the clone was shallow)")
