"""Per-user rate limits with scaled-down windows and a controllable clock (no sleeping)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH, EmulatorFactory
from testkit.emulators.coda.ratelimit import Bucket, RateLimiter, RateLimits
from tests.emulators.coda.conftest import DOC, TABLE, Api, fake_token

ROWS = f"/docs/{DOC}/tables/{TABLE}/rows"
TOO_MANY = {"statusCode": 429, "statusMessage": "Too Many Requests", "message": "Too Many Requests"}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _start(factory: EmulatorFactory, limits: RateLimits, clock: Clock | None = None, **options: Any) -> CodaEmulator:
    return factory(seed=SAMPLE_SEED_PATH, rate_limits=limits, clock=clock or time.time, mutation_delay=0, **options)


def _api(emu: CodaEmulator, owner: str = "user@example.com") -> Api:
    token = fake_token()
    emu.add_token(token, owner)
    return Api(emu.url, token)


def _write(api: Api) -> int:
    return api.upsert([{"Entry Key": "x"}]).status_code


def test_read_bucket_refuses_with_standard_body_and_no_retry_after(coda_emulator_factory: EmulatorFactory) -> None:
    clock = Clock()
    api = _api(_start(coda_emulator_factory, RateLimits(read=Bucket(3, 6.0)), clock))
    assert [api.get(ROWS).status_code for _ in range(3)] == [200, 200, 200]
    refused = api.get(ROWS)
    assert (refused.status_code, refused.json()) == (429, TOO_MANY)
    assert "Retry-After" not in refused.headers
    clock.now += 6.0
    assert api.get(ROWS).status_code == 200


def test_limits_are_per_owner_not_per_token(coda_emulator_factory: EmulatorFactory) -> None:
    emu = _start(coda_emulator_factory, RateLimits(read=Bucket(2, 6.0)), Clock())
    first, second, stranger = _api(emu), _api(emu), _api(emu, "other@example.com")
    assert first.get("/whoami").status_code == 200
    assert second.get("/whoami").status_code == 200
    assert first.get("/whoami").status_code == 429
    assert second.get("/whoami").status_code == 429
    assert stranger.get("/whoami").status_code == 200


def test_doc_content_bucket_counts_row_and_page_writes(coda_emulator_factory: EmulatorFactory) -> None:
    api = _api(_start(coda_emulator_factory, RateLimits(doc_content=Bucket(3, 10.0)), Clock()))
    assert [_write(api) for _ in range(3)] == [202, 202, 202]
    assert _write(api) == 429
    page = {"contentUpdate": {"insertionMode": "append", "canvasContent": {"format": "markdown", "content": "x"}}}
    assert api.put(f"/docs/{DOC}/pages/Release%20Notes", json=page).status_code == 429
    assert api.get(ROWS).status_code == 200  # reads use their own bucket


def test_content_writes_also_draw_from_the_write_bucket(coda_emulator_factory: EmulatorFactory) -> None:
    limits = RateLimits(write=Bucket(2, 6.0), doc_content=Bucket(100, 10.0))
    api = _api(_start(coda_emulator_factory, limits, Clock()))
    assert [_write(api) for _ in range(3)] == [202, 202, 429]
    only_content = RateLimits(write=Bucket(2, 6.0), doc_content=Bucket(100, 10.0), content_buckets=("doc_content",))
    api = _api(_start(coda_emulator_factory, only_content, Clock()))
    assert [_write(api) for _ in range(3)] == [202, 202, 202]


def test_list_docs_bucket(coda_emulator_factory: EmulatorFactory) -> None:
    api = _api(_start(coda_emulator_factory, RateLimits(list_docs=Bucket(2, 6.0)), Clock()))
    assert [api.get("/docs").status_code for _ in range(3)] == [200, 200, 429]
    assert api.get(f"/docs/{DOC}").status_code == 200


def test_retry_after_option(coda_emulator_factory: EmulatorFactory) -> None:
    api = _api(_start(coda_emulator_factory, RateLimits(read=Bucket(1, 6.0), retry_after=7), Clock()))
    api.get("/whoami")
    assert api.get("/whoami").headers["Retry-After"] == "7"


def test_sticky_429_until_reset(coda_emulator_factory: EmulatorFactory) -> None:
    clock = Clock()
    emu = _start(coda_emulator_factory, RateLimits(read=Bucket(1, 1.0), sticky=True), clock)
    api = _api(emu)
    assert [api.get("/whoami").status_code for _ in range(2)] == [200, 429]
    clock.now += 60
    assert api.get("/whoami").status_code == 429
    emu.reset_rate_limits()
    assert api.get("/whoami").status_code == 200


def test_real_windows_scaled_down(coda_emulator_factory: EmulatorFactory) -> None:
    limits = RateLimits(read=Bucket(2, 6.0)).scaled(0.05)  # 2 per 0.3 s
    assert limits.read.window == pytest.approx(0.3)
    api = _api(_start(coda_emulator_factory, limits))
    assert [api.get("/whoami").status_code for _ in range(3)] == [200, 200, 429]
    time.sleep(0.35)
    assert api.get("/whoami").status_code == 200


def test_rate_limits_none_disables(api: Api) -> None:
    assert {_write(api) for _ in range(30)} == {202}


def test_default_fixture_uses_published_limits(coda_emulator: CodaEmulator) -> None:
    assert coda_emulator.options.rate_limits == RateLimits()
    assert (RateLimits().read, RateLimits().write, RateLimits().list_docs) == (
        Bucket(100, 6.0),
        Bucket(10, 6.0),
        Bucket(4, 6.0),
    )


def test_default_doc_content_limit_is_the_stricter_3_per_10_seconds(coda_emulator_factory: EmulatorFactory) -> None:
    clock = Clock()
    api = _api(_start(coda_emulator_factory, RateLimits(), clock))
    assert [_write(api) for _ in range(4)] == [202, 202, 202, 429]
    clock.now += 9.9
    assert _write(api) == 429
    clock.now += 0.1
    assert _write(api) == 202


def test_limiter_counts_only_admitted_requests() -> None:
    clock = Clock()
    limiter = RateLimiter(RateLimits(read=Bucket(1, 1.0)), clock)
    answers = []
    for _ in range(4):
        answers.append(limiter.admit("u", "whoami", "GET"))
        clock.now += 0.5
    assert answers == [True, False, True, False]  # the refusal at +0.5 s did not extend the window


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(ValueError):
        Bucket(0, 1.0)
    with pytest.raises(ValueError):
        RateLimits(content_buckets=("nope",))
