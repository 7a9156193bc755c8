"""The filter language on its own (the HTTP tests use it through `q=`)."""

from __future__ import annotations

from typing import Any

import pytest

from testkit.emulators.bitbucket.bbql import compile_query, natural_key, sort_key_for
from testkit.emulators.bitbucket.errors import ApiError

OBJECTS: list[dict[str, Any]] = [
    {"id": 1, "state": "OPEN", "title": "Unicode fix", "created_on": "2015-10-04T12:00:00+00:00", "reviewers": []},
    {
        "id": 2,
        "state": "MERGED",
        "title": "Docs",
        "created_on": "2015-10-05T12:00:00+00:00",
        "reviewers": [{"nickname": "evzijst"}, {"nickname": "other"}],
        "assignee": None,
    },
    {"id": 3, "state": "DECLINED", "title": "UNICODE again", "created_on": "2016-01-01T00:00:00+00:00"},
]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ('state = "OPEN"', [1]),
        ('state != "OPEN"', [2, 3]),
        ('title ~ "unicode"', [1, 3]),
        ('title !~ "unicode"', [2]),
        ('state IN ("OPEN", "MERGED")', [1, 2]),
        ('state NOT IN ("OPEN", "MERGED")', [3]),
        ("id >= 2 AND id < 3", [2]),
        ('(state = "OPEN" OR state = "DECLINED") and title ~ "again"', [3]),
        ("created_on > 2015-10-04T14:00:00-07:00", [2, 3]),
        ("created_on <= 2015-10-05", [1]),
        ('reviewers.nickname = "evzijst"', [2]),
        ("assignee = null", [1, 2, 3]),
        ('title = "say \\"hi\\""', []),
    ],
)
def test_queries_from_the_filtering_narrative(query: str, ids: list[int]) -> None:
    keep = compile_query(query)
    assert [o["id"] for o in OBJECTS if keep(o)] == ids


@pytest.mark.parametrize("query", ['state = "OPEN', "state", "state = ", "= 1", 'state = "a" AND', "id IN 1", "id @ 3"])
def test_broken_queries_are_400(query: str) -> None:
    with pytest.raises(ApiError) as caught:
        compile_query(query)
    assert caught.value.status == 400 and caught.value.message.startswith("Invalid query")


def test_sorting_and_natural_order() -> None:
    key, descending = sort_key_for("-created_on")
    assert descending and [o["id"] for o in sorted(OBJECTS, key=key, reverse=True)] == [3, 2, 1]
    assert sorted(["v10", "v9", "v1"], key=natural_key) == ["v1", "v9", "v10"]
    with pytest.raises(ApiError):
        sort_key_for("created_on; drop")
