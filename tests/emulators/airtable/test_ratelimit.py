"""Rate limits: 5 requests per sliding second per base, per-token limit, lockout, Retry-After."""

from __future__ import annotations

import time

import pytest
import requests
from pyairtable import Api

from testkit.emulators.airtable import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID
from testkit.emulators.airtable.ratelimit import RateLimiter, RateLimits

from .conftest import Raw

WI = f"/v0/{SAMPLE_BASE_ID}/Work%20Items"
RATE_LIMITED = {"error": {"type": "RATE_LIMIT_REACHED", "message": "Rate limit exceeded. Please try again later"}}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_counts_requests_newer_than_one_second() -> None:
    limiter = RateLimiter(RateLimits(per_base=5, per_token=None, penalty_seconds=0.0))
    assert [limiter.check("appA", "usr1", 0.0) for _ in range(5)] == [None] * 5
    assert limiter.check("appA", "usr1", 0.5) is not None  # 6th inside the window
    assert limiter.check("appB", "usr1", 0.5) is None  # other bases are independent
    assert limiter.check("appA", "usr1", 0.999) is not None
    assert limiter.check("appA", "usr1", 1.0) is None  # hits at 0.0 are not > 1.0 - 1.0


def test_429_body_lockout_and_recovery_over_http(airtable_emulator_factory) -> None:
    clock = FakeClock()
    emu = airtable_emulator_factory(rate_limit_per_base=5, penalty_seconds=30.0, clock=clock)
    raw = Raw(emu.url, emu.add_token())
    assert [raw("GET", WI).status_code for _ in range(5)] == [200] * 5
    limited = raw("GET", WI)
    assert limited.status_code == 429 and limited.json() == RATE_LIMITED
    assert limited.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "Retry-After" not in limited.headers  # off by default (§4)
    clock.now = 29.9  # window long over, but the lockout holds
    assert raw("GET", WI).status_code == 429
    clock.now = 30.1
    assert raw("GET", WI).status_code == 200
    assert emu.status_counts() == {200: 6, 429: 2}  # rejected requests are logged too
    assert [e.status for e in emu.requests][-3:] == [429, 429, 200]


def test_real_time_lockout_with_short_penalty(airtable_emulator_factory) -> None:
    emu = airtable_emulator_factory(rate_limit_per_base=5, penalty_seconds=1.5)
    raw = Raw(emu.url, emu.add_token())
    statuses = [raw("GET", WI).status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429, 429]
    time.sleep(1.1)  # the 1 s window has passed; the 1.5 s lockout has not
    assert raw("GET", WI).status_code == 429
    time.sleep(0.6)
    assert raw("GET", WI).status_code == 200


def test_retry_after_option(airtable_emulator_factory) -> None:
    emu = airtable_emulator_factory(rate_limit_per_base=1, penalty_seconds=0.5, retry_after_on_429=True)
    raw = Raw(emu.url, emu.add_token())
    raw("GET", WI)
    assert raw("GET", WI).headers["Retry-After"] == "1"  # whole seconds, rounded up


def test_pyairtable_without_retries_raises_on_429(airtable_emulator_factory) -> None:
    emu = airtable_emulator_factory(rate_limit_per_base=2, penalty_seconds=30.0)
    table = Api(emu.add_token(), endpoint_url=emu.url, retry_strategy=None).table(SAMPLE_BASE_ID, "Work Items")
    table.first()
    table.first()
    with pytest.raises(requests.HTTPError) as info:
        table.first()
    assert info.value.response.status_code == 429


def test_lockout_key_base_locks_everyone_on_that_base(airtable_emulator_factory) -> None:
    clock = FakeClock()
    emu = airtable_emulator_factory(rate_limit_per_base=2, clock=clock)
    other_base = emu.add_base(name="Other")
    emu.add_table(other_base, {"name": "T", "fields": [{"name": "A", "type": "singleLineText"}]})
    first, second = Raw(emu.url, emu.add_token()), Raw(emu.url, emu.add_token())
    assert [first("GET", WI).status_code for _ in range(3)] == [200, 200, 429]
    assert second("GET", WI).status_code == 429  # the base is locked for every token
    assert first("GET", f"/v0/{other_base}/T").status_code == 200  # other bases are not


def test_lockout_key_token_locks_only_the_offender(airtable_emulator_factory) -> None:
    clock = FakeClock()
    emu = airtable_emulator_factory(rate_limit_per_base=2, lockout_key="token", clock=clock)
    first, second = Raw(emu.url, emu.add_token()), Raw(emu.url, emu.add_token())
    assert [first("GET", WI).status_code for _ in range(3)] == [200, 200, 429]
    clock.now = 1.5  # window over; the first token stays locked, the second may go on
    assert first("GET", WI).status_code == 429
    assert second("GET", WI).status_code == 200


def test_per_token_limit_spans_bases_and_users_share_it(airtable_emulator_factory) -> None:
    clock = FakeClock()
    emu = airtable_emulator_factory(rate_limit_per_token=3, clock=clock)
    one = Raw(emu.url, emu.add_token(user_id="usrSharedUser0001"))
    two = Raw(emu.url, emu.add_token(user_id="usrSharedUser0001"))
    other = Raw(emu.url, emu.add_token())
    statuses = [one("GET", WI).status_code, two("GET", "/v0/meta/whoami").status_code]
    statuses += [one("GET", "/v0/meta/bases").status_code, two("GET", WI).status_code]
    assert statuses == [200, 200, 200, 429]
    assert other("GET", WI).status_code == 200


def test_limits_off_and_runtime_configuration(emu: AirtableEmulator, raw: Raw) -> None:
    assert emu.rate_limits.per_base is None
    assert all(raw("GET", WI).status_code == 200 for _ in range(12))
    emu.configure_rate_limits(per_base=1, penalty_seconds=60.0)
    emu.reset_rate_limits()
    assert [raw("GET", WI).status_code for _ in range(2)] == [200, 429]
    emu.reset_rate_limits()
    assert raw("GET", WI).status_code == 200


def test_unauthenticated_requests_do_not_count(airtable_emulator_factory) -> None:
    emu = airtable_emulator_factory(rate_limit_per_base=2, clock=FakeClock())
    anonymous = Raw(emu.url, None)
    assert {anonymous("GET", WI).status_code for _ in range(4)} == {401}
    raw = Raw(emu.url, emu.add_token())
    assert [raw("GET", WI).status_code for _ in range(3)] == [200, 200, 429]
