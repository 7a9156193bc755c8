"""Reading pull requests: state, 404 once deleted, the list's `state` and `q` filters."""

from __future__ import annotations

from testkit.emulators.bitbucket import BitbucketEmulator
from testkit.emulators.bitbucket.fixtures import (
    SAMPLE_DECLINED_PR,
    SAMPLE_DELETED_PR,
    SAMPLE_MERGED_PR,
    SAMPLE_OPEN_PR,
)
from tests.emulators.bitbucket.conftest import FEATURE, REPO, WS, Api, error_message


def test_states_of_the_sample_pull_requests(api: Api) -> None:
    states = {n: api.repo("GET", f"/pullrequests/{n}").json()["state"] for n in (5, 6, 7)}
    assert states == {SAMPLE_MERGED_PR: "MERGED", SAMPLE_DECLINED_PR: "DECLINED", SAMPLE_OPEN_PR: "OPEN"}


def test_a_pull_request_has_its_branches_and_commit(api: Api) -> None:
    pr = api.repo("GET", f"/pullrequests/{SAMPLE_OPEN_PR}").json()
    assert pr["source"]["branch"]["name"] == "feature/ABC-1-login"
    assert pr["destination"]["branch"]["name"] == "main"
    assert FEATURE.startswith(pr["source"]["commit"]["hash"])
    assert pr["comment_count"] == 1 and pr["links"]["html"]["href"].endswith(f"/pull-requests/{SAMPLE_OPEN_PR}")


def test_deleted_and_unknown_pull_requests_are_404(api: Api, emu: BitbucketEmulator) -> None:
    reply = api.repo("GET", f"/pullrequests/{SAMPLE_DELETED_PR}")
    assert reply.status_code == 404 and str(SAMPLE_DELETED_PR) in error_message(reply)
    assert api.repo("GET", "/pullrequests/999").status_code == 404
    emu.delete_pull_request(WS, REPO, SAMPLE_OPEN_PR)
    assert api.repo("GET", f"/pullrequests/{SAMPLE_OPEN_PR}").status_code == 404


def test_state_changes_made_behind_the_api_are_visible(api: Api, emu: BitbucketEmulator) -> None:
    emu.set_pull_request_state(WS, REPO, SAMPLE_OPEN_PR, "MERGED")
    assert api.repo("GET", f"/pullrequests/{SAMPLE_OPEN_PR}").json()["state"] == "MERGED"


def test_list_defaults_to_open_and_state_can_be_repeated(api: Api) -> None:
    assert [p["id"] for p in api.all_values("/pullrequests")] == [SAMPLE_OPEN_PR]
    both = api.all_values("/pullrequests", state=["MERGED", "DECLINED"])
    assert sorted(p["id"] for p in both) == [SAMPLE_MERGED_PR, SAMPLE_DECLINED_PR]


def test_list_filters_by_source_branch(api: Api) -> None:
    found = api.all_values("/pullrequests", q='source.branch.name = "feature/ABC-2-search"', state="DECLINED")
    assert [p["id"] for p in found] == [SAMPLE_DECLINED_PR]
    assert api.all_values("/pullrequests", q='source.branch.name = "nope"') == []


def test_a_query_that_does_not_parse_is_400(api: Api) -> None:
    reply = api.repo("GET", "/pullrequests", params={"q": 'title ~ "unterminated'})
    assert reply.status_code == 400 and error_message(reply).startswith("Invalid query")
