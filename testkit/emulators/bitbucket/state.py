"""The emulated Bitbucket Cloud: workspaces, repositories, commits, branches, pull requests, comments,
Code Insights reports and annotations, pipeline runs and access tokens.

Plain dataclasses; the backend guards them with one lock. Lookups raise `ApiError` (404) so handlers
stay short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import bad_request, not_found

PullRequestState = Literal["OPEN", "MERGED", "DECLINED", "SUPERSEDED"]
PULL_REQUEST_STATES = ("OPEN", "MERGED", "DECLINED", "SUPERSEDED")


@dataclass(frozen=True)
class Account:
    """A user as Bitbucket renders it; an access token acts as a user named after the token."""

    uuid: str
    display_name: str
    nickname: str
    account_id: str


@dataclass(frozen=True)
class Token:
    """A repository access token (`repo_slug` set) or a workspace access token (`repo_slug` None)."""

    value: str
    name: str
    scopes: frozenset[str]
    workspace: str
    repo_slug: str | None
    account: Account

    def reaches(self, workspace: str, repo_slug: str) -> bool:
        return self.workspace == workspace and self.repo_slug in (None, repo_slug)


@dataclass(frozen=True)
class Commit:
    hash: str
    message: str
    date: float
    author: str  # "Name <email>", Bitbucket's `author.raw`
    parents: tuple[str, ...] = ()


@dataclass
class Comment:
    id: int
    pull_request_id: int
    raw: str
    markup: str
    user: Account
    created_on: float
    updated_on: float
    deleted: bool = False
    parent_id: int | None = None
    inline: dict[str, Any] | None = None


@dataclass
class PullRequest:
    id: int
    title: str
    description: str
    state: PullRequestState
    source_branch: str
    destination_branch: str
    source_commit: str
    destination_commit: str
    author: Account
    created_on: float
    updated_on: float
    merge_commit: str | None = None
    close_source_branch: bool = False
    draft: bool = False
    deleted: bool = False  # a deleted pull request answers 404
    comments: list[Comment] = field(default_factory=list)

    def live_comment_count(self) -> int:
        return sum(1 for c in self.comments if not c.deleted)


@dataclass
class Annotation:
    uuid: str
    external_id: str
    fields: dict[str, Any]  # the declared annotation fields as sent (summary, severity, line, …)
    created_on: float
    updated_on: float


@dataclass
class Report:
    uuid: str
    external_id: str
    commit: str
    fields: dict[str, Any]  # the declared report fields as sent (title, result, data, …)
    created_on: float
    updated_on: float
    annotations: dict[str, Annotation] = field(default_factory=dict)  # by external_id, in creation order

    def annotation(self, ref: str) -> Annotation:
        found = self.annotations.get(ref) or next((a for a in self.annotations.values() if a.uuid == ref), None)
        if found is None:
            raise not_found(f"No annotation with ID {ref!r} in report {self.external_id!r}.")
        return found


@dataclass
class PipelineRun:
    uuid: str
    build_number: int
    target: dict[str, Any]  # as rendered (type, ref_type, ref_name, commit, selector)
    variables: list[dict[str, Any]]  # as sent, secured values kept (the response blanks them)
    creator: Account
    created_on: float
    state: str = "PENDING"  # PENDING | IN_PROGRESS | COMPLETED
    result: str | None = None  # SUCCESSFUL | FAILED | STOPPED | ERROR once COMPLETED
    completed_on: float | None = None

    @property
    def selector(self) -> dict[str, Any]:
        return dict(self.target.get("selector") or {})


@dataclass
class Branch:
    name: str
    target: str  # commit hash


@dataclass
class Repository:
    workspace: str
    slug: str
    uuid: str
    name: str
    is_private: bool
    mainbranch: str
    created_on: float
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, Branch] = field(default_factory=dict)
    pull_requests: dict[int, PullRequest] = field(default_factory=dict)
    reports: dict[tuple[str, str], Report] = field(default_factory=dict)  # (commit hash, external_id)
    pipelines: list[PipelineRun] = field(default_factory=list)
    pipelines_enabled: bool = True
    default_pipeline: bool = True  # bitbucket-pipelines.yml has `pipelines: default:`
    custom_pipelines: tuple[str, ...] = ()  # names under `pipelines: custom:`

    @property
    def full_name(self) -> str:
        return f"{self.workspace}/{self.slug}"

    def commit(self, ref: str) -> Commit:
        """By full hash or a unique prefix of at least 7 characters (reference §4)."""
        found = self.commits.get(ref)
        if found is not None:
            return found
        if len(ref) >= 7:
            matches = [c for h, c in self.commits.items() if h.startswith(ref)]
            if len(matches) > 1:
                raise bad_request(f"The commit prefix {ref!r} is ambiguous.")
            if matches:
                return matches[0]
        raise not_found(f"Commit {ref!r} not found.")

    def branch(self, name: str) -> Branch:
        found = self.branches.get(name)
        if found is None:
            raise not_found(f"Branch {name!r} not found.")
        return found

    def pull_request(self, pr_id: int) -> PullRequest:
        found = self.pull_requests.get(pr_id)
        if found is None or found.deleted:
            raise not_found(f"Pull request {pr_id} not found.")
        return found

    def pipeline(self, ref: str) -> PipelineRun:
        wanted = ref if ref.startswith("{") else "{" + ref + "}"
        for run in self.pipelines:
            if run.uuid == wanted:
                return run
        raise not_found(f"Pipeline {ref!r} not found.")

    def report(self, commit: str, ref: str) -> Report:
        found = self.reports.get((commit, ref)) or next(
            (r for (c, _), r in self.reports.items() if c == commit and r.uuid == ref), None
        )
        if found is None:
            raise not_found(f"No report with ID {ref!r} on commit {commit}.")
        return found


@dataclass
class Workspace:
    slug: str
    uuid: str
    name: str


@dataclass
class World:
    workspaces: dict[str, Workspace] = field(default_factory=dict)
    repositories: dict[tuple[str, str], Repository] = field(default_factory=dict)
    tokens: dict[str, Token] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)  # by nickname

    def repository(self, workspace: str, repo_slug: str) -> Repository:
        """By slug or `{uuid}` for either part (reference §1)."""
        found = self.repositories.get((workspace, repo_slug))
        if found is None:
            ws = next((w.slug for w in self.workspaces.values() if w.uuid == workspace), workspace)
            found = self.repositories.get((ws, repo_slug)) or next(
                (r for r in self.repositories.values() if r.workspace == ws and r.uuid == repo_slug), None
            )
        if found is None:
            raise not_found(f"Repository {workspace}/{repo_slug} not found.")
        return found
