"""Fixtures for the Bitbucket emulator's own tests (all over real HTTP with `requests`)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from testkit.emulators.bitbucket import BitbucketEmulator
from testkit.emulators.bitbucket import fixtures as bb

# A non-root conftest may not declare pytest_plugins, so the plugin's names are re-exported here.
bitbucket_emulator = bb.bitbucket_emulator
bitbucket_emulator_factory = bb.bitbucket_emulator_factory
pytest_configure = bb.pytest_configure

WS, REPO = bb.SAMPLE_WORKSPACE, bb.SAMPLE_REPO
MAIN = bb.SAMPLE_MAIN_HEAD
FEATURE = bb.SAMPLE_FEATURE_HEAD
REPO_PATH = f"/repositories/{WS}/{REPO}"


class Api:
    """A tiny client: base URL + optional bearer token (or the auth proxy), JSON helpers."""

    def __init__(self, base_url: str, token: str | None = None, proxy: str | None = None):
        self.base = base_url
        self.session = requests.Session()
        if token is not None:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if proxy is not None:
            self.session.proxies = {"http": proxy}

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 5)
        url = path if path.startswith("http") else self.base + path
        return self.session.request(method, url, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def repo(self, method: str, path: str = "", **kwargs: Any) -> requests.Response:
        """A request below the sample repository."""
        return self.request(method, REPO_PATH + path, **kwargs)

    def all_values(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Follow `next` links to the end of a collection."""
        values: list[dict[str, Any]] = []
        reply = self.repo("GET", path, params=params)
        while True:
            assert reply.status_code == 200, reply.text
            page = reply.json()
            values.extend(page["values"])
            if "next" not in page:
                return values
            reply = self.get(page["next"])


def error_message(reply: requests.Response) -> str:
    body = reply.json()
    assert body["type"] == "error" and set(body) == {"type", "error"}, body
    return str(body["error"]["message"])


@pytest.fixture
def emu(request: pytest.FixtureRequest, bitbucket_emulator_factory: bb.EmulatorFactory) -> BitbucketEmulator:
    """The sample seed; options from the test's `bitbucket_emulator` marker."""
    return bitbucket_emulator_factory(**bb.marker_options(request))


@pytest.fixture
def api(emu: BitbucketEmulator) -> Api:
    """The sample repository's token with pullrequest, repository:write and pipeline:write."""
    return Api(emu.url, bb.SAMPLE_FULL_TOKEN)


@pytest.fixture
def read_api(emu: BitbucketEmulator) -> Api:
    """A token with only `repository`."""
    return Api(emu.url, bb.SAMPLE_READ_TOKEN)
