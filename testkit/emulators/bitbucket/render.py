"""Objects as Bitbucket renders them (the shapes of the spec's definitions, with `type` on each).

`Links.api` is the base URL of the listener that received the request (`http://127.0.0.1:P/2.0`, or
`http://api.bitbucket.org/2.0` for a proxy-form request), so `self` and `next` links lead back to it.
Web links point at `https://bitbucket.org`. Comment HTML is the raw text escaped into one paragraph:
Bitbucket's Markdown renderer is not emulated.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from .state import Account, Branch, Comment, Commit, PipelineRun, PullRequest, Report, Repository

WEB = "https://bitbucket.org"
MERGE_STRATEGIES = ["merge_commit", "squash", "fast_forward"]


def timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="microseconds")


def _href(url: str) -> dict[str, str]:
    return {"href": url}


@dataclass(frozen=True)
class Links:
    api: str  # e.g. http://127.0.0.1:PORT/2.0

    def repo(self, repo: Repository) -> str:
        return f"{self.api}/repositories/{quote(repo.workspace)}/{quote(repo.slug)}"

    def web(self, repo: Repository) -> str:
        return f"{WEB}/{quote(repo.workspace)}/{quote(repo.slug)}"


def account(links: Links, who: Account) -> dict[str, Any]:
    return {
        "type": "user",
        "uuid": who.uuid,
        "display_name": who.display_name,
        "nickname": who.nickname,
        "account_id": who.account_id,
        "links": {
            "self": _href(f"{links.api}/users/{quote(who.uuid)}"),
            "html": _href(f"{WEB}/{quote(who.uuid)}/"),
            "avatar": _href(f"{WEB}/account/{quote(who.nickname)}/avatar/"),
        },
    }


def repository(links: Links, repo: Repository, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "repository",
        "uuid": repo.uuid,
        "full_name": repo.full_name,
        "name": repo.name,
        "links": {"self": _href(links.repo(repo)), "html": _href(links.web(repo))},
    }
    if full:
        out.update(
            is_private=repo.is_private,
            scm="git",
            created_on=timestamp(repo.created_on),
            mainbranch={"type": "branch", "name": repo.mainbranch},
        )
    return out


def commit(links: Links, repo: Repository, found: Commit, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": "commit",
        "hash": found.hash,
        "links": {
            "self": _href(f"{links.repo(repo)}/commit/{found.hash}"),
            "html": _href(f"{links.web(repo)}/commits/{found.hash}"),
        },
    }
    if full:
        out.update(
            date=timestamp(found.date),
            message=found.message,
            author={"type": "author", "raw": found.author},
            parents=[{"type": "commit", "hash": p} for p in found.parents],
            repository=repository(links, repo),
        )
    return out


def branch(links: Links, repo: Repository, found: Branch) -> dict[str, Any]:
    name = quote(found.name, safe="")
    return {
        "type": "branch",
        "name": found.name,
        "target": commit(links, repo, repo.commits[found.target]),
        "links": {
            "self": _href(f"{links.repo(repo)}/refs/branches/{name}"),
            "commits": _href(f"{links.repo(repo)}/commits/{name}"),
            "html": _href(f"{links.web(repo)}/branch/{name}"),
        },
        "merge_strategies": list(MERGE_STRATEGIES),
        "default_merge_strategy": MERGE_STRATEGIES[0],
    }


def _endpoint(links: Links, repo: Repository, branch_name: str, commit_hash: str) -> dict[str, Any]:
    return {
        "repository": repository(links, repo),
        "branch": {"name": branch_name},
        "commit": {"hash": commit_hash[:12]},
    }


def pull_request(links: Links, repo: Repository, pr: PullRequest) -> dict[str, Any]:
    base = f"{links.repo(repo)}/pullrequests/{pr.id}"
    out: dict[str, Any] = {
        "type": "pullrequest",
        "id": pr.id,
        "title": pr.title,
        "summary": {"raw": pr.description, "markup": "markdown", "html": _html(pr.description)},
        "rendered": {"reason": {"raw": "", "markup": "markdown", "html": ""}},
        "state": pr.state,
        "author": account(links, pr.author),
        "source": _endpoint(links, repo, pr.source_branch, pr.source_commit),
        "destination": _endpoint(links, repo, pr.destination_branch, pr.destination_commit),
        "comment_count": pr.live_comment_count(),
        "task_count": 0,
        "close_source_branch": pr.close_source_branch,
        "reason": "",
        "created_on": timestamp(pr.created_on),
        "updated_on": timestamp(pr.updated_on),
        "draft": pr.draft,
        "queued": False,
        "links": {
            "self": _href(base),
            "html": _href(f"{links.web(repo)}/pull-requests/{pr.id}"),
            "commits": _href(f"{base}/commits"),
            "approve": _href(f"{base}/approve"),
            "diff": _href(f"{base}/diff"),
            "diffstat": _href(f"{base}/diffstat"),
            "comments": _href(f"{base}/comments"),
            "activity": _href(f"{base}/activity"),
            "merge": _href(f"{base}/merge"),
            "decline": _href(f"{base}/decline"),
        },
    }
    if pr.merge_commit:
        out["merge_commit"] = {"hash": pr.merge_commit[:12]}
    return out


def comment_url(links: Links, repo: Repository, pr_id: int, comment_id: int) -> str:
    return f"{links.repo(repo)}/pullrequests/{pr_id}/comments/{comment_id}"


def comment(links: Links, repo: Repository, pr: PullRequest, found: Comment) -> dict[str, Any]:
    raw = "" if found.deleted else found.raw
    out: dict[str, Any] = {
        "type": "pullrequest_comment",
        "id": found.id,
        "created_on": timestamp(found.created_on),
        "updated_on": timestamp(found.updated_on),
        "content": {"raw": raw, "markup": found.markup, "html": _html(raw)},
        "user": account(links, found.user),
        "deleted": found.deleted,
        "pending": False,
        "pullrequest": {
            "type": "pullrequest",
            "id": pr.id,
            "title": pr.title,
            "links": {"self": _href(f"{links.repo(repo)}/pullrequests/{pr.id}")},
        },
        "links": {
            "self": _href(comment_url(links, repo, pr.id, found.id)),
            "html": _href(f"{links.web(repo)}/pull-requests/{pr.id}/_/diff#comment-{found.id}"),
        },
    }
    if found.parent_id is not None:
        out["parent"] = {
            "type": "pullrequest_comment",
            "id": found.parent_id,
            "links": {"self": _href(comment_url(links, repo, pr.id, found.parent_id))},
        }
    if found.inline is not None:
        out["inline"] = dict(found.inline)
    return out


def report(found: Report) -> dict[str, Any]:
    return {
        "type": "report",
        "uuid": found.uuid,
        "external_id": found.external_id,
        **found.fields,
        "created_on": timestamp(found.created_on),
        "updated_on": timestamp(found.updated_on),
    }


def annotation(found: Report, external_id: str) -> dict[str, Any]:
    item = found.annotations[external_id]
    return {
        "type": "report_annotation",
        "uuid": item.uuid,
        "external_id": item.external_id,
        **item.fields,
        "created_on": timestamp(item.created_on),
        "updated_on": timestamp(item.updated_on),
    }


def pipeline_url(links: Links, repo: Repository, run: PipelineRun) -> str:
    return f"{links.repo(repo)}/pipelines/{quote(run.uuid, safe='')}"


def pipeline(links: Links, repo: Repository, run: PipelineRun) -> dict[str, Any]:
    url = pipeline_url(links, repo, run)
    state: dict[str, Any] = {"type": f"pipeline_state_{run.state.lower()}", "name": run.state}
    if run.state == "COMPLETED" and run.result:
        state["result"] = {"type": f"pipeline_state_completed_{run.result.lower()}", "name": run.result}
    out: dict[str, Any] = {
        "type": "pipeline",
        "uuid": run.uuid,
        "build_number": run.build_number,
        "creator": account(links, run.creator),
        "repository": repository(links, repo),
        "target": run.target,
        "trigger": {"type": "pipeline_trigger_manual", "name": "MANUAL"},
        "state": state,
        "variables": [_variable(v) for v in run.variables],
        "created_on": timestamp(run.created_on),
        "build_seconds_used": 0,
        "links": {
            "type": "pipelines_pipeline_links",
            "self": {"type": "pipelines_links_section_href", "href": url},
            "steps": {"type": "pipelines_links_section_href", "href": f"{url}/steps"},
        },
    }
    if run.completed_on is not None:
        out["completed_on"] = timestamp(run.completed_on)
    return out


def _variable(variable: dict[str, Any]) -> dict[str, Any]:
    """The spec: "If the variable is secured, this will be empty" — secured values are never echoed."""
    secured = bool(variable.get("secured", False))
    return {
        "type": "pipeline_variable",
        "uuid": variable["uuid"],
        "key": variable["key"],
        "value": "" if secured else str(variable.get("value", "")),
        "secured": secured,
    }


def _html(raw: str) -> str:
    return f"<p>{html.escape(raw)}</p>" if raw else ""
