"""The pace of one run on a base shared with other pipelines (pipe.clients.crowd), and how the HTTP policy uses
it on a 429: a lockout waited out with jitter, at a lower rate after, never counted as a failed attempt."""

from __future__ import annotations

import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from pipe.clients.airtable import airtable_policy
from pipe.clients.crowd import SharedBasePacer
from pipe.clients.http import HttpPolicy, session_with_policy


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pacer(clock: FakeClock, **kwargs) -> SharedBasePacer:
    return SharedBasePacer(clock=clock, sleep=clock.sleep, rng=kwargs.pop("rng", random.Random(7)), **kwargs)


def test_a_lone_run_that_saw_no_lockout_is_left_to_the_base_window():
    clock = FakeClock()
    p = pacer(clock)
    assert [p.acquire() for _ in range(10)] == [0.0] * 10
    assert clock.sleeps == []


def test_after_a_lockout_requests_are_spaced_evenly():
    clock = FakeClock()
    p = pacer(clock)
    clock.now += p.locked_out(30.0)
    sent = []
    for _ in range(6):
        p.acquire()
        sent.append(clock.now)
    gaps = {round(b - a, 9) for a, b in zip(sent, sent[1:], strict=False)}
    assert gaps == {0.4}  # 2.5 per second, evenly: never a burst


def test_a_run_with_a_share_starts_at_a_random_point_of_its_first_interval_and_keeps_to_its_share():
    starts = []
    for seed in range(20):
        clock = FakeClock()
        p = pacer(clock, ceiling=0.5, rng=random.Random(seed))
        p.acquire()
        starts.append(clock.now - 1000.0)
        p.acquire()
        assert clock.now - 1000.0 == pytest.approx(starts[-1] + 2.0)  # 0.5 per second: 2 s apart
    assert all(0 <= s <= 2.0 for s in starts)
    assert len({round(s, 6) for s in starts}) == 20  # twenty runs, twenty different first moments


def test_after_a_lockout_the_run_waits_it_out_plus_jitter_and_comes_back_slower():
    clock = FakeClock()
    p = pacer(clock)
    p.acquire()
    wait = p.locked_out(30.0)
    assert 30.0 <= wait <= 60.0  # the lockout, then up to as long again at random
    assert p.rate == pytest.approx(2.5)
    clock.now += wait
    p.acquire()  # the wait returned is the whole wait: no second one
    assert clock.sleeps == []
    p.acquire()
    assert clock.sleeps == [pytest.approx(0.4)]  # 2.5 per second


def test_the_spread_doubles_with_each_lockout_up_to_three_lockouts_and_the_rate_has_a_floor():
    clock = FakeClock()
    p = pacer(clock, rng=random.Random(1))
    for k in range(1, 8):
        spread = p.locked_out(30.0) - 30.0
        assert 0 <= spread <= min(3.0, 2 ** (k - 1)) * 30.0
    assert p.rate == pytest.approx(0.05)  # the floor, not 5 / 2**7
    assert p.lockouts == 7


def test_many_runs_locked_out_together_do_not_come_back_together():
    # Thirty runs see the same lockout; without jitter they would all retry at its end, in the same window, and
    # overflow the base again.
    returns = sorted(pacer(FakeClock(), rng=random.Random(seed)).locked_out(30.0) for seed in range(30))
    in_first_second = sum(1 for r in returns if r < returns[0] + 1.0)
    assert in_first_second <= 5
    assert returns[-1] - returns[0] > 5.0


def test_the_pace_refuses_to_wait_past_the_deadline():
    clock = FakeClock()
    p = pacer(clock, ceiling=0.1)
    p.acquire()
    with pytest.raises(TimeoutError):
        p.acquire(deadline=clock.now + 5.0)


@pytest.mark.parametrize("rate", [0, -1, 5.01, float("nan")])
def test_a_share_outside_the_base_limit_is_refused(rate):
    with pytest.raises(ValueError, match="requests per second"):
        SharedBasePacer(ceiling=rate)


# -- the policy on a 429: a real HTTP server on 127.0.0.1 -------------------------------------------


class _LockedBase(BaseHTTPRequestHandler):
    """Answers 429 to the first `refusals` requests, then 200 `{"records": []}`."""

    refusals = 0
    seen = 0

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).seen += 1
        status = 429 if type(self).seen <= type(self).refusals else 200
        body = b'{"records": []}' if status == 200 else b'{"errors": {"type": "RATE_LIMIT_REACHED"}}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def locked_base():
    handler = type("Handler", (_LockedBase,), {"refusals": 0, "seen": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()
    server.server_close()


def _policy_with_fake_time(policy: HttpPolicy) -> FakeClock:
    clock = FakeClock()
    policy.sleep = clock.sleep
    assert policy.pacer is not None
    policy.pacer.sleep, policy.pacer.clock = clock.sleep, clock
    policy.pacer.rng = random.Random(3)
    return clock


def test_lockouts_are_waited_out_without_using_up_the_attempts_for_failures(locked_base):
    server, handler = locked_base
    handler.refusals = 8  # more 429s than the 6 attempts a 5xx gets
    policy = airtable_policy(30.0)
    clock = _policy_with_fake_time(policy)
    session = session_with_policy(policy)
    response = session.get(f"http://127.0.0.1:{server.server_port}/v0/appX/Table")
    assert response.status_code == 200
    assert policy.stats["429"] == 8
    waits = [s for s in clock.sleeps if s >= 30.0]
    assert len(waits) == 8
    assert len({round(w, 3) for w in waits}) == 8  # each with its own jitter, never the same fixed 30 s
    assert policy.pacer is not None and policy.pacer.rate == pytest.approx(0.05)  # slower after each lockout


def test_a_request_refused_max_refusals_times_returns_the_429(locked_base):
    server, handler = locked_base
    handler.refusals = 100
    policy = airtable_policy(30.0)
    policy.max_refusals = 3
    _policy_with_fake_time(policy)
    response = session_with_policy(policy).get(f"http://127.0.0.1:{server.server_port}/v0/appX/Table")
    assert response.status_code == 429
    assert handler.seen == 3


def test_the_share_paces_the_policy(locked_base):
    server, _handler = locked_base
    policy = airtable_policy(30.0, requests_per_second=0.5)
    clock = _policy_with_fake_time(policy)
    session = session_with_policy(policy)
    for _ in range(3):
        assert session.get(f"http://127.0.0.1:{server.server_port}/v0/appX/Table").status_code == 200
    paced = [s for s in clock.sleeps if s > 0]
    assert paced[0] <= 2.0  # a random start within the first interval
    assert paced[1:] == [pytest.approx(2.0)] * 2  # then 2 s apart


def test_requests_fail_fast_when_the_server_is_gone():
    # The pacer never hides a connection error: a dropped connection is a failed attempt as before.
    policy = airtable_policy(30.0)
    policy.max_attempts = 1
    _policy_with_fake_time(policy)
    with pytest.raises(requests.ConnectionError):
        session_with_policy(policy).get("http://127.0.0.1:9/v0/appX/Table")
