"""Benchmark: pipelines at the same time, round after round, then the figures (docs/concurrency.md).

    .venv/bin/python benchmarks/concurrent_runs.py [--rounds 10] [--seed 1] [--lockout 2] [--read-lag 30]
                                                   [--scale 0.025]

Each round is the one tests/integration/test_concurrency.py runs (testkit/concurrency.py) with one more
build: 9 real `python -m pipe` processes at once (the branch build twice, the pull-request review, the merge
twice, the deploys of the merge commit to staging and to production twice each; testkit.concurrency.ALL_STEPS),
against one Airtable and one Coda emulator with random latency per request and random start delays; then the
merge once more on its own.
Time on both sides is `--scale` of real time (emulators' windows, lockouts and write delays, the pipe's pacing,
waits, backoff and polling). `--lockout` is the Airtable lockout after an overflow in (unscaled) seconds,
also the runs' AIRTABLE_RATE_LIMIT_WAIT: Airtable's is 30 (the test uses 2, see testkit/concurrency.py).
`--read-lag` is how long a Coda write stays out of reads after it is applied, in (unscaled) seconds.
`--staging-every K`: every K-th round stops at staging (8 processes: no production deploy, a second review).
The work items have a `Staged At` field, mapped in the config file, unless `--no-staged-at`.

Prints per round the problems found (none expected) and the figures, then the totals. Figures only: nothing
here asserts; the test asserts.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit import concurrency as cc  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator  # noqa: E402
from testkit.emulators.coda import CodaEmulator  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lockout", type=float, default=cc.AIRTABLE_LOCKOUT)
    parser.add_argument("--read-lag", type=float, default=30.0)
    parser.add_argument("--scale", type=float, default=cc.TIME_SCALE)
    parser.add_argument("--staging-every", type=int, default=0, metavar="K", help="every K-th round stops at staging")
    parser.add_argument("--no-staged-at", action="store_true", help="work items without a Staged At field")
    args = parser.parse_args()
    staged_at = not args.no_staged_at
    airtable = AirtableEmulator(**cc.airtable_options(args.seed, args.scale, args.lockout))
    coda = CodaEmulator.from_seed(cc.CODA_SEED, **cc.coda_options(args.seed, args.scale, args.read_lag))
    airtable.load_seed(cc.airtable_seed(staged_at))
    total = cc.Figures()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="concurrent-runs-") as folder, airtable, coda:
        scenario = cc.Scenario(airtable, coda, Path(folder), args.seed, args.lockout, args.scale, staged_at)
        for number in range(1, args.rounds + 1):
            staging_only = args.staging_every > 0 and number % args.staging_every == 0
            round_ = scenario.prepare_round(number, cc.STAGING_STEPS if staging_only else cc.ALL_STEPS)
            scenario.run_round(round_)
            rerun = scenario.rerun(round_, "merge")
            problems, figures = cc.check_round(scenario, round_, rerun)
            total.add(figures)
            scenario.finish_round(round_)
            print(
                f"round {number}: {round_.seconds:.1f} s, {len(round_.steps)} processes up to {round_.furthest}, "
                f"release {round_.version}, "
                f"{figures.transient_backward_writes} transient backward write(s), "
                f"{figures.removed_copies} copy(ies) deleted, {len(problems)} problem(s)",
                flush=True,
            )
            for problem in problems:
                print(f"  {problem}", flush=True)
    print(
        f"\nseed {args.seed}, scale {args.scale}, Airtable lockout {args.lockout} s, Coda read lag {args.read_lag} s, "
        f"Staged At {'mapped' if staged_at else 'not mapped'}, "
        f"rounds up to staging: every {args.staging_every or 'none'}"
    )
    print("\n".join(total.lines()))
    print(f"wall: {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
