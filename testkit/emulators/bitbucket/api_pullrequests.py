"""Pull requests: GET one (404 once deleted), list with `state` (default OPEN, repeatable) and `q`/`sort`."""

from __future__ import annotations

from . import paging, render
from .backend import Backend, Call, Reply


def get_pull_request(backend: Backend, call: Call) -> Reply:
    pr = call.repo.pull_request(int(call.params["pull_request_id"]))
    return Reply(200, render.pull_request(call.links, call.repo, pr))


def list_pull_requests(backend: Backend, call: Call) -> Reply:
    states = set(call.query.get("state") or ["OPEN"])  # "By default only open pull requests are returned"
    found = [pr for pr in call.repo.pull_requests.values() if not pr.deleted and pr.state in states]
    body = paging.page_of(
        found,
        lambda pr: render.pull_request(call.links, call.repo, pr),
        query=call.query,
        raw_query=call.raw_query,
        url=call.url,
        limits=backend.limits,
    )
    return Reply(200, body)
