"""Many pipelines, one base (docs/many-pipelines.md): a crowd of runs against one emulated base with Airtable's
limits (5 requests per sliding window, a lockout of the whole base after an overflow), in scaled time. The
figures for 10 and 30 real processes are in benchmarks/many_pipelines.py; this checks the mechanism."""

from __future__ import annotations

import logging

import pytest

from testkit.crowd import PER_SECOND, crowd_sizes, simulate

SCALE = 0.05  # a window of 50 ms, a lockout of 1.5 s


@pytest.fixture(scope="module")
def crowd():
    logging.getLogger("pipe.http").setLevel(logging.ERROR)  # one warning per 429 otherwise
    try:
        yield simulate(crowd_sizes(8, seed=3, bounds=(20, 40)), scale=SCALE, start_spread=0.5, seed=3)
    finally:
        logging.getLogger("pipe.http").setLevel(logging.NOTSET)


def test_no_run_fails_and_every_work_item_moves(crowd):
    figures = crowd.figures
    assert figures.failed == 0
    assert figures.moved == figures.records
    # eight runs starting within half a second overflow the base: the test is about what happens next
    assert figures.lockouts >= 1


def test_the_runs_locked_out_together_do_not_come_back_together(crowd):
    # Retrying when the lockout ends, all at once, would put every locked-out run's request in the same window
    # and lock the base again at once; each run waits the lockout plus its own random part instead.
    for first_windows in crowd.first_after_lockout:
        in_first_window = sum(1 for t in first_windows if t < 1.0)
        assert in_first_window <= PER_SECOND, first_windows
        if len(first_windows) >= 4:
            assert first_windows[-1] - first_windows[0] > 2.0, first_windows  # spread over more than two windows


def test_the_crowd_is_not_locked_out_again_and_again(crowd):
    # One lockout per run would mean the runs learn nothing from a lockout (the lockstep retry locked this crowd
    # out at every retry: 18 lockouts for 10 processes, docs/many-pipelines.md).
    assert crowd.figures.lockouts < crowd.figures.pipelines
