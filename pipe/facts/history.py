"""Which commits a stage looks at: those reachable from the commit under test and not from the base
branch (the PR destination at review, `MAIN_BRANCH` at build).

Pipelines clones one branch 50 commits deep, so the base branch may be missing and the point where
the branch forked may lie beyond the shallow boundary. The base branch is looked up locally, then
as `<remote>/<branch>`, then (in PR pipelines) as the destination commit Pipelines merged into HEAD,
and only then fetched; a shallow history is deepened step by step until the merge base appears.
When that fails (no remote, no credentials, too deep) the run goes on with the commits that are
there and says so in `CommitRange.warnings`; facts never crash a run for want of history.
What was fetched and what went wrong are returned in the `CommitRange` for the caller to report;
the logger only gets debug lines (each fetch before it runs, the merge base found).

`CommitRange.commits` are newest first, as `git log` lists them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from pipe.clients.git import GitError, GitRepo
from pipe.model import Commit, CommitRange

log = logging.getLogger(__name__)

FULL_DEPTH_HINT = "set `clone: depth: full` for this step in bitbucket-pipelines.yml"
# `git merge <sha> --no-edit`, as Pipelines runs it, writes "Merge commit '<sha>'" (+ " into <branch>").
_MERGE_OF_SHA = re.compile(r"Merge commit '(?P<sha>[0-9a-f]{40})'")


@dataclass
class _Remote:
    """Fetches one branch from one remote, remembering what it fetched and what went wrong.

    A missing or unreachable remote is reported once; later fetches are not attempted.
    """

    repo: GitRepo
    name: str
    logger: logging.Logger
    fetched: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    usable: bool | None = None  # unknown until the first fetch

    def fetch(self, branch: str, *options: str) -> bool:
        """`git fetch <options> <remote> +refs/heads/<branch>:refs/remotes/<remote>/<branch>`."""
        if self.usable is None and self.repo.remote_url(self.name) is None:
            self.usable = False
            self.warn(f"there is no git remote {self.name!r} to fetch {branch!r} or more history from")
        if self.usable is False:
            return False
        args = (*options, self.name, f"+refs/heads/{branch}:{self.tracking_ref(branch)}")
        command = " ".join(("git fetch", *args))
        self.logger.debug("running %s", command)
        try:
            self.repo.fetch(*args)
        except GitError as exc:
            self.usable = False
            self.warn(f"could not fetch from the git remote {self.name!r}: {exc}")
            return False
        self.usable = True
        self.fetched.append(command)
        return True

    def tracking_ref(self, branch: str) -> str:
        return f"refs/remotes/{self.name}/{branch}"

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self.logger.debug("warning: %s", message)


def change_range(
    repo: GitRepo,
    *,
    head: str | None,
    base_branch: str,
    remote: str = "origin",
    deepen_step: int = 50,
    max_deepen_steps: int = 20,
    logger: logging.Logger = log,
) -> CommitRange:
    """The commits of `head` (`BITBUCKET_COMMIT`, else HEAD) that are not on `base_branch`.

    Never raises for missing history or an unreachable remote: it returns the commits available
    with warnings. Raises GitError only when neither `head` nor HEAD names a commit.
    """
    fetcher = _Remote(repo, remote, logger)
    head_sha = _resolve_head(repo, head, fetcher)
    short = head_sha[:7]

    base, label = _find_base(repo, base_branch, head_sha, fetcher, deepen_step)
    if base is None:
        fetcher.warn(f"branch {base_branch!r} is not in this clone; using every commit available up to {short}")
        return _range(head_sha, None, repo.log(head_sha), f"{short} (no {base_branch})", fetcher)

    merge_base = repo.merge_base(head_sha, base)
    deepened = 0
    while merge_base is None and deepened < max_deepen_steps and repo.is_shallow():
        if not fetcher.fetch(base_branch, f"--deepen={deepen_step}"):
            break
        deepened += 1
        merge_base = repo.merge_base(head_sha, base)

    if merge_base is None:
        if repo.is_shallow():
            fetcher.warn(
                f"could not find where {short} branched off {base_branch} in this shallow clone "
                f"(deepened {deepened} time(s) by {deepen_step} commits), so only the commits available "
                f"are linked. To look at every commit of the branch, {FULL_DEPTH_HINT}"
            )
        else:
            fetcher.warn(f"{short} shares no history with {base_branch}; using all of its commits")
        return _range(head_sha, None, repo.log(head_sha), f"{short} (no merge base with {label})", fetcher)

    logger.debug("merge base of %s and %s: %s", short, label, merge_base)
    commits = repo.log(head_sha, f"^{base}")
    description = f"merge-base({label})..{short}"
    if not commits:
        description += f" (empty: {short} is already on {base_branch})"
    return _range(head_sha, merge_base, commits, description, fetcher)


def branch_name(repo: GitRepo, ctx_branch: str | None) -> str | None:
    """`BITBUCKET_BRANCH` when set, else the checked-out branch, else None (detached HEAD)."""
    return ctx_branch or repo.current_branch()


def _resolve_head(repo: GitRepo, head: str | None, remote: _Remote) -> str:
    return repo.first_commit([(head, f"commit {head} is not in this clone; using HEAD instead")], remote.warn)


def _find_base(repo: GitRepo, branch: str, head_sha: str, remote: _Remote, depth: int) -> tuple[str | None, str]:
    """(sha of the base branch, label for the description), or (None, "") when it is nowhere."""
    tracking = remote.tracking_ref(branch)
    for ref, label in ((f"refs/heads/{branch}", branch), (tracking, f"{remote.name}/{branch}")):
        sha = repo.rev_parse(ref)
        if sha:
            return sha, label
    merged = _pipelines_merged_destination(repo, head_sha)
    if merged:
        return merged, f"{branch} {merged[:7]}, merged into HEAD by Pipelines"
    depth_options = (f"--depth={depth}",) if repo.is_shallow() else ()
    if remote.fetch(branch, *depth_options):
        sha = repo.rev_parse(tracking)
        if sha:
            return sha, f"{remote.name}/{branch}"
    return None, ""


def _pipelines_merged_destination(repo: GitRepo, head_sha: str) -> str | None:
    """In a PR pipeline HEAD is `git merge <destination sha> --no-edit` made on the source commit;
    return that destination sha when HEAD is exactly such a merge on top of `head_sha`."""
    top = repo.log("HEAD", max_count=1)[0]
    if top.parents[:1] != (head_sha,) or len(top.parents) != 2:
        return None
    match = _MERGE_OF_SHA.match(top.subject)
    return top.parents[1] if match and match["sha"] == top.parents[1] else None


def _range(head: str, base: str | None, commits: list[Commit], description: str, remote: _Remote) -> CommitRange:
    return CommitRange(
        head=head,
        base=base,
        commits=tuple(commits),
        description=description,
        warnings=tuple(remote.warnings),
        fetched=tuple(remote.fetched),
    )
