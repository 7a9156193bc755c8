"""List-based pagination (narrative "pagination"): `size`, `page`, `pagelen`, `next`, `previous`, `values`.

`next`/`previous` are absolute links to the same listener with the original query and a new `page`,
so following them keeps `q`, `sort` and filters. Clients must treat them as opaque; the emulator's
happen to look like Bitbucket's (`…?page=3`). `pagelen` is clamped into the configured range
(narrative: "Globally, the minimum length is 10 and the maximum is 100"); a page past the end is an
empty `values` without `next` (chosen; Bitbucket's answer is unknown).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from . import bbql
from .config import Limits

T = TypeVar("T")


def clamp_pagelen(requested: Any, limits: Limits, default: int | None = None) -> int:
    if not isinstance(requested, int):
        return default or limits.pagelen_default
    return max(limits.pagelen_min, min(limits.pagelen_max, requested))


def page_of(
    items: Sequence[T],
    render: Callable[[T], dict[str, Any]],
    *,
    query: Mapping[str, Any],
    raw_query: Mapping[str, list[str]],
    url: str,
    limits: Limits,
    filterable: bool = True,
    natural_sort_fields: frozenset[str] = frozenset(),
    default_pagelen: int | None = None,
) -> dict[str, Any]:
    """Filter (`q`), sort (`sort`), then cut one page of rendered objects."""
    rendered = [render(item) for item in items]
    if filterable and isinstance(query.get("q"), str) and query["q"].strip():
        keep = bbql.compile_query(query["q"])
        rendered = [obj for obj in rendered if keep(obj)]
    if filterable and isinstance(query.get("sort"), str) and query["sort"].strip():
        sort = query["sort"].strip()
        field = sort.lstrip("-")
        if field in natural_sort_fields:
            rendered.sort(key=lambda obj: bbql.natural_key(str(obj.get(field, ""))), reverse=sort.startswith("-"))
        else:
            key, descending = bbql.sort_key_for(sort)
            rendered.sort(key=key, reverse=descending)
    pagelen = clamp_pagelen(query.get("pagelen"), limits, default_pagelen)
    requested = query.get("page")
    page = requested if isinstance(requested, int) and requested >= 1 else 1
    start = (page - 1) * pagelen
    envelope: dict[str, Any] = {
        "size": len(rendered),
        "page": page,
        "pagelen": pagelen,
        "values": rendered[start : start + pagelen],
    }
    if start + pagelen < len(rendered):
        envelope["next"] = _link(url, raw_query, page + 1)
    if page > 1:
        envelope["previous"] = _link(url, raw_query, page - 1)
    return envelope


def _link(url: str, raw_query: Mapping[str, list[str]], page: int) -> str:
    params = [(k, v) for k, values in raw_query.items() if k != "page" for v in values]
    params.append(("page", str(page)))
    return f"{url}?{urlencode(params)}"
