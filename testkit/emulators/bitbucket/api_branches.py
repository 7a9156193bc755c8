"""Branches: list (`q`, `sort`; `sort=name` is natural), create from a commit (201), get, delete."""

from __future__ import annotations

from . import paging, render
from .backend import Backend, Call, Reply
from .errors import ApiError, bad_request
from .state import Branch


def list_branches(backend: Backend, call: Call) -> Reply:
    """Default order is `git branch --list`'s: lexical by name (the operation's description)."""
    ordered = sorted(call.repo.branches.values(), key=lambda b: b.name)
    body = paging.page_of(
        ordered,
        lambda b: render.branch(call.links, call.repo, b),
        query=call.query,
        raw_query=call.raw_query,
        url=call.url,
        limits=backend.limits,
        natural_sort_fields=frozenset({"name"}),
    )
    return Reply(200, body)


def create_branch(backend: Backend, call: Call) -> Reply:
    name = str(call.body["name"]).strip()
    if name.startswith("refs/") or name.endswith("/") or ".." in name or " " in name:
        raise bad_request(f"{name!r} is not a valid branch name (no refs/ prefix, spaces or '..').")
    if name in call.repo.branches:
        raise ApiError(backend.readings.existing_branch_status, f"Branch {name!r} already exists.", undeclared_ok=True)
    target = call.repo.commit(str(call.body["target"]["hash"]))
    branch = Branch(name, target.hash)
    call.repo.branches[name] = branch
    return Reply(201, render.branch(call.links, call.repo, branch), applied=True)


def get_branch(backend: Backend, call: Call) -> Reply:
    return Reply(200, render.branch(call.links, call.repo, call.repo.branch(str(call.params["name"]))))


def delete_branch(backend: Backend, call: Call) -> Reply:
    branch = call.repo.branch(str(call.params["name"]))
    if branch.name == call.repo.mainbranch:
        raise bad_request(f"The main branch {branch.name!r} cannot be deleted.")
    del call.repo.branches[branch.name]
    return Reply(204, applied=True)
