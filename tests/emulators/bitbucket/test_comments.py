"""Pull-request comments: the list-find-update-delete cycle of keeping one bot comment up to date."""

from __future__ import annotations

import pytest

from testkit.emulators.bitbucket import BitbucketEmulator, Limits, Readings
from testkit.emulators.bitbucket.fixtures import SAMPLE_DELETED_PR, SAMPLE_MERGED_PR, SAMPLE_OPEN_PR
from tests.emulators.bitbucket.conftest import REPO, WS, Api, error_message

COMMENTS = f"/pullrequests/{SAMPLE_OPEN_PR}/comments"
MARKER = "<!-- airtable-coda-sync -->"


def test_create_answers_201_with_location_of_the_new_comment(api: Api, emu: BitbucketEmulator) -> None:
    reply = api.repo("POST", COMMENTS, json={"content": {"raw": f"{MARKER}\nRelease 1.2.0"}})
    assert reply.status_code == 201
    created = reply.json()
    assert reply.headers["Location"] == created["links"]["self"]["href"]
    assert created["content"]["raw"] == f"{MARKER}\nRelease 1.2.0" and created["deleted"] is False
    assert created["user"]["display_name"] == "Release bot"  # an access token posts as itself
    fetched = api.get(reply.headers["Location"])
    assert fetched.status_code == 200 and fetched.json()["id"] == created["id"]
    stored = emu.comments(WS, REPO, SAMPLE_OPEN_PR)
    assert [c.raw for c in stored] == ["Looks good to me.", f"{MARKER}\nRelease 1.2.0"]


def test_update_in_place_keeps_the_id_and_changes_updated_on(api: Api, emu: BitbucketEmulator) -> None:
    created = api.repo("POST", COMMENTS, json={"content": {"raw": f"{MARKER} v1"}}).json()
    reply = api.repo("PUT", f"{COMMENTS}/{created['id']}", json={"content": {"raw": f"{MARKER} v2"}})
    assert reply.status_code == 200
    assert reply.json()["id"] == created["id"] and reply.json()["content"]["raw"] == f"{MARKER} v2"
    assert reply.json()["updated_on"] >= created["updated_on"]
    assert [c.raw for c in emu.comments(WS, REPO, SAMPLE_OPEN_PR)].count(f"{MARKER} v2") == 1


@pytest.mark.bitbucket_emulator(limits=Limits(pagelen_min=1))
def test_list_pages_with_next_and_the_marker_is_found_on_a_later_page(api: Api, emu: BitbucketEmulator) -> None:
    for n in range(4):
        emu.add_comment(WS, REPO, SAMPLE_OPEN_PR, f"human comment {n}")
    api.repo("POST", COMMENTS, json={"content": {"raw": f"{MARKER} status"}})
    first = api.repo("GET", COMMENTS, params={"pagelen": 2}).json()
    assert (first["size"], first["page"], first["pagelen"], len(first["values"])) == (6, 1, 2, 2)
    assert "previous" not in first and "pagelen=2" in first["next"]
    second = api.get(first["next"]).json()
    assert second["page"] == 2 and "previous" in second
    everything = api.all_values(COMMENTS, pagelen=2)
    assert len(everything) == 6 and [c["id"] for c in everything] == sorted(c["id"] for c in everything)
    assert [c["content"]["raw"] for c in everything if MARKER in c["content"]["raw"]] == [f"{MARKER} status"]


def test_pagelen_is_clamped_to_the_published_range(api: Api, emu: BitbucketEmulator) -> None:
    for n in range(12):
        emu.add_comment(WS, REPO, SAMPLE_OPEN_PR, f"comment {n}")
    assert api.repo("GET", COMMENTS, params={"pagelen": 2}).json()["pagelen"] == 10  # minimum 10
    big = api.repo("GET", COMMENTS, params={"pagelen": 500}).json()
    assert big["pagelen"] == 100 and len(big["values"]) == 13 and "next" not in big


