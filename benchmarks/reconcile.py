"""Benchmark: `STAGE: reconcile` on a large history: 10,000 commits, 1,000 release tags, 2,000 records.

    .venv/bin/python benchmarks/reconcile.py [--commits 10000] [--tag-every 10] [--records 2000]
                                             [--incident 200] [--sample 50] [--no-rate-limit]

It makes a git repository (testkit/gitrepos.py, `fast_import`: a linear main branch) whose commit i names record
(i - 1) // (commits / records) by record ID, every `--tag-every`th commit tagged `v0.<i>.0`, and an Airtable
emulator (testkit/emulators/airtable) with Airtable's limits on (5 requests per sliding second per base, 50 per
token, a 30-second lockout after a 429: any 429 is counted and shown) holding the records, all `Ready`, and a
deployments log (the tag at 80 % of the history to production, the one at 95 % to staging). Then, in-process
through `pipe.flow.run`:

1. **backfill**: `RECONCILE: apply` on the fresh base (what a team adopting the pipe runs once): every record
   gets its status, times, commit and links;
2. **report**: `RECONCILE: report` after an "incident" moved `--incident` records back to In Progress;
3. **apply**: `RECONCILE: apply` fixes them;
4. **sample**: `RECONCILE: report` with `RECONCILE_SAMPLE`.

For each pass it prints the requests by kind against the floor: 1 schema read, ceil(records/100) reads of the
work items (a sample: by ID, ceil(sample/100)), ceil(deployments/100) reads of the log, ceil(fixes/10) writes,
where fixes is the number of records written; the records target also reads back the statuses it wrote
(ceil(status fixes/100) reads: it sets a status again where a concurrent run moved one back), shown apart.
The rate limit spreads n requests over at least floor((n - 1) / 5) seconds. It counts git processes too (the
history is one `git log` and one `git show-ref`) and times the pass (wall). Figures only: nothing asserts on
timing.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipe.clients.git import GitRepo  # noqa: E402
from pipe.flow import run  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator, LoggedRequest  # noqa: E402
from testkit.gitrepos import GitRepoBuilder  # noqa: E402
from testkit.work_item_base import DATETIME, WORK_ITEM_FIELDS, one_base_seed, ready, table  # noqa: E402

BASE_ID = "appBenchmarkBase1"
TABLE = "Work Items"
DEPLOYMENTS = "Deployments"
TOKEN = "fake-airtable-token-benchmark"
PER_SECOND = 5


def record_id(n: int) -> str:
    return f"recBench{n:09d}"  # rec + 14 letters or digits


def seed(count: int) -> dict[str, Any]:
    log_fields = [
        {"name": "Deployment", "type": "singleLineText"},
        *({"name": name, "type": "singleLineText"} for name in ("Environment", "Commit", "Version", "Run")),
        {"name": "Deployed At", "type": "dateTime", "options": DATETIME},
    ]
    records = [ready(record_id(i), f"Item {i}") for i in range(count)]
    tables = [table(TABLE, WORK_ITEM_FIELDS, records), table(DEPLOYMENTS, log_fields)]
    return one_base_seed(BASE_ID, TOKEN, "Benchmark", tables)


def make_repo(path: Path, commits: int, records: int, tag_every: int) -> tuple[GitRepoBuilder, list[str]]:
    repo = GitRepoBuilder.init(path)
    per_record = max(1, commits // records)

    def message(i: int) -> str:
        return f"feat: change {i}\n\nRefs {record_id(min((i - 1) // per_record, records - 1))}\n"

    shas = repo.fast_import(commits, message, tag_every=tag_every)
    return repo, shas


@dataclass
class Pass:
    name: str
    code: int
    wall: float
    kinds: Counter
    status_429: int
    span: float
    git: Counter
    fixes: int
    status_fixes: int

    @property
    def requests(self) -> int:
        return sum(self.kinds.values())


def kind(request: LoggedRequest) -> str:
    if "/meta/" in request.path:
        return "schema"
    if DEPLOYMENTS in request.path.replace("%20", " "):
        return "log"
    if request.method == "GET" or request.path.endswith("/listRecords"):
        return "read"
    return "write"


@contextlib.contextmanager
def counting_git() -> Iterator[Counter]:
    """Counts the git processes the pipe starts, by subcommand."""
    calls: Counter = Counter()
    original = GitRepo.run

    def counted(self: GitRepo, *args: str, **kwargs: Any) -> str:
        calls[args[0] if args else "?"] += 1
        return original(self, *args, **kwargs)

    with mock.patch.object(GitRepo, "run", counted):
        yield calls


def measure(name: str, emulator: AirtableEmulator, env: dict[str, str], cwd: Path, report: Path) -> Pass:
    import json

    emulator.reset_log()
    env = {**env, "REPORT_FILE": str(report)}
    with counting_git() as git, contextlib.redirect_stdout(io.StringIO()):
        started = time.perf_counter()
        code = run(env, cwd)
        wall = time.perf_counter() - started
    log = emulator.requests
    arrivals = [r.arrival for r in log]
    data = json.loads(report.read_text())
    written = [r for r in data["records"] if r["fields_written"]]
    return Pass(
        name=name,
        code=code,
        wall=wall,
        kinds=Counter(kind(r) for r in log),
        status_429=sum(1 for r in log if r.status == 429),
        span=(max(arrivals) - min(arrivals)) if arrivals else 0.0,
        git=git,
        fixes=len(written),
        status_fixes=sum(1 for r in written if "Status" in r["fields_written"]),
    )


def floor_requests(records_read: int, deployments: int, fixes: int) -> int:
    return 1 + math.ceil(records_read / 100) + math.ceil(deployments / 100) + math.ceil(fixes / 10)


def floor_seconds(requests: int) -> float:
    return float((requests - 1) // PER_SECOND) if requests else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--tag-every", type=int, default=10)
    parser.add_argument("--records", type=int, default=2_000)
    parser.add_argument("--incident", type=int, default=200, help="records moved back before the report pass")
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--no-rate-limit", action="store_true", help="the emulator without Airtable's limits")
    args = parser.parse_args()
    limits: dict[str, Any] = (
        {"rate_limit_per_base": None, "rate_limit_per_token": None}
        if args.no_rate_limit
        else {"rate_limit_per_base": PER_SECOND, "rate_limit_per_token": 50, "penalty_seconds": 30.0}
    )
    with tempfile.TemporaryDirectory(prefix="reconcile-bench-") as tmp:
        started = time.perf_counter()
        repo, shas = make_repo(Path(tmp) / "repo", args.commits, args.records, args.tag_every)
        made = time.perf_counter() - started
        tags = len(repo.git("tag").split())
        print(f"history: {args.commits:,} commits, {tags:,} tags, {args.records:,} records (made in {made:.1f} s)")
        with AirtableEmulator(**limits) as emulator:
            emulator.load_seed(seed(args.records))
            deployed = [("production", shas[int(len(shas) * 0.8) - 1]), ("staging", shas[int(len(shas) * 0.95) - 1])]
            emulator.add_records(
                BASE_ID,
                DEPLOYMENTS,
                [
                    {
                        "Deployment": f"{env} @ {sha[:12]}",
                        "Environment": env,
                        "Commit": sha,
                        "Deployed At": f"2026-02-0{n + 1}T10:00:00.000Z",
                    }
                    for n, (env, sha) in enumerate(deployed)
                ],
            )
            env = {
                "STAGE": "reconcile",
                "AIRTABLE_TOKEN": TOKEN,
                "AIRTABLE_BASE_ID": BASE_ID,
                "AIRTABLE_TABLE": TABLE,
                "AIRTABLE_DEPLOYMENTS_TABLE": DEPLOYMENTS,
                "AIRTABLE_API_URL": emulator.url,
                "BITBUCKET_BRANCH": "main",
                "BITBUCKET_COMMIT": repo.head(),
                "BITBUCKET_BUILD_NUMBER": "900",
                "BITBUCKET_REPO_FULL_NAME": "bench/product",
            }
            passes = [measure("backfill", emulator, {**env, "RECONCILE": "apply"}, repo.path, Path(tmp) / "a.json")]
            time.sleep(1.05)
            moved = [{"id": record_id(i), "fields": {"Status": "In Progress"}} for i in range(0, args.records, 10)]
            for start in range(0, min(len(moved), args.incident), 10):
                emulator_update(emulator, moved[start : min(start + 10, args.incident)])
                time.sleep(0.25)  # a person's edits keep within the rate limit too
            time.sleep(1.05)
            passes.append(measure("report", emulator, env, repo.path, Path(tmp) / "b.json"))
            time.sleep(1.05)
            passes.append(measure("apply", emulator, {**env, "RECONCILE": "apply"}, repo.path, Path(tmp) / "c.json"))
            time.sleep(1.05)
            sample = {**env, "RECONCILE_SAMPLE": str(args.sample)}
            passes.append(measure("sample", emulator, sample, repo.path, Path(tmp) / "d.json"))
    print_table(passes, args.records, args.sample, len(deployed), not args.no_rate_limit)


def emulator_update(emulator: AirtableEmulator, records: list[dict[str, Any]]) -> None:
    """A person's edits, straight into the emulator's state (not counted as the pipe's requests)."""
    from pyairtable import Api

    Api(TOKEN, endpoint_url=emulator.url).table(BASE_ID, TABLE).batch_update(records)  # type: ignore[arg-type]


def print_table(passes: list[Pass], records: int, sample: int, deployments: int, limited: bool) -> None:
    limit = f"{PER_SECOND} requests per sliding second a base" if limited else "no rate limit"
    print(f"Airtable emulator: {limit}; the pipe in-process (pipe.flow.run)")
    header = (
        f"{'pass':>8} {'exit':>4} | {'schema':>6} {'reads':>5} {'log':>3} {'writes':>6} {'total':>5} {'429s':>4} | "
        f"{'fixed':>5} {'floor n':>7} {'read-back':>9} {'floor s':>7} | {'span s':>6} {'wall s':>6} | git processes"
    )
    lines = [header, "-" * len(header)]
    for p in passes:
        read = sample if p.name == "sample" else records
        need = floor_requests(read, deployments, p.fixes)
        back = math.ceil(p.status_fixes / 100)
        git = ", ".join(f"{name} {n}" for name, n in sorted(p.git.items()))
        lines.append(
            f"{p.name:>8} {p.code:>4} | {p.kinds['schema']:>6} {p.kinds['read']:>5} {p.kinds['log']:>3} "
            f"{p.kinds['write']:>6} {p.requests:>5} {p.status_429:>4} | {p.fixes:>5} {need:>7} {back:>9} "
            f"{floor_seconds(need + back):>7.1f} | {p.span:>6.2f} {p.wall:>6.2f} | {git}"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
