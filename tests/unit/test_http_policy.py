import email.utils
import time

import pytest
import requests

from pipe.clients.http import BudgetExceeded, SlidingWindowLimiter, retry_after_seconds


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_limiter_lets_a_burst_through_then_spaces_requests_by_the_window():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(5, 1.0, margin=0.025, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(12):
        limiter.acquire()
        sent.append(clock.now)
    # never more than 5 sends in any window of one second
    for i in range(len(sent)):
        assert sum(1 for t in sent if sent[i] <= t < sent[i] + 1.0) <= 5
    # and no slower than the limit allows (plus the margin per window)
    assert sent[-1] - sent[0] == pytest.approx(2 * 1.025)


def test_limiter_counts_a_slow_request_from_its_answer():
    # The service saw the first request somewhere between sending and answering; counting from the answer
    # keeps a quick request sent later out of the same window of the service.
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 1.0, margin=0.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    clock.now += 0.5  # a slow answer (a fresh TLS connection)
    limiter.done()
    limiter.acquire()
    limiter.done()
    limiter.acquire()  # must wait for the first request's window measured from its answer
    assert clock.now == pytest.approx(100.0 + 0.5 + 1.0)


def test_limiter_refuses_to_wait_past_the_deadline():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 10.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    with pytest.raises(BudgetExceeded):
        limiter.acquire(deadline=clock.now + 5)
    assert clock.sleeps == []


def _response_with(retry_after: str | None) -> requests.Response:
    response = requests.Response()
    response.status_code = 429
    if retry_after is not None:
        response.headers["Retry-After"] = retry_after
    return response


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("", None),
        ("7", 7.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: go now
        ("soon", None),  # unreadable: the policy's own wait applies, the run does not crash
        ("Wed, 99 Foo 2015 99:99:99 GMT", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates_and_ignores_garbage(header, seconds):
    assert retry_after_seconds(_response_with(header)) == seconds


def test_retry_after_reads_a_future_http_date_as_gmt():
    future = email.utils.formatdate(time.time() + 120, usegmt=True)
    assert 100 < retry_after_seconds(_response_with(future)) <= 120
    naive = email.utils.formatdate(time.time() + 120)  # "... -0000": parsed without a zone
    assert naive.endswith("-0000")
    assert 100 < retry_after_seconds(_response_with(naive)) <= 120
