"""Benchmark: the build stage's Airtable sync for 1, 10, 100 and 1,000 referenced records.

    .venv/bin/python benchmarks/airtable_sync.py [--sizes 1 10 100 1000] [--subprocess]

For each size N it
1. starts the Airtable emulator (testkit/emulators/airtable) with Airtable's rate limits on: 5 requests
   per sliding second per base, 50 per token, a real 30-second lockout after a 429 (the pipe should
   never get one; any 429 is counted and shown);
2. seeds a "Work Items" table with N records in status Ready;
3. makes a git repository (testkit/gitrepos.py) whose branch `feature/bench` has one commit per 10
   records, each message naming its records by record ID;
4. runs the build stage, in-process through `pipe.flow.run` (or `python -m pipe` with `--subprocess`),
   checks that every record moved to In Progress, then runs the same pipeline again (after the
   emulator's one-second window has passed, as any later pipeline would) and counts its requests.

The floor is what Airtable's limits allow for the requests the sync needs at best: one schema
request, one read per 100 records, one write per 10 records. Under a sliding window of 5 requests
per second, request k+5 may arrive no earlier than one second after request k, so n requests span at
least floor((n - 1) / 5) seconds from the first arrival to the last. That span is the floor; it is
0 for 5 requests or fewer (then no ratio is shown). `wall` is the whole run (configuration, git,
planning, HTTP, report); `span` is the emulator's first-to-last arrival time, the part the rate limit
governs. Figures only: nothing here asserts on timing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipe.flow import run  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator, LoggedRequest  # noqa: E402
from testkit.gitrepos import GitRepoBuilder  # noqa: E402
from testkit.work_item_base import WORK_ITEM_FIELDS, one_base_seed, ready, table  # noqa: E402

BASE_ID = "appBenchmarkBase1"
TABLE = "Work Items"
TOKEN = "fake-airtable-token-benchmark"
PER_SECOND = 5
READ_BATCH = 100
WRITE_BATCH = 10
RECORDS_PER_COMMIT = 10


def record_id(n: int) -> str:
    return f"recBench{n:09d}"  # rec + 14 letters or digits


def seed(count: int) -> dict[str, Any]:
    records = [ready(record_id(i), f"Item {i}") for i in range(count)]
    return one_base_seed(BASE_ID, TOKEN, "Benchmark", [table(TABLE, WORK_ITEM_FIELDS, records)])


def make_repo(path: Path, count: int) -> GitRepoBuilder:
    repo = GitRepoBuilder.init(path)
    repo.commit("chore: start")
    repo.branch("feature/bench")
    commits = math.ceil(count / RECORDS_PER_COMMIT)

    def message(i: int) -> str:
        ids = [record_id(n) for n in range((i - 1) * RECORDS_PER_COMMIT, min(i * RECORDS_PER_COMMIT, count))]
        return f"feat: change {i}\n\nRefs " + ", ".join(ids) + "\n"

    repo.fast_import(commits, message)
    return repo


def pipeline_env(repo: GitRepoBuilder, emulator_url: str, report: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "BITBUCKET_BRANCH": "feature/bench",
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_BUILD_NUMBER": "42",
        "BITBUCKET_PIPELINE_UUID": "{bench-pipeline}",
        "BITBUCKET_REPO_FULL_NAME": "bench/product",
        "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/bench/product",
        "AIRTABLE_TOKEN": TOKEN,
        "AIRTABLE_BASE_ID": BASE_ID,
        "AIRTABLE_TABLE": TABLE,
        "AIRTABLE_API_URL": emulator_url,
        "REPORT_FILE": str(report),
    }


def run_pipe(env: dict[str, str], cwd: Path, in_subprocess: bool) -> tuple[int, float]:
    started = time.perf_counter()
    if in_subprocess:
        proc = subprocess.run(
            [sys.executable, "-m", "pipe"], cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True
        )
        code = proc.returncode
    else:
        with contextlib.redirect_stdout(io.StringIO()):  # the pipe logs one line per record to stdout
            code = run(env, cwd)
    return code, time.perf_counter() - started


def kind(request: LoggedRequest) -> str:
    if "/meta/" in request.path:
        return "meta"
    if request.method == "GET" or request.path.endswith("/listRecords"):
        return "read"
    return "write"


@dataclass
class Pass:
    code: int
    wall: float
    kinds: Counter
    status_429: int
    span: float

    @property
    def requests(self) -> int:
        return sum(self.kinds.values())


def measure(emulator: AirtableEmulator, env: dict[str, str], cwd: Path, in_subprocess: bool) -> Pass:
    emulator.reset_log()
    code, wall = run_pipe(env, cwd, in_subprocess)
    log = emulator.requests
    arrivals = [r.arrival for r in log]
    return Pass(
        code=code,
        wall=wall,
        kinds=Counter(kind(r) for r in log),
        status_429=sum(1 for r in log if r.status == 429),
        span=(max(arrivals) - min(arrivals)) if arrivals else 0.0,
    )


def floor_requests(count: int, writes: bool = True) -> int:
    return 1 + math.ceil(count / READ_BATCH) + (math.ceil(count / WRITE_BATCH) if writes else 0)


def floor_seconds(requests: int) -> float:
    """First-to-last arrival under a sliding window of PER_SECOND per second: request k + PER_SECOND
    arrives at least one second after request k."""
    return float((requests - 1) // PER_SECOND) if requests else 0.0


def bench(count: int, workdir: Path, in_subprocess: bool) -> tuple[Pass, Pass]:
    repo = make_repo(workdir / f"repo-{count}", count)
    with AirtableEmulator(rate_limit_per_base=PER_SECOND, rate_limit_per_token=50, penalty_seconds=30.0) as emu:
        emu.load_seed(seed(count))
        env = pipeline_env(repo, emu.url, workdir / f"report-{count}.json")
        first = measure(emu, env, repo.path, in_subprocess)
        moved = sum(1 for r in emu.records(BASE_ID, TABLE) if r["fields"].get("Status") == "In Progress")
        if first.code != 0 or moved != count:
            raise SystemExit(f"{count} records: exit code {first.code}, {moved} records moved to In Progress")
        time.sleep(1.05)  # a later pipeline starts after the window of this one's last requests
        again = measure(emu, env, repo.path, in_subprocess)
        if again.code != 0:
            raise SystemExit(f"{count} records, re-run: exit code {again.code}")
    return first, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 100, 1000])
    parser.add_argument("--subprocess", action="store_true", help="run `python -m pipe` instead of pipe.flow.run")
    args = parser.parse_args()

    print(f"Build stage against the Airtable emulator: {PER_SECOND} requests per sliding second a base, 30 s lockout;")
    print(f"the pipe runs {'as `python -m pipe`' if args.subprocess else 'in-process (pipe.flow.run)'}.")
    print("floor: n = 1 schema + ceil(N/100) reads + ceil(N/10) writes requests (re-run: no writes), which a sliding")
    print("window of 5 per second spreads over at least floor((n - 1) / 5) seconds from the first to the last.")
    print()
    results = []
    with tempfile.TemporaryDirectory(prefix="airtable-sync-bench-") as tmp:
        for count in args.sizes:
            first, again = bench(count, Path(tmp), args.subprocess)
            results.append((count, first, again))
            print(f"measured {count} records", file=sys.stderr, flush=True)
    print_table(results)


def print_table(results: list[tuple[int, Pass, Pass]]) -> None:
    header = (
        f"{'records':>7} {'pass':>6} | {'meta':>4} {'reads':>5} {'writes':>6} {'total':>5} {'429s':>4} | "
        f"{'floor n':>7} {'floor s':>7} | {'span s':>6} {'wall s':>6} {'wall/floor':>10}"
    )
    lines = [header, "-" * len(header)]
    for count, first, again in results:
        for name, measured, need in (
            ("first", first, floor_requests(count)),
            ("re-run", again, floor_requests(count, writes=False)),
        ):
            floor = floor_seconds(need)
            ratio = f"{measured.wall / floor:.2f}x" if floor else "n/a"
            kinds = measured.kinds
            lines.append(
                f"{count:>7} {name:>6} | {kinds['meta']:>4} {kinds['read']:>5} {kinds['write']:>6} "
                f"{measured.requests:>5} {measured.status_429:>4} | {need:>7} {floor:>7.1f} | "
                f"{measured.span:>6.2f} {measured.wall:>6.2f} {ratio:>10}"
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
