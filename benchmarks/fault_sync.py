"""Benchmark: a merge of 1,000 work items and 1,000 changelog rows with injected faults, then a re-run.

    .venv/bin/python benchmarks/fault_sync.py [--quick] [--fault-rate 0.05] [--coda-fault-rate 0.25]
                                              [--records 1000] [--seed 7]

The scenario is the fault-injection suite's (testkit/fault_scenario.py, tests/integration/test_fault_injection.py):
the Airtable emulator holds 1,000 work items In Progress, the repository has a `v1.0.0` tag and then 1,000
Conventional Commits each naming one item, and the merge stage moves every item to Merged (five fields
written), upserts the release record 1.1.0 (linking the 1,000 items), upserts one Coda row per release-notes
entry (1,000) and appends the notes once to a Coda page.

1. `faulty`: every request to Airtable meets a fault with probability `--fault-rate` (to Coda
   `--coda-fault-rate`: the sync sends Coda about 15 requests, so a higher rate for it to meet a few), split
   evenly between a 429, a 503, a slow answer (2 s), a dropped connection and, for writes, an answer dropped
   after the write was carried out. The run may fail (exit 1) when a write cannot be replayed safely (the page
   append) or a fault outlasts the retries; the re-run is there for that.
2. `re-run`: the same pipeline again, with the faults off, started after the limits' windows have passed.
After each pass the emulators' state is checked (every record and row right, none duplicated, nothing lost
after the re-run) and the problems, if any, are printed.

Limits are the real ones: Airtable 5 requests per sliding second per base (50 per token) and a 30 s lockout
after an overflow, the pipe waiting AIRTABLE_RATE_LIMIT_WAIT (30 s) after a 429; Coda's published limits,
per user: read 100 / 6 s, write 10 / 6 s, doc content (row and page writes) 5 / 10 s, and writes landing
2 s after their 202. The pipe paces Coda doc-content writes at the stricter 3 / 10 s reading. `--quick`
multiplies every window, lockout, wait, backoff and polling interval on both sides by 0.05 (the pipe's own
pacing still keeps it under the emulators' limits), so the whole benchmark takes seconds, not minutes.

Figures, per pass and service: `sent` requests (attempts, as the pipe counts them; the emulators log the
same), `retries`, `429s` received (of which injected by a fault; the rest came from the emulator's limiter,
that is the pipe's pacing overshot), `5xx`, `dropped` connections (no answer, or no answer in time), and the
faults the emulator injected. `span` is the first-to-last request the pipe sent to that service (for Coda
from its first request after the last one to Airtable: the target check before the first write is left out),
`wall` the whole run.

The floor is the least time the rate limits allow for the requests the sync needs at best (no faults):
* Airtable: 1 schema read + ceil(N/100) record reads + ceil(N/10) record writes + 1 release read + 1 release
  upsert (re-run: no writes); under a sliding window of 5 per second, request k + 5 may arrive no earlier
  than one second after request k, so n requests span at least floor((n - 1) / 5) seconds.
* Coda: ceil(N/250) row upserts + 1 page append draw from the doc-content bucket: floor((w - 1) / 5) * 10 s
  under the published 5 / 10 s (0 s for 5 writes), floor((w - 1) / 3) * 10 s under the 3 / 10 s the pipe
  designs for; the reads (100 / 6 s) and the write bucket (10 / 6 s) add nothing at these counts.
* The pipe talks to Airtable first and to Coda after, so the run's floor is the sum (`floor`, published
  limits; `floor 3/10`, with the stricter Coda reading). `wall/floor` compares the run with it. Injected 429s
  add Airtable's mandated 30 s wait each, which no client can avoid: `floor+429` adds them. Figures only:
  nothing here asserts on timing.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipe.flow import run  # noqa: E402
from testkit import fault_scenario as fs  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator  # noqa: E402
from testkit.emulators.coda import CodaEmulator  # noqa: E402

QUICK_SCALE = 0.05
AIRTABLE_PER_WINDOW, AIRTABLE_WINDOW, AIRTABLE_429_WAIT = 5, 1.0, 30.0
CODA_CONTENT_WINDOW = 10.0
CODA_CONTENT_PUBLISHED, CODA_CONTENT_STRICT = 5, 3
CODA_ROWS_PER_REQUEST = 250  # pipe.clients.coda.MAX_ROWS_PER_REQUEST
SLOW_SECONDS = 2.0
MUTATION_DELAY = 2.0
SERVICES = ("airtable", "coda")


@dataclass
class Service:
    sent: int = 0
    retries: int = 0
    status_429: int = 0
    injected_429: int = 0
    status_5xx: int = 0
    dropped: int = 0
    faults: Counter = field(default_factory=Counter)
    span: float = 0.0
    logged: int = 0


@dataclass
class Pass:
    name: str
    code: int
    wall: float
    services: dict[str, Service]
    problems: list[str]
    targets: list[str]


def floor_seconds(requests: int, per_window: int, window: float) -> float:
    """First-to-last arrival of `requests` under a sliding window of `per_window` per `window` seconds."""
    return ((requests - 1) // per_window) * window if requests > 0 else 0.0


def airtable_need(records: int, writes: bool) -> int:
    return 1 + math.ceil(records / 100) + (math.ceil(records / 10) if writes else 0) + 1 + (1 if writes else 0)


def coda_content_writes(records: int, writes: bool) -> int:
    return math.ceil(records / CODA_ROWS_PER_REQUEST) + 1 if writes else 0


def floors(records: int, writes: bool, scale: float) -> dict[str, float]:
    airtable = floor_seconds(airtable_need(records, writes), AIRTABLE_PER_WINDOW, AIRTABLE_WINDOW * scale)
    content = coda_content_writes(records, writes)
    published = floor_seconds(content, CODA_CONTENT_PUBLISHED, CODA_CONTENT_WINDOW * scale)
    strict = floor_seconds(content, CODA_CONTENT_STRICT, CODA_CONTENT_WINDOW * scale)
    return {"airtable": airtable, "coda": published, "coda_strict": strict}


def span(times: list[float]) -> float:
    return max(times) - min(times) if times else 0.0


def measure(
    name: str, scenario: fs.Scenario, pacing: fs.Pacing, env: dict[str, str], *, complete: bool, coda_seen: int
) -> Pass:
    scenario.airtable.reset_log()
    out = io.StringIO()
    started = time.perf_counter()
    # The pipe logs one line per record to stdout; the emulators' servers print dropped connections to stderr.
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = run(env, scenario.repo.path)
    wall = time.perf_counter() - started
    stats = pacing.take()
    sent = pacing.take_sent()
    # The pipe checks the Coda targets (reads) before its first write, then syncs Airtable, then publishes to
    # Coda: Coda's span is its publishing phase, from its first request after the last one to Airtable.
    last_airtable = max(sent["airtable"], default=float("-inf"))
    spans = {"airtable": span(sent["airtable"]), "coda": span([t for t in sent["coda"] if t > last_airtable])}
    services = {s: Service() for s in SERVICES}
    logs: dict[str, list[Any]] = {"airtable": scenario.airtable.requests, "coda": scenario.coda.requests[coda_seen:]}
    for service in SERVICES:
        entry, log = services[service], logs[service]
        counted = stats[service]
        entry.sent, entry.retries, entry.status_429 = counted["requests"], counted["retries"], counted["429"]
        entry.status_5xx, entry.dropped = counted["5xx"], counted["dropped"]
        entry.logged = len(log)
        entry.injected_429 = sum(1 for r in log if r.status == 429 and r.fault)
        entry.faults = Counter(r.fault for r in log if r.fault)
        entry.span = spans[service]
    problems = fs.check_airtable(scenario, scenario_records(scenario), complete=complete)
    problems += fs.check_coda(scenario, scenario_records(scenario), complete=complete)
    problems += [f"Airtable got a create (POST {r.path})" for r in fs.airtable_creates(logs["airtable"])]
    problems += [f"Coda got an un-keyed row insert ({r.path})" for r in fs.unkeyed_coda_upserts(logs["coda"])]
    wanted = ("Coda table", "Coda page", "Airtable Releases", "Done:")
    targets = [line.split(": ", 1)[1].strip() for line in out.getvalue().splitlines() if any(w in line for w in wanted)]
    return Pass(name, code, wall, services, problems, targets)


def scenario_records(scenario: fs.Scenario) -> int:
    return len(scenario.shas)


def bench(records: int, fault_rate: float, coda_rate: float, seed: int, scale: float, workdir: Path) -> list[Pass]:
    airtable = AirtableEmulator(**fs.airtable_options(scale))
    airtable.load_seed(fs.AIRTABLE_SEED)
    coda = CodaEmulator.from_seed(fs.CODA_SEED, fault_seed=seed, **fs.coda_options(scale, MUTATION_DELAY * scale))
    with airtable, coda:
        scenario = fs.prepare(airtable, coda, workdir, records)
        env = scenario.env(AIRTABLE_RATE_LIMIT_WAIT=f"{AIRTABLE_429_WAIT * scale:g}")
        passes = []
        with fs.pipe_pacing(scale) as pacing:
            if fault_rate > 0 or coda_rate > 0:
                fs.inject_random_faults(scenario, fault_rate, coda_rate=coda_rate, seed=seed, slow=SLOW_SECONDS * scale)
            print("running the faulty pass...", file=sys.stderr, flush=True)
            passes.append(measure("faulty", scenario, pacing, env, complete=False, coda_seen=0))
            airtable.clear_faults()
            coda.clear_faults()
            time.sleep(CODA_CONTENT_WINDOW * scale + 0.5)  # a later pipeline: the limits' windows have passed
            print("running the re-run...", file=sys.stderr, flush=True)
            passes.append(measure("re-run", scenario, pacing, env, complete=True, coda_seen=len(coda.requests)))
    return passes


def print_results(passes: list[Pass], records: int, scale: float) -> None:
    header = (
        f"{'pass':<7} {'service':<8} {'exit':>4} | {'sent':>5} {'retries':>7} {'429s':>4} {'(inj)':>5} {'5xx':>4} "
        f"{'dropped':>7} {'faults':>6} | {'span s':>7} {'floor s':>7}"
    )
    lines = [header, "-" * len(header)]
    summary = []
    for measured in passes:
        writes = measured.name == "faulty"
        floor = floors(records, writes, scale)
        for service in SERVICES:
            s = measured.services[service]
            lines.append(
                f"{measured.name:<7} {service:<8} {measured.code:>4} | {s.sent:>5} {s.retries:>7} {s.status_429:>4} "
                f"{s.injected_429:>5} {s.status_5xx:>4} {s.dropped:>7} {sum(s.faults.values()):>6} | "
                f"{s.span:>7.2f} {floor[service]:>7.1f}"
            )
        total = floor["airtable"] + floor["coda"]
        strict = floor["airtable"] + floor["coda_strict"]
        injected_wait = measured.services["airtable"].injected_429 * AIRTABLE_429_WAIT * scale
        ratio = f"{measured.wall / total:.2f}x" if total else "n/a"
        summary.append(
            f"{measured.name:<7} wall {measured.wall:7.2f} s | floor {total:6.1f} s ({ratio}), floor 3/10 "
            f"{strict:6.1f} s, floor+429 {total + injected_wait:6.1f} s"
        )
    print("\n".join(lines))
    print()
    print("\n".join(summary))
    print()
    for measured in passes:
        kinds = Counter()
        for s in measured.services.values():
            kinds.update(s.faults)
        faults = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
        print(f"{measured.name}: faults injected: {faults}")
        for target in measured.targets:
            print(f"  {target}")
        if measured.problems:
            shown = "; ".join(measured.problems[:10])
            more = f" (and {len(measured.problems) - 10} more)" if len(measured.problems) > 10 else ""
            print(f"  PROBLEMS ({len(measured.problems)}): {shown}{more}")
        else:
            complete = "every record and row right" if measured.name != "faulty" else "what was written is right"
            print(f"  state: {complete}, none duplicated, no create or un-keyed insert sent")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"scale every limit, wait and window by {QUICK_SCALE}")
    parser.add_argument("--fault-rate", type=float, default=0.05, help="share of Airtable requests that meet a fault")
    parser.add_argument("--coda-fault-rate", type=float, default=0.25, help="share of Coda requests that meet a fault")
    parser.add_argument("--records", type=int, default=fs.RECORDS, help="work items and changelog rows")
    parser.add_argument("--seed", type=int, default=7, help="seed of the faults")
    args = parser.parse_args()
    scale = QUICK_SCALE if args.quick else 1.0

    limits = "scaled by 0.05 (--quick)" if args.quick else "real"
    print(
        f"Merge of {args.records} work items and {args.records} Coda rows, faults on {args.fault_rate:.0%} of "
        f"Airtable and {args.coda_fault_rate:.0%} of Coda requests (seed {args.seed}).\nLimits {limits}: Airtable 5/s "
        "per base, 30 s lockout and wait after a 429; Coda read 100/6 s, write 10/6 s, doc content 5/10 s "
        "(the pipe paces at 3/10 s)."
    )
    print()
    with tempfile.TemporaryDirectory(prefix="fault-sync-bench-") as tmp:
        passes = bench(args.records, args.fault_rate, args.coda_fault_rate, args.seed, scale, Path(tmp))
    print_results(passes, args.records, scale)
    if passes[-1].code != 0 or passes[-1].problems:
        raise SystemExit("the re-run did not finish the job (see above)")


if __name__ == "__main__":
    main()
