"""Fault injection: error answers, delays, dropped connections before and after applying a write."""

from __future__ import annotations

import pytest
import requests

from testkit.emulators.bitbucket import BitbucketEmulator
from testkit.emulators.bitbucket.errors import RATE_LIMITED_TEXT
from testkit.emulators.bitbucket.fixtures import SAMPLE_FULL_TOKEN, SAMPLE_OPEN_PR, EmulatorFactory
from tests.emulators.bitbucket.conftest import MAIN, REPO, WS, Api

COMMENTS = f"/pullrequests/{SAMPLE_OPEN_PR}/comments"
REPORT = f"/commit/{MAIN}/reports/acs-1"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_faults_answer_before_anything_is_processed(api: Api, emu: BitbucketEmulator, status: int) -> None:
    emu.add_fault("status", status=status, method="POST", path=r"/comments$")
    reply = api.repo("POST", COMMENTS, json={"content": {"raw": "x"}})
    assert reply.status_code == status and reply.json()["type"] == "error"
    assert len(emu.comments(WS, REPO, SAMPLE_OPEN_PR)) == 1  # nothing written
    assert api.repo("POST", COMMENTS, json={"content": {"raw": "x"}}).status_code == 201  # times=1
    assert [(r.fault, r.applied) for r in emu.requests][-2:] == [("status", False), (None, True)]


def test_a_429_fault_looks_like_the_live_one(api: Api, emu: BitbucketEmulator) -> None:
    emu.add_fault("status", status=429, retry_after=3)
    reply = api.repo("GET")
    assert reply.status_code == 429 and reply.text == RATE_LIMITED_TEXT and reply.headers["Retry-After"] == "3"


def test_matching_by_method_path_and_times(api: Api, emu: BitbucketEmulator) -> None:
    fault = emu.add_fault("status", status=503, method="PUT", path=r"/reports/", times=2)
    assert api.repo("GET", f"/commit/{MAIN}/reports").status_code == 200
    assert [api.repo("PUT", REPORT, json={"title": "t"}).status_code for _ in range(3)] == [503, 503, 200]
    assert fault.hits == 2
    emu.add_fault("status", status=500, times=None)
    assert {api.repo("GET").status_code for _ in range(3)} == {500}
    emu.clear_faults()
    assert api.repo("GET").status_code == 200


def test_delay_then_a_normal_answer(api: Api, emu: BitbucketEmulator) -> None:
    emu.add_fault("delay", delay=0.5, path=r"/pullrequests/")
    with pytest.raises(requests.Timeout):
        api.repo("GET", f"/pullrequests/{SAMPLE_OPEN_PR}", timeout=0.1)
    emu.add_fault("delay", delay=0.2)
    reply = api.repo("GET", f"/pullrequests/{SAMPLE_OPEN_PR}")
    assert reply.status_code == 200 and emu.requests[-1].duration >= 0.2


def test_drop_before_applying_loses_the_write(api: Api, emu: BitbucketEmulator) -> None:
    emu.add_fault("drop", method="POST")
    with pytest.raises(requests.ConnectionError):
        api.repo("POST", COMMENTS, json={"content": {"raw": "lost"}})
    assert [c.raw for c in emu.comments(WS, REPO, SAMPLE_OPEN_PR)] == ["Looks good to me."]
    assert emu.requests[-1].status is None and emu.requests[-1].fault == "drop"


def test_drop_after_applying_loses_only_the_answer(api: Api, emu: BitbucketEmulator) -> None:
    emu.add_fault("drop_after_apply", method="PUT")
    with pytest.raises(requests.ConnectionError):
        api.repo("PUT", REPORT, json={"title": "applied"})
    assert emu.report(WS, REPO, MAIN, "acs-1").fields["title"] == "applied"
    assert emu.requests[-1].applied and emu.requests[-1].status is None
    assert api.repo("PUT", REPORT, json={"title": "applied"}).status_code == 200  # a retry converges
    assert len(emu.reports(WS, REPO)) == 1


def test_probability_is_seeded(bitbucket_emulator_factory: EmulatorFactory) -> None:
    patterns = []
    for _ in range(2):
        emu = bitbucket_emulator_factory(fault_seed=7, rate_limits=None)
        emu.add_fault("status", status=503, times=None, probability=0.5)
        api = Api(emu.url, SAMPLE_FULL_TOKEN)
        patterns.append([api.repo("GET").status_code for _ in range(20)])
    assert patterns[0] == patterns[1] and set(patterns[0]) == {200, 503}


@pytest.mark.bitbucket_emulator(proxy=True)
def test_faults_can_target_one_listener(api: Api, emu: BitbucketEmulator) -> None:
    emu.add_fault("status", status=502, listener="proxy", times=None)
    proxied = Api("http://api.bitbucket.org/2.0", proxy=emu.proxy_url)
    assert proxied.put(f"/repositories/{WS}/{REPO}{REPORT}", json={"title": "t"}).status_code == 502
    assert api.repo("PUT", REPORT, json={"title": "t"}).status_code == 200


def test_unknown_fault_kinds_are_rejected(emu: BitbucketEmulator) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        emu.add_fault("explode")  # type: ignore[arg-type]
