"""Pull-request comments: list (paged, `q`/`sort`), create (201 + Location), get, update in place, delete.

Only the comment's author may update or delete it (the spec's 403 "does not have access to the
comment"); an access token is the author of what it posts. Deleted comments follow
`Readings.deleted_comments`.
"""

from __future__ import annotations

from typing import Any

from . import paging, render
from .backend import Backend, Call, Reply
from .errors import bad_request, forbidden, not_found
from .state import Comment, PullRequest

MARKUPS = ("markdown", "creole", "plaintext")


def _pull_request(call: Call) -> PullRequest:
    return call.repo.pull_request(int(call.params["pull_request_id"]))


def _comment(backend: Backend, call: Call, pr: PullRequest, *, writable: bool = False) -> Comment:
    comment_id = int(call.params["comment_id"])
    found = next((c for c in pr.comments if c.id == comment_id), None)
    gone = found is not None and found.deleted and (writable or backend.readings.deleted_comments == "gone")
    if found is None or gone:
        raise not_found(f"Comment {comment_id} not found.")
    return found


def _content(body: Any) -> tuple[str, str]:
    content = body.get("content") if isinstance(body, dict) else None
    raw = content.get("raw") if isinstance(content, dict) else None
    if not isinstance(raw, str) or not raw.strip():
        raise bad_request("content.raw: This field is required.")
    markup = content.get("markup", "markdown") if isinstance(content, dict) else "markdown"
    return raw, markup if markup in MARKUPS else "markdown"


def list_comments(backend: Backend, call: Call) -> Reply:
    pr = _pull_request(call)
    visible = [c for c in pr.comments if not (c.deleted and backend.readings.deleted_comments == "gone")]
    body = paging.page_of(
        visible,
        lambda c: render.comment(call.links, call.repo, pr, c),
        query=call.query,
        raw_query=call.raw_query,
        url=call.url,
        limits=backend.limits,
    )
    return Reply(200, body)


def create_comment(backend: Backend, call: Call) -> Reply:
    pr = _pull_request(call)
    raw, markup = _content(call.body)
    parent = call.body.get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict) else None
    if parent_id is not None and not any(c.id == parent_id and not c.deleted for c in pr.comments):
        raise bad_request(f"parent: comment {parent_id} does not exist on this pull request.")
    inline = call.body.get("inline")
    now = backend.now()
    comment = Comment(
        id=backend.ids.next("comment", start=100001),
        pull_request_id=pr.id,
        raw=raw,
        markup=markup,
        user=call.principal.account,
        created_on=now,
        updated_on=now,
        parent_id=parent_id if isinstance(parent_id, int) else None,
        inline=dict(inline) if isinstance(inline, dict) else None,
    )
    pr.comments.append(comment)
    pr.updated_on = now
    location = render.comment_url(call.links, call.repo, pr.id, comment.id)
    return Reply(201, render.comment(call.links, call.repo, pr, comment), {"Location": location}, applied=True)


def get_comment(backend: Backend, call: Call) -> Reply:
    pr = _pull_request(call)
    return Reply(200, render.comment(call.links, call.repo, pr, _comment(backend, call, pr)))


def update_comment(backend: Backend, call: Call) -> Reply:
    pr = _pull_request(call)
    comment = _comment(backend, call, pr, writable=True)
    if comment.user.uuid != call.principal.account.uuid:
        raise forbidden("You do not have access to this comment.")
    comment.raw, comment.markup = _content(call.body)
    comment.updated_on = backend.now()
    return Reply(200, render.comment(call.links, call.repo, pr, comment), applied=True)


def delete_comment(backend: Backend, call: Call) -> Reply:
    pr = _pull_request(call)
    comment = _comment(backend, call, pr, writable=True)
    if comment.user.uuid != call.principal.account.uuid:
        raise forbidden("You do not have access to delete this comment.")
    comment.deleted = True
    comment.updated_on = backend.now()
    return Reply(204, applied=True)
