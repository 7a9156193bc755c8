"""The rolling hourly budget per identity: the live plain-text 429 and the X-RateLimit-* headers."""

from __future__ import annotations

import pytest
import requests

from testkit.emulators.bitbucket import BitbucketEmulator, RateLimits
from testkit.emulators.bitbucket.errors import RATE_LIMITED_TEXT
from testkit.emulators.bitbucket.fixtures import SAMPLE_FULL_TOKEN, SAMPLE_READ_TOKEN, EmulatorFactory
from tests.emulators.bitbucket.conftest import REPO, WS, Api


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_default_is_1000_per_hour(emu: BitbucketEmulator) -> None:
    limits = emu.backend.limiter.limits if emu.backend.limiter else None
    assert limits is not None and (limits.limit, limits.window) == (1000, 3600.0)


@pytest.mark.bitbucket_emulator(rate_limits=RateLimits(limit=3))
def test_over_the_limit_is_a_plain_text_429(api: Api, emu: BitbucketEmulator) -> None:
    statuses = [api.repo("GET").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = api.repo("GET")
    assert refused.status_code == 429 and refused.text == RATE_LIMITED_TEXT
    assert refused.headers["Content-Type"].startswith("text/plain") and "Retry-After" not in refused.headers
    assert emu.rate_limit_used(SAMPLE_FULL_TOKEN) == 3  # refused requests are not counted


@pytest.mark.bitbucket_emulator(rate_limits=RateLimits(limit=10))
def test_access_token_answers_carry_the_rate_limit_headers(api: Api) -> None:
    replies = [api.repo("GET") for _ in range(9)]
    assert replies[0].headers["X-RateLimit-Limit"] == "10"
    assert replies[0].headers["X-RateLimit-Resource"] == "api"
    assert [r.headers["X-RateLimit-NearLimit"] for r in replies][-3:] == ["false", "false", "true"]  # under 20 % left


@pytest.mark.bitbucket_emulator(rate_limits=RateLimits(limit=2))
def test_each_token_has_its_own_budget(api: Api, read_api: Api) -> None:
    assert [api.repo("GET").status_code for _ in range(3)] == [200, 200, 429]
    assert read_api.repo("GET").status_code == 200


def test_the_window_rolls(bitbucket_emulator_factory: EmulatorFactory) -> None:
    clock = FakeClock()
    emu = bitbucket_emulator_factory(rate_limits=RateLimits(limit=2, window=60), clock=clock)
    api = Api(emu.url, SAMPLE_READ_TOKEN)
    assert [api.repo("GET").status_code for _ in range(2)] == [200, 200]
    clock.now += 30
    assert api.repo("GET").status_code == 429
    clock.now += 30  # the first two requests leave the window
    assert [api.repo("GET").status_code for _ in range(3)] == [200, 200, 429]
    emu.reset_rate_limits()
    assert api.repo("GET").status_code == 200


@pytest.mark.bitbucket_emulator(rate_limits=RateLimits(limit=1, retry_after=30, headers=False))
def test_retry_after_and_headers_are_configurable(api: Api) -> None:
    api.repo("GET")
    refused = api.repo("GET")
    assert refused.headers["Retry-After"] == "30" and "X-RateLimit-Limit" not in refused.headers


@pytest.mark.bitbucket_emulator(rate_limits=None)
def test_rate_limits_can_be_switched_off(api: Api) -> None:
    assert {api.repo("GET").status_code for _ in range(30)} == {200}


@pytest.mark.bitbucket_emulator(proxy=True, rate_limits=RateLimits(limit=2))
def test_the_proxy_has_its_own_budget_and_no_headers(emu: BitbucketEmulator) -> None:
    proxied = Api("http://api.bitbucket.org/2.0", proxy=emu.proxy_url)
    path = f"/repositories/{WS}/{REPO}/commit/3f786850e387/reports"
    replies = [proxied.get(path) for _ in range(3)]
    assert [r.status_code for r in replies] == [200, 200, 429]
    assert "X-RateLimit-Limit" not in replies[0].headers
    assert emu.rate_limit_used("proxy") == 2 and emu.rate_limit_used(SAMPLE_FULL_TOKEN) == 0


def test_unauthenticated_requests_are_not_counted(emu: BitbucketEmulator) -> None:
    requests.get(emu.url + f"/repositories/{WS}/{REPO}", timeout=5)
    assert emu.rate_limit_used(SAMPLE_FULL_TOKEN) == 0
