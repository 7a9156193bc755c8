"""Bearer access tokens: 401 without a valid one, the live 403 body for a missing scope, repository reach."""

from __future__ import annotations

import pytest
import requests

from testkit.emulators.bitbucket import BitbucketEmulator
from testkit.emulators.bitbucket.auth import granted
from testkit.emulators.bitbucket.errors import INVALID_TOKEN, MISSING_SCOPES
from testkit.emulators.bitbucket.fixtures import SAMPLE_OPEN_PR, SAMPLE_OTHER_REPO, SAMPLE_OTHER_REPO_TOKEN
from tests.emulators.bitbucket.conftest import REPO, REPO_PATH, WS, Api, error_message


@pytest.mark.parametrize(
    "header", [None, "Bearer fake-bitbucket-token-unknown", "Basic ZGV2QGV4YW1wbGUuY29tOnRva2Vu", "Bearer"]
)
def test_missing_or_invalid_credentials_are_401(emu: BitbucketEmulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    reply = requests.get(emu.url + REPO_PATH + f"/pullrequests/{SAMPLE_OPEN_PR}", headers=headers, timeout=5)
    assert reply.status_code == 401 and reply.json()["type"] == "error"
    if header:
        assert error_message(reply) == INVALID_TOKEN
    assert emu.requests[-1].identity is None and emu.requests[-1].status == 401


def test_a_missing_scope_gets_the_live_403_body(read_api: Api) -> None:
    reply = read_api.repo("GET", f"/pullrequests/{SAMPLE_OPEN_PR}/comments")
    assert reply.status_code == 403
    assert reply.json() == {
        "type": "error",
        "error": {"message": MISSING_SCOPES, "detail": {"required": ["pullrequest"], "granted": ["repository"]}},
    }


def test_scopes_grant_what_they_imply(emu: BitbucketEmulator) -> None:
    assert granted(frozenset({"pullrequest:write"})) >= {"pullrequest", "repository:write", "repository"}
    assert "repository:write" not in granted(frozenset({"pullrequest"}))
    assert granted(frozenset({"repository:admin"})) == {"repository:admin"}
    writer = Api(emu.url, emu.add_token(WS, REPO, scopes=["pullrequest:write"]))
    assert writer.repo("GET", "/refs/branches").status_code == 200  # repository via pullrequest
    assert writer.repo("POST", f"/pullrequests/{SAMPLE_OPEN_PR}/comments", json={"content": {"raw": "x"}}).ok


def test_each_operation_needs_the_scope_the_spec_names(emu: BitbucketEmulator) -> None:
    pipeline_only = Api(emu.url, emu.add_token(WS, REPO, scopes=["pipeline:write"]))
    assert pipeline_only.repo("GET", f"/pullrequests/{SAMPLE_OPEN_PR}").status_code == 403  # pullrequest
    assert pipeline_only.repo("PUT", "/commit/3f786850e387/reports/x", json={"title": "t"}).status_code == 403
    assert pipeline_only.repo("GET", "/pipelines").status_code == 200


def test_a_repository_token_reaches_only_its_repository(emu: BitbucketEmulator) -> None:
    other = Api(emu.url, SAMPLE_OTHER_REPO_TOKEN)
    assert other.get(f"/repositories/{WS}/{SAMPLE_OTHER_REPO}").status_code == 200
    reply = other.repo("GET", f"/pullrequests/{SAMPLE_OPEN_PR}")
    assert reply.status_code == 403 and error_message(reply) == "Forbidden"


def test_a_workspace_token_reaches_every_repository_of_its_workspace(emu: BitbucketEmulator) -> None:
    token = emu.add_token(WS, scopes=["repository"], name="Workspace bot")
    api = Api(emu.url, token)
    assert api.get(f"/repositories/{WS}/{REPO}").status_code == 200
    assert api.get(f"/repositories/{WS}/{SAMPLE_OTHER_REPO}").status_code == 200
    assert api.get("/repositories/elsewhere/thing").status_code in (403, 404)


def test_tokens_are_checked_against_the_scopes_a_repository_token_can_have(emu: BitbucketEmulator) -> None:
    with pytest.raises(ValueError, match="scope"):
        emu.add_token(WS, REPO, scopes=["account"])  # a workspace-token scope
    assert emu.add_token(WS, scopes=["account"])


def test_unknown_repositories_are_404(api: Api) -> None:
    assert api.get(f"/repositories/{WS}/nope").status_code == 404


def test_workspace_and_repository_can_be_named_by_uuid(api: Api, emu: BitbucketEmulator) -> None:
    repo = emu.repository(WS, REPO)
    workspace_uuid = emu.backend.world.workspaces[WS].uuid
    assert api.get(f"/repositories/{workspace_uuid}/{repo.uuid}").json()["full_name"] == f"{WS}/{REPO}"
