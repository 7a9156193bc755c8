"""List endpoints: `limit` clamping, opaque page tokens that carry the original query, absolute links."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from . import paging
from .backend import Backend, Call, Reply

T = TypeVar("T")


@dataclass
class ListQuery:
    params: dict[str, Any]  # the first request's query; a page token brings it back unchanged
    offset: int


def start(call: Call, extra: dict[str, Any] | None = None) -> ListQuery:
    """The query to answer: from `pageToken` if given (all other parameters ignored), else the request's."""
    token = call.query.get("pageToken")
    if token is not None:
        payload = paging.decode(token, call.operation_id, call.path)
        return ListQuery(dict(payload["params"]), int(payload["offset"]))
    params = {k: v for k, v in call.query.items() if k != "pageToken"}
    return ListQuery({**params, **(extra or {})}, 0)


def reply(
    backend: Backend,
    call: Call,
    query: ListQuery,
    items: Sequence[T],
    render: Callable[[T, int], dict[str, Any]],
    *,
    default_limit: int = 25,
    max_limit: int | None = None,
    last_page: dict[str, Any] | None = None,
) -> Reply:
    """One page of `items`; `render(item, position)` shapes each; `last_page` adds keys to the last page."""
    limit = min(int(query.params.get("limit", default_limit)), max_limit or backend.options.max_page_size)
    chunk, following = paging.page_of(items, query.offset, limit)
    self_link = backend.links.base + call.path + (f"?{call.query_string}" if call.query_string else "")
    items_json = [render(item, query.offset + i) for i, item in enumerate(chunk)]
    body: dict[str, Any] = {"items": items_json, "href": self_link}
    if following is not None:
        token = paging.encode(
            {"kind": call.operation_id, "scope": call.path, "params": query.params, "offset": following}
        )
        body["nextPageToken"] = token
        body["nextPageLink"] = f"{backend.links.base}{call.path}?pageToken={quote(token)}"
    elif last_page:
        body.update(last_page)
    return Reply(200, body)
