import pytest

from pipe.clients.http import BudgetExceeded, SlidingWindowLimiter


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


def test_limiter_refuses_to_wait_past_the_deadline():
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 10.0, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    with pytest.raises(BudgetExceeded):
        limiter.acquire(deadline=clock.now + 5)
    assert clock.sleeps == []
