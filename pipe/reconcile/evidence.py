"""What the history says about each referenced record: pure, from the commits, release tags and deployments read.

For every commit of the history three owners are worked out once, each by one walk over the parent links:

* **merged by**: the commit of MAIN_BRANCH's first-parent line that brought it in (a merge commit for a
  branch's commits, the commit itself when it was made on the branch). Its time is when the record was merged,
  and a Bitbucket merge or squash commit names the pull request (and branch) that merged it.
* **release**: the first release tag whose commit holds it (`pipe.release.history.assign_commits`).
* **deployment**, per environment of the deployments log: the first deployment (by its time) whose commit holds
  it.

Each walk claims, starting from its owners in order, every commit reachable from an owner that no earlier owner
claimed. What earlier owners claimed is closed under parents (an ancestor of a claimed commit was claimed with
it), so a walk stops at the first claimed commit: the three walks visit each commit once, whatever the length of
the history. git could answer "which tags or deployments hold commit X" (`git tag --contains`, `git merge-base
--is-ancestor`) one commit at a time, which is one git process per commit: too slow for ten thousand commits,
hence this walk over the parents `git log` already gave.

A record's evidence then combines the owners of the commits that name it: merged when the first of them was
merged, released with the first release holding one of them, deployed to an environment with the first
deployment holding one of them. The status it implies is the furthest of the merge stage's and the deployed
environments' (pipe.plan.workflow), just as the sync's merge and deploy stages would have set it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from pipe.config.file import Workflow
from pipe.facts.run_facts import Deployment
from pipe.model import Commit, Stage
from pipe.plan.workflow import furthest, parse_time
from pipe.reconcile.history import History
from pipe.references import parse_bitbucket_merge, parse_squash_pr_number
from pipe.release.history import assign_commits

Owner = TypeVar("Owner")


@dataclass(frozen=True)
class Deployed:
    """The first logged deployment to one environment that holds one of a record's commits."""

    environment: str
    status: str | None  # the status a deployment there sets (workflow.environments), None when the stage sets none
    commit: str
    deployed_at: str | None

    @property
    def label(self) -> str:
        when = f" on {self.deployed_at[:10]}" if self.deployed_at else ""
        return f"deployed to {self.environment} at {self.commit[:7]}{when}"


@dataclass(frozen=True)
class Evidence:
    """What the history implies for one record."""

    commits: tuple[str, ...]  # the commits that name the record, newest first
    merged_by: Commit | None  # the commit of MAIN_BRANCH's first-parent line that brought the first of them in
    release: str | None  # the first release tag that holds one of them
    deployments: tuple[Deployed, ...]  # per environment, the first deployment that holds one of them
    pull_request: int | None  # named by `merged_by` (a Bitbucket merge or squash commit)
    branch: str | None  # named by `merged_by` (a Bitbucket merge commit: "Merged in <branch> (pull request #N)")
    status: str | None  # the furthest status these imply

    @property
    def newest(self) -> str | None:
        return self.commits[0] if self.commits else None

    @property
    def tags(self) -> tuple[str, ...]:
        return (self.release,) if self.release else ()


class HistoryIndex:
    """The history's commits with their owners, built once; `evidence()` for any set of commits."""

    def __init__(self, history: History, deployments: Sequence[Deployment], workflow: Workflow):
        self.workflow = workflow
        self.by_sha: dict[str, Commit] = {c.sha: c for c in history.commits}
        self.order: dict[str, int] = {c.sha: i for i, c in enumerate(history.commits)}  # 0: the newest
        self.merged_by = claim(((sha, sha) for sha in reversed(_first_parents(history.head, self.by_sha))), self.by_sha)
        self.release: dict[str, str] = {}
        for release in assign_commits(history.commits, history.tags, history.head):
            if release.tag is not None:
                for commit in release.commits:
                    self.release[commit.sha] = release.tag.name
        self.release_rank = {t.name: t.version.sort_key() for t in history.tags}
        self.deployed: dict[str, dict[str, Deployment]] = {}  # environment -> commit -> its first deployment
        by_environment: dict[str, list[Deployment]] = {}
        for deployment in deployments:
            by_environment.setdefault(deployment.environment, []).append(deployment)
        for environment, logged in by_environment.items():
            ordered = sorted(logged, key=_deployment_time)
            self.deployed[environment] = claim(((d.commit, d) for d in ordered), self.by_sha)

    def __contains__(self, sha: str) -> bool:
        return sha in self.by_sha

    def evidence(self, shas: Iterable[str]) -> Evidence:
        commits = tuple(sorted({s for s in shas if s in self.by_sha}, key=self.order.__getitem__))
        mergers = [self.by_sha[self.merged_by[s]] for s in commits if s in self.merged_by]
        merged_by = min(mergers, key=lambda c: (c.timestamp, -self.order[c.sha])) if mergers else None
        releases = [self.release[s] for s in commits if s in self.release]
        release = min(releases, key=self.release_rank.__getitem__) if releases else None
        deployments = []
        for environment, owners in self.deployed.items():
            holding = [owners[s] for s in commits if s in owners]
            if holding:
                first = min(holding, key=_deployment_time)
                status = self.workflow.stage_status(Stage.DEPLOY, environment)
                deployments.append(Deployed(environment, status, first.commit, first.deployed_at))
        deployments.sort(key=lambda d: self._rank(d.status))
        pull_request, branch = _merged_from(merged_by)
        implied = [self.workflow.stage_status(Stage.MERGE) if commits else None, *(d.status for d in deployments)]
        return Evidence(
            commits=commits,
            merged_by=merged_by,
            release=release,
            deployments=tuple(deployments),
            pull_request=pull_request,
            branch=branch,
            status=furthest(self.workflow, implied),
        )

    def _rank(self, status: str | None) -> int:
        return self.workflow.statuses.index(status) if status in self.workflow.statuses else -1


def claim(owners: Iterable[tuple[str, Owner]], by_sha: Mapping[str, Commit]) -> dict[str, Owner]:
    """commit -> the first of `owners` (start commit, owner) whose start commit reaches it through parent links.
    Commits outside `by_sha` (before RECONCILE_SINCE, or not in the clone) are neither claimed nor walked through.
    """
    owner_of: dict[str, Owner] = {}
    for start, owner in owners:
        stack = [start]
        while stack:
            sha = stack.pop()
            if sha in owner_of or sha not in by_sha:
                continue
            owner_of[sha] = owner
            stack.extend(by_sha[sha].parents)
    return owner_of


def _first_parents(head: str, by_sha: Mapping[str, Commit]) -> list[str]:
    """MAIN_BRANCH's first-parent line from `head` back, within the history read (newest first)."""
    line = []
    sha: str | None = head
    while sha is not None and sha in by_sha:
        line.append(sha)
        parents = by_sha[sha].parents
        sha = parents[0] if parents else None
    return line


def _merged_from(commit: Commit | None) -> tuple[int | None, str | None]:
    """(pull request, branch) a commit of the first-parent line says it merged."""
    if commit is None:
        return None, None
    merged = parse_bitbucket_merge(commit.subject)
    if merged is not None:
        branch, number = merged
        return number, branch
    return parse_squash_pr_number(commit.subject), None


def _deployment_time(deployment: Deployment) -> float:
    """When it was deployed; a deployment without a readable time counts as the latest."""
    stamp = parse_time(deployment.deployed_at)
    return stamp if stamp is not None else float("inf")
