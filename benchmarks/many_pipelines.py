"""Benchmark: many pipelines, one base. 10 and 30 build steps at once, each syncing 20-100 work items.

    .venv/bin/python benchmarks/many_pipelines.py [--pipelines 10 30] [--seed 1] [--share 2.5] [--scale 1.0]

For each crowd size it makes that many repositories (testkit/crowd.py), starts one Airtable emulator with
Airtable's real limits (5 requests per sliding second per base, 50 per token, a 30-second lockout of the whole
base after an overflow, no Retry-After: the stricter reading, docs/many-pipelines.md), starts every
repository's `python -m pipe` build step at once and waits for all of them. It prints, per crowd:

- wall: the first process's start to the last one's end (interpreter start-up, git and planning included);
- admitted: every request Airtable admitted (the work all runs needed); the shared floor is those requests
  one after another at the base's 5 per second, (admitted - 1) / 5 seconds;
- 429s, lockouts (each locked the base for 30 s) and failed runs (exit code not 0, or work items not moved).

With `--share T`, every crowd runs a second time with every run given its share of the base,
AIRTABLE_REQUESTS_PER_SECOND = T / crowd size (the shares add up to T of the base's 5 per second), as an
organisation that knows how many pipelines write to its base at once would set it. `--scale` runs the emulator's
windows and lockout and the pipe's waits in that fraction of real time (figures then are in scaled seconds:
wall / scale). Figures only: nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.crowd import LOCKOUT, Crowd, Figures, emulator_options  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator  # noqa: E402


def measure(pipelines: int, seed: int, share: float | None, scale: float, workdir: Path) -> Figures:
    crowd = Crowd(workdir, pipelines, seed=seed)
    extra = {"AIRTABLE_REQUESTS_PER_SECOND": f"{share:.4f}"} if share else {}
    if scale != 1.0:
        extra["PIPE_TEST_TIME_SCALE"] = str(scale)
        extra["AIRTABLE_RATE_LIMIT_WAIT"] = str(LOCKOUT * scale)
    with AirtableEmulator(**emulator_options(scale=scale, seed=seed)) as emulator:
        emulator.load_seed(crowd.seed())
        finished = crowd.run(emulator.url, extra)
        figures = crowd.figures(emulator, finished)
    for f in finished:
        if f.code != 0:
            print(f"  pipeline {f.pipeline.index} exit {f.code}:\n{f.log_tail[-600:]}", file=sys.stderr)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipelines", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--share", type=float, metavar="T", help="also run with AIRTABLE_REQUESTS_PER_SECOND = T / crowd size"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of real time (default 1: real time)")
    args = parser.parse_args()

    print("Build steps at once against one emulated base: 5 requests per sliding second, 30 s lockout of the base,")
    print(f"no Retry-After; time scale {args.scale:g}. Shared floor: (admitted requests - 1) / 5 seconds.\n")
    header = (
        f"{'pipelines':>9} {'share':>6} {'records':>7} | {'admitted':>8} {'floor s':>7} {'wall s':>7} "
        f"{'wall/floor':>10} | {'429s':>5} {'lockouts':>8} {'failed':>6} {'moved':>7}"
    )
    print(header)
    print("-" * len(header))
    failures = 0
    for pipelines in args.pipelines:
        for share in (None, args.share / pipelines) if args.share else (None,):
            with tempfile.TemporaryDirectory(prefix="many-pipelines-") as tmp:
                started = time.perf_counter()
                f = measure(pipelines, args.seed, share, args.scale, Path(tmp))
                print(f"  measured {pipelines} pipelines in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            shown = f"{share:.3f}" if share else "-"
            floor, wall = f.floor, f.wall / args.scale
            print(
                f"{f.pipelines:>9} {shown:>6} {f.records:>7} | {f.admitted:>8} {floor:>7.1f} {wall:>7.1f} "
                f"{wall / floor:>9.2f}x | {f.refused:>5} {f.lockouts:>8} {f.failed:>6} {f.moved:>7}",
                flush=True,
            )
            failures += f.failed + (f.records - f.moved)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
