"""The Pipelines auth proxy: plain HTTP, no credentials, Code Insights of the pipeline's repository only."""

from __future__ import annotations

import socket

import pytest
import requests

from testkit.emulators.bitbucket import BitbucketEmulator, Limits, ProxyConfig
from testkit.emulators.bitbucket.fixtures import SAMPLE_OPEN_PR, SAMPLE_OTHER_REPO, sample_proxy
from tests.emulators.bitbucket.conftest import MAIN, REPO, WS, Api

UPSTREAM = "http://api.bitbucket.org/2.0"
REPORT = f"/repositories/{WS}/{REPO}/commit/{MAIN}/reports/acs-1"


@pytest.fixture
def proxied(emu: BitbucketEmulator) -> Api:
    """What a pipe does: `http://api.bitbucket.org/…` through `proxies={"http": …}`, no Authorization."""
    return Api(UPSTREAM, proxy=emu.proxy_url)


pytestmark = pytest.mark.bitbucket_emulator(proxy=True)


def test_code_insights_work_through_the_proxy_without_credentials(proxied: Api, emu: BitbucketEmulator) -> None:
    reply = proxied.put(REPORT, json={"title": "Release sync", "result": "PASSED"})
    assert reply.status_code == 200
    assert reply.json()["external_id"] == "acs-1"
    annotations = [{"external_id": "a1", "summary": "s", "severity": "LOW", "path": "x.py", "line": 2}]
    assert proxied.post(REPORT + "/annotations", json=annotations).status_code == 200
    listed = proxied.get(REPORT + "/annotations").json()
    assert [a["external_id"] for a in listed["values"]] == ["a1"]
    assert emu.report(WS, REPO, MAIN, "acs-1").annotations["a1"].fields["line"] == 2
    logged = emu.requests[-1]
    assert (
        logged.listener == "proxy"
        and logged.identity == "Bitbucket Pipelines"
        and "authorization" not in logged.headers
    )


@pytest.mark.bitbucket_emulator(proxy=True, limits=Limits(pagelen_min=1))
def test_links_lead_back_through_the_proxy(proxied: Api) -> None:
    proxied.put(REPORT, json={"title": "t"})
    annotations = [{"external_id": f"a{n}", "summary": "s"} for n in range(3)]
    proxied.post(REPORT + "/annotations", json=annotations)
    first = proxied.get(REPORT + "/annotations", params={"pagelen": 2}).json()
    assert first["next"].startswith(UPSTREAM + REPORT + "/annotations?")
    second = proxied.get(first["next"])
    assert second.status_code == 200 and [a["external_id"] for a in second.json()["values"]] == ["a2"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/repositories/{WS}/{REPO}/pullrequests/{SAMPLE_OPEN_PR}/comments"),
        ("POST", f"/repositories/{WS}/{REPO}/pipelines/"),
        ("GET", f"/repositories/{WS}/{REPO}/refs/branches"),
        ("PUT", f"/repositories/{WS}/{SAMPLE_OTHER_REPO}/commit/{MAIN}/reports/x"),  # another repository
    ],
)
def test_everything_else_is_refused(proxied: Api, emu: BitbucketEmulator, method: str, path: str) -> None:
    reply = proxied.request(method, path, json={"title": "x"} if method != "GET" else None)
    assert reply.status_code == 403
    body = reply.json()
    assert body["type"] == "error" and body["error"]["message"] == "Forbidden"
    assert "auth proxy" in body["error"]["detail"]
    assert emu.repository(WS, REPO).pipelines == []


def test_client_credentials_do_not_widen_what_the_proxy_allows(emu: BitbucketEmulator) -> None:
    with_token = Api(UPSTREAM, token="fake-bitbucket-token-full", proxy=emu.proxy_url)
    reply = with_token.get(f"/repositories/{WS}/{REPO}/pullrequests/{SAMPLE_OPEN_PR}")
    assert reply.status_code == 403 and emu.requests[-1].identity == "Bitbucket Pipelines"


def test_the_origin_form_also_works(emu: BitbucketEmulator) -> None:
    direct = Api(emu.proxy_url + "/2.0")
    assert direct.put(REPORT, json={"title": "t"}).status_code == 200


def test_other_upstream_hosts_and_https_are_refused(emu: BitbucketEmulator) -> None:
    other = Api("http://example.com/2.0", proxy=emu.proxy_url)
    assert other.put(REPORT, json={"title": "t"}).status_code == 403
    host, port = emu.proxy_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"CONNECT api.bitbucket.org:443 HTTP/1.1\r\nHost: api.bitbucket.org:443\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 403")
    assert emu.reports(WS, REPO) == []


def test_the_api_listener_still_needs_a_token(emu: BitbucketEmulator) -> None:
    assert requests.put(emu.url + REPORT, json={"title": "t"}, timeout=5).status_code == 401


@pytest.mark.bitbucket_emulator(proxy=sample_proxy(allow=frozenset({"code_insights", "pullrequest_comments"})))
def test_the_allow_list_is_configurable(proxied: Api, emu: BitbucketEmulator) -> None:
    path = f"/repositories/{WS}/{REPO}/pullrequests/{SAMPLE_OPEN_PR}/comments"
    reply = proxied.post(path, json={"content": {"raw": "via the proxy"}})
    assert reply.status_code == 201 and reply.json()["user"]["display_name"] == "Bitbucket Pipelines"
    assert proxied.get(f"/repositories/{WS}/{REPO}/pullrequests/{SAMPLE_OPEN_PR}").status_code == 403


def test_unknown_families_are_rejected_when_configuring() -> None:
    with pytest.raises(ValueError, match="unknown route families"):
        ProxyConfig(WS, REPO, allow=frozenset({"statuses"}))


def test_without_a_proxy_config_there_is_no_proxy_listener(bitbucket_emulator_factory: object) -> None:
    emu = bitbucket_emulator_factory()  # type: ignore[operator]
    with pytest.raises(RuntimeError, match="proxy"):
        _ = emu.proxy_url
