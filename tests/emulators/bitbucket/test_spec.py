"""The Swagger 2.0 contract: how the file is read, and that violations are caught and fail tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from testkit.emulators.bitbucket import BitbucketEmulator
from testkit.emulators.bitbucket.routes import ROUTES
from testkit.emulators.bitbucket.spec import SPEC_ENV, SpecContract, default_spec_path, load_contract
from testkit.emulators.bitbucket.spec_fixes import FIXES
from tests.emulators.bitbucket.conftest import MAIN, REPO_PATH, Api

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def contract() -> SpecContract:
    return load_contract(str(default_spec_path()))


def test_spec_location_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(SPEC_ENV, raising=False)
    assert default_spec_path() == REPO / "testkit" / "specs" / "bitbucket-openapi-2.0.json"
    monkeypatch.setenv(SPEC_ENV, str(tmp_path / "missing.json"))
    with pytest.raises(FileNotFoundError, match=SPEC_ENV):
        load_contract(str(default_spec_path()))


def test_the_whole_file_is_read_and_operations_without_an_id_get_a_key(contract: SpecContract) -> None:
    assert len(contract.operations) == 322 and contract.base_path == "/2.0"
    unnamed = [op for op in contract.operations if op.operation_id is None]
    assert len(unnamed) == 232
    comment = contract.operation(
        "PUT", "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/comments/{comment_id}"
    )
    assert (
        comment.key == "PUT /repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}/comments/{comment_id}"
    )
    assert comment.oauth_scopes == ("pullrequest",)
    assert len(FIXES) == 6


def test_every_route_is_an_operation_of_the_spec(contract: SpecContract) -> None:
    for method, template in ROUTES:
        assert contract.operation(method, template).template == template


def test_polymorphism_follows_the_discriminator(contract: SpecContract) -> None:
    good = {"type": "pipeline", "state": {"type": "pipeline_state_completed", "name": "COMPLETED"}}
    assert contract.validate_definition("pipeline", good) == []
    bad = {"type": "pipeline", "state": {"type": "pipeline_state_pending", "name": "COMPLETED"}}
    assert contract.validate_definition("pipeline", bad) == [
        "pipeline $.state.name: 'COMPLETED' is not one of ['PENDING']"
    ]
    target = {"type": "pipeline", "target": {"type": "pipeline_ref_target", "ref_type": "trunk"}}
    assert (
        "is not one of ['branch', 'tag', 'named_branch', 'bookmark']"
        in contract.validate_definition("pipeline", target)[0]
    )


def test_type_is_required_in_responses_but_not_in_requests(contract: SpecContract) -> None:
    comment = {"content": {"raw": "hello"}}
    assert contract.validate_definition("pullrequest_comment", comment, request=True) == []
    assert contract.validate_definition("pullrequest_comment", comment) == [
        "pullrequest_comment: 'type' is a required property"
    ]


@pytest.mark.parametrize("value", [True, 3, 2.5, "text", {"text": "run", "href": "https://example.com"}])
def test_report_data_values_are_what_the_description_lists(contract: SpecContract, value: Any) -> None:
    report = {"type": "report", "data": [{"title": "x", "value": value}]}
    assert contract.validate_definition("report", report) == []


def test_the_live_error_and_participant_shapes_are_allowed(contract: SpecContract) -> None:
    scopes = {"type": "error", "error": {"message": "m", "detail": {"required": ["a"], "granted": []}}}
    assert contract.validate_definition("error", scopes) == []
    assert contract.validate_definition("error", {"type": "error", "error": {"message": "m", "extra": 1}}) != []
    assert contract.validate_definition("participant", {"type": "participant", "state": None}) == []


def test_matching(contract: SpecContract) -> None:
    match = contract.match("POST", "/repositories/acme/widgets/pipelines/")
    assert match is not None and match.operation.key == "createPipelineForRepository"
    branch = contract.match("GET", "/repositories/acme/widgets/refs/branches/feature/a/b")
    assert branch is not None and branch.path_params["name"] == "feature/a/b"
    encoded = contract.match("GET", "/repositories/acme/widgets/refs/branches/feature%2Fa")
    assert encoded is not None and encoded.path_params["name"] == "feature/a"
    assert contract.match("PATCH", "/repositories/acme/widgets") is None
    assert contract.path_exists("/repositories/acme/widgets")


def test_a_mistyped_path_parameter_is_404_and_recorded(api: Api, emu: BitbucketEmulator) -> None:
    assert api.repo("GET", "/pullrequests/seven").status_code == 404
    assert emu.take_spec_violations() == [
        "GET /repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id} request path.pull_request_id: "
        "'seven' is not of type 'integer'"
    ]


def test_unknown_query_parameters_are_recorded_but_ignored(api: Api, emu: BitbucketEmulator) -> None:
    assert api.repo("GET", "/pullrequests/7", params={"fields": "id"}).status_code == 200
    assert api.repo("GET", "/refs/branches", params={"pagelen": 10, "q": 'name ~ "x"'}).status_code == 200
    assert emu.take_spec_violations() == [
        "GET /repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id} request query: "
        "unknown query parameter 'fields'"
    ]


def test_the_pipelines_list_takes_its_own_filters_not_q(api: Api, emu: BitbucketEmulator) -> None:
    assert api.repo("GET", "/pipelines", params={"q": 'state.name = "PENDING"'}).status_code == 200
    assert emu.take_spec_violations() == ["getPipelinesForRepository request query: unknown query parameter 'q'"]


def test_declared_query_parameters_are_validated(api: Api, emu: BitbucketEmulator) -> None:
    assert api.repo("GET", "/pipelines", params={"sort": "-created_on"}).status_code == 200  # "-" is descending
    assert api.repo("GET", "/pipelines", params={"status": "GREEN"}).status_code == 400
    assert api.repo("GET", "/refs/branches", params={"pagelen": "many"}).status_code == 400
    violations = emu.take_spec_violations()
    assert len(violations) == 2 and "'GREEN' is not one of" in violations[0] and "'many'" in violations[1]


def test_requests_that_match_no_operation_are_recorded(api: Api, emu: BitbucketEmulator) -> None:
    assert api.get("/no/such/thing").status_code == 404
    assert api.request("PATCH", REPO_PATH).status_code == 405
    assert api.get(api.base.removesuffix("/2.0") + "/1.0/user").status_code == 404  # outside the base path
    assert len(emu.take_spec_violations()) == 3


def test_operations_that_are_not_emulated_fail_loudly(api: Api, emu: BitbucketEmulator) -> None:
    reply = api.repo("POST", f"/commit/{MAIN}/statuses/build", json={"key": "k", "state": "SUCCESSFUL"})
    assert reply.status_code == 404 and "does not implement" in reply.json()["error"]["message"]
    assert emu.take_spec_violations() == [
        "POST /repositories/{workspace}/{repo_slug}/commit/{commit}/statuses/build is in the spec but not emulated"
    ]


def test_a_broken_response_is_recorded(api: Api, emu: BitbucketEmulator) -> None:
    def break_state(route: str, status: int, body: Any) -> Any:
        return {**body, "state": "WAITING"} if route == "getPullRequest" else body

    emu.add_response_hook(break_state)
    assert api.repo("GET", "/pullrequests/7").status_code == 200
    assert emu.take_spec_violations() == [
        "GET /repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id} response 200 body $.state: "
        "'WAITING' is not one of ['OPEN', 'MERGED', 'DECLINED', 'SUPERSEDED']"
    ]


def test_response_status_body_and_headers_are_checked(contract: SpecContract) -> None:
    create = contract.operation("POST", "/repositories/{workspace}/{repo_slug}/pipelines")
    body = json.dumps({"type": "pipeline"}).encode()
    assert contract.check_response(create, 201, body, {"Location": "http://x/1"}) == []
    assert contract.check_response(create, 201, body, {}) == [
        "createPipelineForRepository response 201: declared header 'Location' is missing"
    ]
    assert contract.check_response(create, 418, body, {}) == [
        "createPipelineForRepository response 418: status 418 is not declared for this operation"
    ]
    delete = contract.operation("DELETE", "/repositories/{workspace}/{repo_slug}/commit/{commit}/reports/{reportId}")
    assert contract.check_response(delete, 204, b"{}", {}) == [
        "deleteReport response 204: a body was sent with 204 No Content"
    ]


def test_the_fixture_fails_a_test_that_leaves_violations(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from testkit.emulators.bitbucket.fixtures import "
        "bitbucket_emulator, bitbucket_emulator_factory, pytest_configure\n"
    )
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent("""
        import pytest, requests

        def _bad(emu):
            requests.get(emu.url + "/repositories/acme/widgets", params={"bogus": "1"},
                         headers={"Authorization": "Bearer fake-bitbucket-token-full"}, timeout=5)

        def test_leaves_a_violation(bitbucket_emulator):
            _bad(bitbucket_emulator)

        @pytest.mark.bitbucket_emulator(allow_spec_violations=True)
        def test_opted_out(bitbucket_emulator):
            _bad(bitbucket_emulator)
    """)
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "2 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "ERROR at teardown of test_leaves_a_violation" in result.stdout
    assert "unknown query parameter 'bogus'" in result.stdout
