"""The repository and its commits: GET repository, GET commit."""

from __future__ import annotations

from . import render
from .backend import Backend, Call, Reply


def get_repository(backend: Backend, call: Call) -> Reply:
    return Reply(200, render.repository(call.links, call.repo, full=True))


def get_commit(backend: Backend, call: Call) -> Reply:
    found = call.repo.commit(str(call.params["commit"]))
    return Reply(200, render.commit(call.links, call.repo, found))
