"""Seeding: workspaces, repositories (commits, branches, pipeline definitions), pull requests, comments
and the access-token table, written straight into the state. The JSON format is in the docs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from .auth import REPOSITORY_TOKEN_SCOPES, WORKSPACE_TOKEN_SCOPES
from .backend import Backend
from .state import PULL_REQUEST_STATES, Account, Branch, Comment, Commit, PullRequest, Repository, Token, Workspace

_HASH = re.compile(r"[0-9a-f]{40}")
DEFAULT_AUTHOR = "Emulated Developer <dev@example.com>"


class Seeder:
    def __init__(self, backend: Backend):
        self._backend = backend
        self._world = backend.world
        self._ids = backend.ids

    # -- accounts and tokens -------------------------------------------------------------------------

    def account(self, nickname: str, display_name: str | None = None) -> Account:
        found = self._world.accounts.get(nickname)
        if found is None:
            found = Account(self._ids.uuid(), display_name or nickname, nickname, f"557058:{self._ids.uuid()[1:-1]}")
            self._world.accounts[nickname] = found
        return found

    def token(
        self,
        value: str,
        workspace: str,
        repo_slug: str | None = None,
        *,
        scopes: Iterable[str] = ("repository",),
        name: str | None = None,
    ) -> Token:
        """A repository access token (with `repo_slug`) or a workspace access token (without)."""
        wanted = frozenset(scopes)
        allowed = REPOSITORY_TOKEN_SCOPES if repo_slug else WORKSPACE_TOKEN_SCOPES
        if not wanted <= allowed:
            kind = "repository" if repo_slug else "workspace"
            raise ValueError(f"not a {kind} access token scope: {sorted(wanted - allowed)}")
        if repo_slug is not None:
            self.repository(workspace, repo_slug)
        elif workspace not in self._world.workspaces:
            raise KeyError(f"no workspace {workspace!r}")
        label = name or f"{repo_slug or workspace} access token"
        account = self.account(f"token-{len(self._world.tokens) + 1}", label)
        token = Token(value, label, wanted, workspace, repo_slug, account)
        self._world.tokens[value] = token
        return token

    # -- workspaces and repositories ----------------------------------------------------------------

    def workspace(self, slug: str, name: str | None = None) -> Workspace:
        found = self._world.workspaces.get(slug)
        if found is None:
            found = Workspace(slug, self._ids.uuid(), name or slug)
            self._world.workspaces[slug] = found
        return found

    def repository(self, workspace: str, slug: str) -> Repository:
        found = self._world.repositories.get((workspace, slug))
        if found is None:
            raise KeyError(f"no repository {workspace}/{slug}")
        return found

    def add_repository(self, spec: Mapping[str, Any]) -> Repository:
        """`{"workspace", "slug", "name"?, "is_private"?, "mainbranch"?, "commits"?, "branches"?,
        "pipelines"?: {"enabled"?, "default"?, "custom"?}, "pullrequests"?}`."""
        workspace = self.workspace(spec["workspace"]).slug
        pipelines = spec.get("pipelines", {})
        repo = Repository(
            workspace=workspace,
            slug=spec["slug"],
            uuid=self._ids.uuid(),
            name=spec.get("name", spec["slug"]),
            is_private=bool(spec.get("is_private", True)),
            mainbranch=spec.get("mainbranch", "main"),
            created_on=self._backend.now(),
            pipelines_enabled=bool(pipelines.get("enabled", True)),
            default_pipeline=bool(pipelines.get("default", True)),
            custom_pipelines=tuple(pipelines.get("custom", ())),
        )
        self._world.repositories[(workspace, repo.slug)] = repo
        for commit in spec.get("commits", []):
            self.add_commit(workspace, repo.slug, commit)
        if not repo.commits:
            self.add_commit(workspace, repo.slug, {"message": "Initial commit"})
        head = list(repo.commits)[-1]
        branches = spec.get("branches") or {repo.mainbranch: head}
        for name, target in branches.items():
            self.add_branch(workspace, repo.slug, name, target)
        for pr in spec.get("pullrequests", []):
            self.add_pull_request(workspace, repo.slug, pr)
        return repo

    def add_commit(self, workspace: str, slug: str, spec: Mapping[str, Any]) -> Commit:
        """`{"hash"?, "message"?, "parents"?, "author"?}`; parents default to the previous commit."""
        repo = self.repository(workspace, slug)
        commit_hash = spec.get("hash") or self._ids.commit_hash()
        if not _HASH.fullmatch(commit_hash):
            raise ValueError(f"a commit hash is 40 lower-case hex digits: {commit_hash!r}")
        previous = list(repo.commits)[-1:] if repo.commits else []
        parents = tuple(repo.commit(p).hash for p in spec.get("parents", previous))
        commit = Commit(
            commit_hash, spec.get("message", "Change"), self._backend.now(), spec.get("author", DEFAULT_AUTHOR), parents
        )
        repo.commits[commit_hash] = commit
        return commit

    def add_branch(self, workspace: str, slug: str, name: str, target: str) -> Branch:
        repo = self.repository(workspace, slug)
        branch = Branch(name, repo.commit(target).hash)
        repo.branches[name] = branch
        return branch

    # -- pull requests and comments -----------------------------------------------------------------

    def add_pull_request(self, workspace: str, slug: str, spec: Mapping[str, Any]) -> PullRequest:
        """`{"id"?, "title", "source", "destination"?, "state"?, "author"?, "description"?, "deleted"?,
        "comments"?: [{"raw", "author"?, "deleted"?}]}`; `source`/`destination` name branches."""
        repo = self.repository(workspace, slug)
        state = spec.get("state", "OPEN")
        if state not in PULL_REQUEST_STATES:
            raise ValueError(f"state must be one of {PULL_REQUEST_STATES}")
        counter = f"pr:{repo.full_name}"
        pr_id = int(spec["id"]) if "id" in spec else self._ids.next(counter)
        self._ids.bump(counter, pr_id)
        source = repo.branch(spec["source"])
        destination = repo.branch(spec.get("destination", repo.mainbranch))
        now = self._backend.now()
        pr = PullRequest(
            id=pr_id,
            title=spec.get("title", f"Pull request {pr_id}"),
            description=spec.get("description", ""),
            state=state,
            source_branch=source.name,
            destination_branch=destination.name,
            source_commit=source.target,
            destination_commit=destination.target,
            author=self.account(spec.get("author", "developer")),
            created_on=now,
            updated_on=now,
            merge_commit=source.target if state == "MERGED" else None,
            deleted=bool(spec.get("deleted", False)),
        )
        repo.pull_requests[pr_id] = pr
        for comment in spec.get("comments", []):
            self.add_comment(workspace, slug, pr_id, comment)
        return pr

    def add_comment(self, workspace: str, slug: str, pr_id: int, spec: Mapping[str, Any]) -> Comment:
        """`{"raw", "author"? (a nickname, or a token value to post as that token), "deleted"?}`."""
        pr = self.repository(workspace, slug).pull_requests[pr_id]
        author = spec.get("author", "developer")
        token = self._world.tokens.get(author)
        now = self._backend.now()
        comment = Comment(
            id=self._ids.next("comment", start=100001),
            pull_request_id=pr_id,
            raw=spec["raw"],
            markup=spec.get("markup", "markdown"),
            user=token.account if token else self.account(author),
            created_on=now,
            updated_on=now,
            deleted=bool(spec.get("deleted", False)),
        )
        pr.comments.append(comment)
        return comment

    # -- whole seeds -------------------------------------------------------------------------------

    def load(self, data: Mapping[str, Any]) -> None:
        """`{"workspaces": [{slug, name?}], "repositories": [...], "tokens": [{token, workspace,
        repository?, scopes, name?}]}`; tokens are made after repositories, comments after tokens."""
        for workspace in data.get("workspaces", []):
            self.workspace(workspace["slug"], workspace.get("name"))
        deferred: list[tuple[str, str, Mapping[str, Any]]] = []
        for spec in data.get("repositories", []):
            repo = self.add_repository({k: v for k, v in spec.items() if k != "pullrequests"})
            deferred.extend((repo.workspace, repo.slug, pr) for pr in spec.get("pullrequests", []))
        for token in data.get("tokens", []):
            self.token(
                token["token"],
                token["workspace"],
                token.get("repository"),
                scopes=token.get("scopes", ("repository",)),
                name=token.get("name"),
            )
        for workspace, slug, pr in deferred:  # after the tokens: a seeded comment may be a token's
            self.add_pull_request(workspace, slug, pr)
