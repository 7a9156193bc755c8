"""Fixtures for the Coda emulator's own tests (all over real HTTP with `requests`)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import requests

from testkit.emulators.coda import fixtures as coda_fixtures
from testkit.emulators.coda.emulator import CodaEmulator

# A non-root conftest may not declare pytest_plugins, so the plugin's names are re-exported here.
coda_emulator = coda_fixtures.coda_emulator
coda_emulator_factory = coda_fixtures.coda_emulator_factory
pytest_configure = coda_fixtures.pytest_configure

DOC = coda_fixtures.SAMPLE_DOC_ID
TABLE = coda_fixtures.SAMPLE_TABLE
PAGE = coda_fixtures.SAMPLE_PAGE


def fake_token(label: str = "test") -> str:
    """An obviously fake token, made at run time."""
    return f"fake-coda-{label}-{secrets.token_hex(6)}"


class Api:
    """A tiny client: base URL + bearer token, JSON helpers, mutation polling."""

    def __init__(self, base_url: str, token: str):
        self.base = base_url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

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

    def wait(self, response: requests.Response | str, timeout: float = 5.0) -> dict[str, Any]:
        """Poll getMutationStatus until completed; returns the last status body."""
        request_id = response if isinstance(response, str) else response.json()["requestId"]
        deadline = time.monotonic() + timeout
        while True:
            reply = self.get(f"/mutationStatus/{request_id}")
            if reply.status_code == 200 and reply.json()["completed"]:
                return reply.json()
            if time.monotonic() > deadline:
                raise AssertionError(f"mutation {request_id} did not complete: {reply.status_code} {reply.text}")
            time.sleep(0.01)

    def rows(self, table: str = TABLE, **params: Any) -> list[dict[str, Any]]:
        reply = self.get(f"/docs/{DOC}/tables/{table}/rows", params={"useColumnNames": "true", **params})
        assert reply.status_code == 200, reply.text
        return reply.json()["items"]

    def upsert(
        self, rows: list[dict[str, Any]], key_columns: list[str] | None = None, table: str = TABLE, **params: Any
    ) -> requests.Response:
        body: dict[str, Any] = {"rows": [{"cells": [{"column": k, "value": v} for k, v in r.items()]} for r in rows]}
        if key_columns is not None:
            body["keyColumns"] = key_columns
        return self.post(f"/docs/{DOC}/tables/{table}/rows", json=body, params=params)


@pytest.fixture
def emu(request: pytest.FixtureRequest, coda_emulator_factory: coda_fixtures.EmulatorFactory) -> CodaEmulator:
    """The sample seed, rate limits off unless the test's marker sets them."""
    options = {"rate_limits": None, "seed": coda_fixtures.SAMPLE_SEED_PATH, **coda_fixtures.marker_options(request)}
    return coda_emulator_factory(**options)


@pytest.fixture
def token(emu: CodaEmulator) -> str:
    value = fake_token()
    emu.add_token(value)
    return value


@pytest.fixture
def api(emu: CodaEmulator, token: str) -> Api:
    return Api(emu.url, token)
