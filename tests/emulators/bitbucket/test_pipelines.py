"""Triggering a custom pipeline with variables, reading runs back."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from testkit.emulators.bitbucket import BitbucketEmulator
from testkit.emulators.bitbucket.fixtures import SAMPLE_CUSTOM_PIPELINE
from tests.emulators.bitbucket.conftest import MAIN, REPO, WS, Api, error_message


def custom(pattern: str = SAMPLE_CUSTOM_PIPELINE, ref: str = "main", **extra: Any) -> dict[str, Any]:
    return {
        "target": {
            "type": "pipeline_ref_target",
            "ref_type": "branch",
            "ref_name": ref,
            "selector": {"type": "custom", "pattern": pattern},
        },
        "variables": [
            {"key": "AIRTABLE_RECORD_ID", "value": "recABC"},
            {"key": "SECRET", "value": "s3cr3t", "secured": True},
        ],
        **extra,
    }


@pytest.mark.parametrize("path", ["/pipelines/", "/pipelines"])
def test_trigger_a_custom_pipeline_with_variables(api: Api, emu: BitbucketEmulator, path: str) -> None:
    reply = api.repo("POST", path, json=custom())
    assert reply.status_code == 201
    run = reply.json()
    assert run["state"] == {"type": "pipeline_state_pending", "name": "PENDING"}
    assert run["target"]["selector"] == {"type": "custom", "pattern": SAMPLE_CUSTOM_PIPELINE}
    assert run["target"]["commit"]["hash"] == MAIN  # the branch head
    assert [(v["key"], v["value"], v["secured"]) for v in run["variables"]] == [
        ("AIRTABLE_RECORD_ID", "recABC", False),
        ("SECRET", "", True),  # "If the variable is secured, this will be empty"
    ]
    assert reply.headers["Location"].endswith("/pipelines/" + quote(run["uuid"], safe=""))
    stored = emu.pipeline_runs(WS, REPO)
    assert len(stored) == 1 and stored[0].variables[1]["value"] == "s3cr3t"
    assert stored[0].selector["pattern"] == SAMPLE_CUSTOM_PIPELINE


def test_build_numbers_count_up_and_runs_are_read_back(api: Api, emu: BitbucketEmulator) -> None:
    first = api.repo("POST", "/pipelines/", json=custom()).json()
    second = api.repo("POST", "/pipelines/", json=custom("deploy-to-staging", ref="feature/ABC-1-login")).json()
    assert (first["build_number"], second["build_number"]) == (1, 2)
    got = api.get(api.repo("POST", "/pipelines/", json=custom()).headers["Location"])
    assert got.status_code == 200 and got.json()["build_number"] == 3
    only = api.all_values("/pipelines", **{"target.selector.pattern": "deploy-to-staging"})
    assert [r["build_number"] for r in only] == [2]
    newest = api.all_values("/pipelines", sort="-created_on")
    assert [r["build_number"] for r in newest] == [3, 2, 1]


def test_a_run_moved_by_the_test_shows_its_result(api: Api, emu: BitbucketEmulator) -> None:
    run = api.repo("POST", "/pipelines/", json=custom()).json()
    emu.set_pipeline_state(WS, REPO, run["build_number"], "COMPLETED", "SUCCESSFUL")
    state = api.repo("GET", f"/pipelines/{quote(run['uuid'], safe='')}").json()["state"]
    assert state["name"] == "COMPLETED" and state["result"]["name"] == "SUCCESSFUL"
    assert [r["uuid"] for r in api.all_values("/pipelines", status="PASSED")] == [run["uuid"]]
    assert api.all_values("/pipelines", status="PENDING") == []


def test_an_undefined_custom_pipeline_is_400(api: Api, emu: BitbucketEmulator) -> None:
    reply = api.repo("POST", "/pipelines/", json=custom("no-such-pipeline"))
    assert reply.status_code == 400 and "no-such-pipeline" in error_message(reply)
    assert SAMPLE_CUSTOM_PIPELINE in reply.json()["error"]["detail"]
    assert emu.pipeline_runs(WS, REPO) == []


@pytest.mark.parametrize(
    "body",
    [
        custom(ref="no-such-branch"),
        {"target": {"type": "pipeline_pullrequest_target", "source": "x", "destination": "main"}},
        {"variables": []},
        {**custom(), "variables": [{"key": "A", "value": "1"}, {"key": "A", "value": "2"}]},
        {**custom(), "variables": [{"value": "no key"}]},
        {"target": {"type": "pipeline_commit_target", "commit": {"hash": MAIN}}},  # needs a selector
    ],
)
def test_invalid_triggers_are_400(api: Api, body: dict[str, Any]) -> None:
    assert api.repo("POST", "/pipelines/", json=body).status_code == 400


def test_a_commit_target_with_a_selector(api: Api) -> None:
    body = {
        "target": {
            "type": "pipeline_commit_target",
            "commit": {"type": "commit", "hash": MAIN[:10]},
            "selector": {"type": "custom", "pattern": SAMPLE_CUSTOM_PIPELINE},
        }
    }
    reply = api.repo("POST", "/pipelines/", json=body)
    assert reply.status_code == 201 and reply.json()["target"]["commit"]["hash"] == MAIN


def test_a_repository_without_pipelines_refuses(bitbucket_emulator_factory: Any) -> None:
    emu = bitbucket_emulator_factory(seed=None)
    emu.add_workspace("acme")
    emu.add_repository("acme", "quiet", pipelines={"enabled": False})
    token = emu.add_token("acme", "quiet", scopes=["pipeline:write"])
    reply = Api(emu.url, token).post("/repositories/acme/quiet/pipelines/", json=custom())
    assert reply.status_code == 400 and "not enabled" in error_message(reply)


def test_triggering_needs_pipeline_write(read_api: Api, bitbucket_emulator_factory: Any) -> None:
    reply = read_api.repo("POST", "/pipelines/", json=custom())
    assert reply.status_code == 403 and reply.json()["error"]["detail"]["required"] == ["pipeline:write"]
    emu = bitbucket_emulator_factory()
    reader = emu.add_token(WS, REPO, scopes=["pipeline"])
    assert Api(emu.url, reader).repo("GET", "/pipelines").status_code == 200
    assert Api(emu.url, reader).repo("POST", "/pipelines/", json=custom()).status_code == 403
