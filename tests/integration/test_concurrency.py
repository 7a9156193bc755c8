"""Pipelines at the same time never move a status backwards or publish twice (Issue 9, section 2).

Every round starts 8 real `python -m pipe` processes at once against one Airtable and one Coda emulator (the
branch build, the pull-request review, the merge and a duplicate, the deploys of the merge commit to staging
and to production and a duplicate of each), with random latency on every request and random start delays,
so the interleavings differ from round to round; then re-runs the merge on its own. Every third round stops
at staging (8 processes: no production deploy; two builds and two reviews).
The scenario and the checks are in testkit/concurrency.py; docs/concurrency.md states the guarantee.

The figures (processes, rounds, backward end states, duplicates, transient backward writes) are printed;
backward end states and duplicates must be 0. Transient backward writes are reported, not failed on: the
guarantee is about end states (Airtable has no conditional writes).
"""

from __future__ import annotations

import os
import random

import pytest

from testkit import concurrency as cc

ROUNDS = 10
STAGING_EVERY = 3  # rounds 3, 6 and 9 stop at staging (8 processes, the work items' Staged At mapped)
# Coda writes stay out of reads for 10 s (scaled) after they land: reads still go stale, rounds are shorter
# than with the 30 s the reference allows (benchmarks/concurrent_runs.py's default); the re-run right after
# stale reads is replayed in tests/integration/test_concurrent_writes.py.
READ_LAG = 10.0
# Latencies and start delays are drawn from this seed (CONCURRENCY_SEED repeats a run's draws; the processes'
# scheduling differs anyway), so CI runs explore different interleavings over time.
SEED = int(os.environ.get("CONCURRENCY_SEED") or random.randrange(1, 10_000))


@pytest.mark.slow
def test_concurrent_pipelines_end_at_the_furthest_status_and_publish_once(
    airtable_emulator_factory, coda_emulator_factory, tmp_path, capsys
):
    airtable = airtable_emulator_factory(seed=cc.airtable_seed(staged_at=True), **cc.airtable_options(SEED))
    coda = coda_emulator_factory(seed=cc.CODA_SEED, **cc.coda_options(SEED, read_lag=READ_LAG))
    scenario = cc.Scenario(airtable, coda, tmp_path, seed=SEED, staged_at=True)
    total = cc.Figures()
    problems: list[str] = []
    for number in range(1, ROUNDS + 1):
        round_ = scenario.prepare_round(number, cc.STAGING_STEPS if number % STAGING_EVERY == 0 else cc.STEPS)
        scenario.run_round(round_)
        rerun = scenario.rerun(round_, "merge")
        found, figures = cc.check_round(scenario, round_, rerun)
        problems += found
        total.add(figures)
        scenario.finish_round(round_)
    with capsys.disabled():
        print(f"\nconcurrent pipelines (CONCURRENCY_SEED={SEED}):\n  " + "\n  ".join(total.lines()))
    assert total.processes >= 8 * ROUNDS
    assert problems == [], "\n".join(problems)
    assert total.backward_end_states == 0 and total.duplicates == 0
