"""Branches: create from a commit, find an existing one by prefix, get, delete."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from testkit.emulators.bitbucket import BitbucketEmulator, Readings
from tests.emulators.bitbucket.conftest import FEATURE, MAIN, REPO, WS, Api, error_message


def test_create_a_branch_from_a_full_hash(api: Api, emu: BitbucketEmulator) -> None:
    reply = api.repo("POST", "/refs/branches", json={"name": "release/1.4.0", "target": {"hash": MAIN}})
    assert reply.status_code == 201
    branch = reply.json()
    assert branch["type"] == "branch" and branch["name"] == "release/1.4.0"
    assert branch["target"]["hash"] == MAIN and branch["target"]["type"] == "commit"
    assert emu.branches(WS, REPO)["release/1.4.0"] == MAIN


def test_a_unique_short_hash_is_accepted(api: Api, emu: BitbucketEmulator) -> None:
    reply = api.repo("POST", "/refs/branches", json={"name": "hotfix", "target": {"hash": FEATURE[:7]}})
    assert reply.status_code == 201 and emu.branches(WS, REPO)["hotfix"] == FEATURE


def test_an_ambiguous_short_hash_is_400(api: Api, emu: BitbucketEmulator) -> None:
    emu.add_commit(WS, REPO, "twin", hash=MAIN[:8] + "0" * 32)
    reply = api.repo("POST", "/refs/branches", json={"name": "x", "target": {"hash": MAIN[:8]}})
    assert reply.status_code == 400 and "ambiguous" in error_message(reply)


def test_an_unknown_commit_is_404(api: Api) -> None:
    assert api.repo("POST", "/refs/branches", json={"name": "x", "target": {"hash": "f" * 40}}).status_code == 404


def test_an_existing_name_is_400_by_default(api: Api, emu: BitbucketEmulator) -> None:
    reply = api.repo("POST", "/refs/branches", json={"name": "main", "target": {"hash": FEATURE}})
    assert reply.status_code == 400 and "already exists" in error_message(reply)
    assert emu.branches(WS, REPO)["main"] == MAIN


@pytest.mark.bitbucket_emulator(readings=Readings(existing_branch_status=409))
def test_the_existing_name_status_is_configurable(api: Api) -> None:
    assert api.repo("POST", "/refs/branches", json={"name": "main", "target": {"hash": MAIN}}).status_code == 409


@pytest.mark.parametrize("name", ["refs/heads/x", "has space", "a..b", "trailing/"])
def test_invalid_names_are_400(api: Api, name: str) -> None:
    assert api.repo("POST", "/refs/branches", json={"name": name, "target": {"hash": MAIN}}).status_code == 400


@pytest.mark.bitbucket_emulator(allow_spec_violations=True)
def test_the_body_is_checked_with_the_schema_read_from_the_description(api: Api, emu: BitbucketEmulator) -> None:
    assert api.repo("POST", "/refs/branches", json={"name": "x"}).status_code == 400
    assert emu.take_spec_violations() == [
        "POST /repositories/{workspace}/{repo_slug}/refs/branches request body: 'target' is a required property"
    ]


def test_find_existing_branches_by_prefix(api: Api) -> None:
    names = [b["name"] for b in api.all_values("/refs/branches", q='name ~ "feature/abc-1"')]
    assert names == ["feature/ABC-1-login"]  # ~ is case-insensitive contains
    assert [b["name"] for b in api.all_values("/refs/branches", q='name ~ "release/"')] == ["release/v10", "release/v9"]


def test_sort_by_name_is_natural(api: Api) -> None:
    names = [b["name"] for b in api.all_values("/refs/branches", q='name ~ "release/"', sort="name")]
    assert names == ["release/v9", "release/v10"]
    reverse = [b["name"] for b in api.all_values("/refs/branches", q='name ~ "release/"', sort="-name")]
    assert reverse == ["release/v10", "release/v9"]


def test_get_a_branch_with_an_encoded_or_plain_slash(api: Api) -> None:
    encoded = api.repo("GET", "/refs/branches/" + quote("feature/ABC-1-login", safe=""))
    plain = api.repo("GET", "/refs/branches/feature/ABC-1-login")
    assert encoded.status_code == plain.status_code == 200
    assert encoded.json()["target"]["hash"] == plain.json()["target"]["hash"] == FEATURE
    assert api.repo("GET", "/refs/branches/feature/nope").status_code == 404


def test_delete_a_branch(api: Api, emu: BitbucketEmulator) -> None:
    assert api.repo("DELETE", "/refs/branches/feature/ABC-2-search").status_code == 204
    assert "feature/ABC-2-search" not in emu.branches(WS, REPO)
    assert api.repo("DELETE", "/refs/branches/main").status_code == 400


def test_branch_writes_need_repository_write(read_api: Api, emu: BitbucketEmulator) -> None:
    assert read_api.repo("GET", "/refs/branches").status_code == 200
    reply = read_api.repo("POST", "/refs/branches", json={"name": "x", "target": {"hash": MAIN}})
    assert reply.status_code == 403
    assert reply.json()["error"]["detail"] == {"required": ["repository:write"], "granted": ["repository"]}
    assert "x" not in emu.branches(WS, REPO)
