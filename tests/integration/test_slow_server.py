"""A server that answers one byte a second must not keep the run alive: every request (connecting, the
headers and the whole body) is bounded by the wall clock, by the time budget and by a maximum per request
(pipe.clients.http, pipe.clients.wallclock). Real HTTP over 127.0.0.1 (testkit.slowdrip)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from pipe.clients.airtable import AirtableClient, airtable_policy
from pipe.clients.http import BudgetExceeded, HttpPolicy, RequestTooSlow, session_with_policy
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID
from testkit.slowdrip import SlowDripServer

ROOT = Path(__file__).resolve().parents[2]
MARGIN = 1.5  # seconds a bounded request may overrun its limit (thread wake-up, closing the socket)


@pytest.fixture
def drip():
    with SlowDripServer(interval=0.5, body_bytes=400) as server:
        yield server


def _session(**policy) -> requests.Session:
    return session_with_policy(HttpPolicy(service="Test", sleep=lambda _s: None, **policy))


def _timed(call) -> tuple[BaseException, float]:
    started = time.monotonic()
    with pytest.raises(Exception) as caught:
        call()
    return caught.value, time.monotonic() - started


def test_a_body_sent_one_byte_at_a_time_is_cut_when_the_budget_runs_out(drip):
    session = _session(deadline=time.monotonic() + 2.0, read_timeout=30.0)
    error, elapsed = _timed(lambda: session.get(drip.url + "/v0/meta/whoami"))
    assert isinstance(error, BudgetExceeded)
    assert "Test: GET /v0/meta/whoami was still unanswered when the time budget (TIME_BUDGET) ran out" in str(error)
    assert 1.0 < elapsed < 2.0 + MARGIN


def test_headers_sent_one_byte_at_a_time_are_cut_too():
    with SlowDripServer(interval=0.5, drip_headers=True) as server:
        session = _session(deadline=time.monotonic() + 2.0, read_timeout=30.0)
        error, elapsed = _timed(lambda: session.get(server.url + "/slow-headers"))
    assert isinstance(error, BudgetExceeded)
    assert elapsed < 2.0 + MARGIN


def test_the_maximum_per_request_bounds_each_attempt_and_a_safe_request_is_tried_again(drip):
    session = _session(max_request_seconds=1.0, max_attempts=2, read_timeout=30.0)
    error, elapsed = _timed(lambda: session.get(drip.url + "/rows"))
    assert isinstance(error, RequestTooSlow)
    assert "Test: GET /rows took longer than 1s (connecting, sending and reading the whole answer)" in str(error)
    assert len(drip.requests) == 2
    assert elapsed < 2 * 1.0 + MARGIN


def test_a_request_that_is_not_replay_safe_is_not_sent_again_after_the_maximum(drip):
    session = _session(max_request_seconds=1.0, max_attempts=3)
    error, _ = _timed(lambda: session.post(drip.url + "/create", json={"a": 1}))
    assert isinstance(error, RequestTooSlow)
    assert drip.requests == ["POST /create HTTP/1.1"]


def test_a_quick_answer_after_a_cut_one_uses_a_fresh_connection(airtable_emulator, drip):
    session = _session(max_request_seconds=1.0, max_attempts=1)
    with pytest.raises(RequestTooSlow):
        session.get(drip.url + "/slow")
    assert session.get(airtable_emulator.url + "/v0/meta/whoami").status_code == 401  # no token: answered


def test_the_budget_is_read_from_the_injectable_clock(drip):
    now = [1000.0]
    policy = HttpPolicy(service="Test", clock=lambda: now[0], deadline=1005.0, max_request_seconds=60.0)
    assert policy.time_allowed() == (5.0, True)
    now[0] = 1006.0
    with pytest.raises(BudgetExceeded):
        session_with_policy(policy).get(drip.url + "/never-sent")
    assert drip.requests == []


def test_the_airtable_client_stops_at_the_budget_with_a_clear_message(drip):
    policy = airtable_policy(30.0, deadline=time.monotonic() + 2.0)
    client = AirtableClient("patFake", SAMPLE_BASE_ID, "Work Items", drip.url, policy)
    error, elapsed = _timed(client.schema)
    assert isinstance(error, BudgetExceeded)
    assert f"Airtable: GET /v0/meta/bases/{SAMPLE_BASE_ID}/tables was still unanswered" in str(error)
    assert elapsed < 2.0 + MARGIN


@pytest.mark.slow
def test_a_whole_run_against_a_dripping_server_ends_within_the_budget(git_repo_builder, tmp_path):
    repo = git_repo_builder("product")
    repo.commit("chore: base", {"a": "1"})
    repo.branch("feature/FEAT-107-docs")
    repo.commit("docs: limits FEAT-107", {"b": "1"})
    budget = 4.0
    with SlowDripServer(interval=1.0, body_bytes=120) as server:
        env = {
            **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
            "PYTHONPATH": str(ROOT),
            "AIRTABLE_TOKEN": "fake-airtable-token-readwrite",
            "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
            "AIRTABLE_TABLE": "Work Items",
            "AIRTABLE_API_URL": server.url,
            "KEY_PATTERN": r"FEAT-\d+",
            "KEY_FIELD": "Key",
            "BITBUCKET_BRANCH": "feature/FEAT-107-docs",
            "BITBUCKET_COMMIT": repo.head(),
            "TIME_BUDGET": str(budget),
        }
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pipe"],
            cwd=repo.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=budget + 30,
        )
        elapsed = time.monotonic() - started
    assert done.returncode == 1, done.stdout + done.stderr
    assert "was still unanswered when the time budget (TIME_BUDGET) ran out" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    # the budget starts after the configuration and git are read (about a second, with Python's start-up)
    assert elapsed < budget + 4.0, f"the run took {elapsed:.1f}s with TIME_BUDGET={budget}"