def test_marker_query_finds_only_live_bot_comments(api: Api, emu: BitbucketEmulator) -> None:
    keep = api.repo("POST", COMMENTS, json={"content": {"raw": f"{MARKER} keep"}}).json()
    gone = api.repo("POST", COMMENTS, json={"content": {"raw": f"{MARKER} duplicate"}}).json()
    assert api.repo("DELETE", f"{COMMENTS}/{gone['id']}").status_code == 204
    query = f'content.raw ~ "{MARKER}" AND deleted = false'
    found = api.all_values(COMMENTS, q=query)
    assert [c["id"] for c in found] == [keep["id"]]
    by_user = api.all_values(COMMENTS, q=f'user.uuid = "{keep["user"]["uuid"]}"', sort="-created_on")
    assert [c["id"] for c in by_user] == [gone["id"], keep["id"]]


def test_a_deleted_comment_stays_listed_as_deleted_with_no_content(api: Api, emu: BitbucketEmulator) -> None:
    created = api.repo("POST", COMMENTS, json={"content": {"raw": f"{MARKER} x"}}).json()
    assert api.repo("DELETE", f"{COMMENTS}/{created['id']}").status_code == 204
    listed = {c["id"]: c for c in api.all_values(COMMENTS)}
    assert listed[created["id"]]["deleted"] is True and listed[created["id"]]["content"]["raw"] == ""
    assert api.repo("PUT", f"{COMMENTS}/{created['id']}", json={"content": {"raw": "y"}}).status_code == 404
    assert api.repo("DELETE", f"{COMMENTS}/{created['id']}").status_code == 404
    assert [c.deleted for c in emu.comments(WS, REPO, SAMPLE_OPEN_PR, include_deleted=True)] == [False, True]


@pytest.mark.bitbucket_emulator(readings=Readings(deleted_comments="gone"))
def test_deleted_comments_can_be_read_as_gone(api: Api) -> None:
    created = api.repo("POST", COMMENTS, json={"content": {"raw": "short-lived"}}).json()
    api.repo("DELETE", f"{COMMENTS}/{created['id']}")
    assert api.repo("GET", f"{COMMENTS}/{created['id']}").status_code == 404
    assert created["id"] not in [c["id"] for c in api.all_values(COMMENTS)]


def test_only_the_author_may_change_a_comment(api: Api, emu: BitbucketEmulator) -> None:
    human = emu.comments(WS, REPO, SAMPLE_OPEN_PR)[0]
    reply = api.repo("PUT", f"{COMMENTS}/{human.id}", json={"content": {"raw": "hijacked"}})
    assert reply.status_code == 403 and "access" in error_message(reply)
    assert api.repo("DELETE", f"{COMMENTS}/{human.id}").status_code == 403
    assert emu.comments(WS, REPO, SAMPLE_OPEN_PR)[0].raw == "Looks good to me."


def test_comments_of_missing_pull_requests_and_comments_are_404(api: Api) -> None:
    assert api.repo("GET", f"/pullrequests/{SAMPLE_DELETED_PR}/comments").status_code == 404
    assert api.repo("POST", "/pullrequests/999/comments", json={"content": {"raw": "x"}}).status_code == 404
    reply = api.repo("GET", f"{COMMENTS}/424242")
    assert reply.status_code == 404 and "424242" in error_message(reply)


def test_commenting_on_a_merged_pull_request_works(api: Api) -> None:
    reply = api.repo("POST", f"/pullrequests/{SAMPLE_MERGED_PR}/comments", json={"content": {"raw": "Released"}})
    assert reply.status_code == 201


@pytest.mark.bitbucket_emulator(allow_spec_violations=True)
def test_a_comment_needs_content_raw(api: Api, emu: BitbucketEmulator) -> None:
    assert api.repo("POST", COMMENTS, json={"content": {"raw": "   "}}).status_code == 400
    reply = api.repo("POST", COMMENTS, json={"content": {"raw": "x", "colour": "red"}})
    assert reply.status_code == 400  # content is additionalProperties: false in the spec
    assert any("'colour' was unexpected" in v for v in emu.take_spec_violations())


def test_a_reply_names_its_parent(api: Api, emu: BitbucketEmulator) -> None:
    parent = emu.comments(WS, REPO, SAMPLE_OPEN_PR)[0]
    reply = api.repo("POST", COMMENTS, json={"content": {"raw": "thanks"}, "parent": {"id": parent.id}})
    assert reply.status_code == 201 and reply.json()["parent"]["id"] == parent.id
    assert api.repo("POST", COMMENTS, json={"content": {"raw": "x"}, "parent": {"id": 1}}).status_code == 400
