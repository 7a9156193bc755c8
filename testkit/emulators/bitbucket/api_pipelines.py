"""Pipelines: trigger one (201 + Location), list with the spec's query filters, get one by `{uuid}`.

A run needs Pipelines enabled and a definition for its selector in the repository's
`bitbucket-pipelines.yml` (seeded as `default_pipeline` and `custom_pipelines`); otherwise 400, as
the spec's 400 "the yml file does not exist … or the request body contained invalid properties".
Runs stay PENDING until a test moves them (`BitbucketEmulator.set_pipeline_state`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import paging, render
from .backend import Backend, Call, Reply
from .errors import ApiError, bad_request
from .state import PipelineRun, Repository

REF_TYPES = ("branch", "named_branch")
_STATUS = {  # the list's `status` filter → (state, result)
    "PENDING": ("PENDING", None),
    "BUILDING": ("IN_PROGRESS", None),
    "PASSED": ("COMPLETED", "SUCCESSFUL"),
    "FAILED": ("COMPLETED", "FAILED"),
    "STOPPED": ("COMPLETED", "STOPPED"),
    "ERROR": ("COMPLETED", "ERROR"),
}


def create_pipeline(backend: Backend, call: Call) -> Reply:
    repo, body = call.repo, call.body
    if not repo.pipelines_enabled:
        raise bad_request(f"Pipelines is not enabled for {repo.full_name}.")
    target = body.get("target")
    if not isinstance(target, dict):
        raise bad_request("target: This field is required.")
    rendered = _target(call, repo, target)
    variables = _variables(backend, body.get("variables"))
    run = PipelineRun(
        uuid=backend.ids.uuid(),
        build_number=backend.ids.next(f"build:{repo.full_name}"),
        target=rendered,
        variables=variables,
        creator=call.principal.account,
        created_on=backend.now(),
    )
    repo.pipelines.append(run)
    location = render.pipeline_url(call.links, repo, run)
    return Reply(201, render.pipeline(call.links, repo, run), {"Location": location}, applied=True)


def get_pipeline(backend: Backend, call: Call) -> Reply:
    run = call.repo.pipeline(str(call.params["pipeline_uuid"]))
    return Reply(200, render.pipeline(call.links, call.repo, run))


def list_pipelines(backend: Backend, call: Call) -> Reply:
    tests = _filters(call.query)
    runs = [run for run in call.repo.pipelines if all(test(run) for test in tests)]
    body = paging.page_of(
        runs,
        lambda run: render.pipeline(call.links, call.repo, run),
        query=call.query,
        raw_query=call.raw_query,
        url=call.url,
        limits=backend.limits,
    )
    return Reply(200, body)


def _target(call: Call, repo: Repository, target: dict[str, Any]) -> dict[str, Any]:
    kind = target.get("type")
    selector = _selector(repo, target.get("selector"))
    commit: str | None
    if kind == "pipeline_ref_target":
        ref_type, ref_name = target.get("ref_type"), target.get("ref_name")
        if ref_type not in REF_TYPES or not isinstance(ref_name, str) or not ref_name:
            raise bad_request("target: a pipeline_ref_target needs ref_type 'branch' and a ref_name.")
        if ref_name not in repo.branches:
            raise bad_request(f"Could not find the revision: branch {ref_name!r} does not exist.")
        commit = _commit(repo, target.get("commit")) or repo.branches[ref_name].target
        out: dict[str, Any] = {"type": kind, "ref_type": ref_type, "ref_name": ref_name}
    elif kind == "pipeline_commit_target":
        commit = _commit(repo, target.get("commit"))
        if commit is None:
            raise bad_request("target.commit.hash: This field is required for a pipeline_commit_target.")
        if selector is None:
            raise bad_request("target.selector: This field is required for a pipeline_commit_target.")
        out = {"type": kind}
    else:
        raise bad_request(f"target.type {kind!r} is not emulated; use pipeline_ref_target or pipeline_commit_target.")
    out["commit"] = render.commit(call.links, repo, repo.commits[commit], full=False)
    if selector is not None:
        out["selector"] = selector
    elif not repo.default_pipeline:
        raise bad_request(f"{repo.full_name} has no default pipeline in bitbucket-pipelines.yml.")
    return out


def _selector(repo: Repository, selector: Any) -> dict[str, Any] | None:
    if selector is None:
        return None
    if not isinstance(selector, dict):
        raise bad_request("target.selector must be an object.")
    kind, pattern = selector.get("type"), selector.get("pattern")
    if kind == "custom":
        if pattern not in repo.custom_pipelines:
            raise bad_request(
                f"There is no custom pipeline {pattern!r} in bitbucket-pipelines.yml.",
                detail=f"Defined custom pipelines: {', '.join(repo.custom_pipelines) or 'none'}.",
            )
        return {"type": "custom", "pattern": pattern}
    if kind == "default" and repo.default_pipeline:
        return {"type": "default"}
    raise bad_request(f"target.selector.type {kind!r} is not emulated (custom, or default when defined).")


def _commit(repo: Repository, commit: Any) -> str | None:
    if commit is None:
        return None
    found = commit.get("hash") if isinstance(commit, dict) else None
    if not isinstance(found, str) or not found:
        raise bad_request("Could not find the revision: target.commit needs a hash.")
    try:
        return repo.commit(found).hash
    except ApiError as exc:
        raise bad_request(f"Could not find the revision {found!r}.") from exc


def _variables(backend: Backend, variables: Any) -> list[dict[str, Any]]:
    if variables is None:
        return []
    if not isinstance(variables, list):
        raise bad_request("variables must be a list.")
    out: list[dict[str, Any]] = []
    for index, variable in enumerate(variables):
        key = variable.get("key") if isinstance(variable, dict) else None
        if not isinstance(key, str) or not key:
            raise bad_request(f"variables[{index}].key: This field is required.")
        if any(v["key"] == key for v in out):
            raise bad_request(f"variables[{index}].key: {key!r} is given twice.")
        value = variable.get("value", "")
        if not isinstance(value, str):
            raise bad_request(f"variables[{index}].value must be a string.")
        out.append({"uuid": backend.ids.uuid(), "key": key, "value": value, "secured": bool(variable.get("secured"))})
    return out


def _filters(query: dict[str, Any]) -> list[Callable[[PipelineRun], bool]]:
    tests: list[Callable[[PipelineRun], bool]] = []

    def add(name: str, test: Callable[[PipelineRun, str], bool]) -> None:
        value = query.get(name)
        if isinstance(value, str):
            tests.append(lambda run: test(run, value))

    add("target.ref_name", lambda run, v: run.target.get("ref_name") == v)
    add("target.branch", lambda run, v: run.target.get("ref_name") == v)
    add("target.commit.hash", lambda run, v: str(run.target["commit"]["hash"]).startswith(v))
    add("target.selector.pattern", lambda run, v: run.selector.get("pattern") == v)
    add("target.selector.type", lambda run, v: str(run.selector.get("type", "default")).upper() == v)
    add("target.ref_type", lambda run, v: str(run.target.get("ref_type", "")).upper() == v)
    add("trigger_type", lambda run, v: v == "MANUAL")
    add("status", lambda run, v: (run.state, run.result) == _STATUS.get(v, ("", "")))
    return tests
