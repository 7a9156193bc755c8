"""Benchmark: what the change journal in Airtable costs a merge, and what rolling the merge back costs.

    .venv/bin/python benchmarks/journal_rollback.py [--sizes 10 100] [--scale 0.01]

For each size N it runs the fault-injection scenario's merge (testkit/fault_scenario.py: N work items moved to
Merged, a release record, N changelog rows in the Coda table, the notes appended to the Coda page) twice, on
fresh emulators, without and with AIRTABLE_JOURNAL_TABLE, then rolls the merge back twice: from the journal
file (JOURNAL_FILE) and from the journal table (JOURNAL_RUN), each on a fresh copy of the merged state (the
second rollback runs after the first has undone everything, so it is measured on its own merge).

Printed per size: the entries journaled, the journal table's requests (one upsert per 10 entries) and what they
cost at Airtable's 5 requests per second per base (requests / 5 seconds, the floor), the merge's Airtable
requests with and without the journal, and each rollback's requests per service, its result and wall time.
Times are measured with the pipe's pacing and the emulators' limits scaled by `--scale` (1.0 is Airtable's and
Coda's real windows, slow): the request counts do not depend on it, the wall times do. Figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipe.flow import run  # noqa: E402
from testkit import fault_scenario as fs  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator  # noqa: E402
from testkit.emulators.coda import CodaEmulator  # noqa: E402
from testkit.journal_table import JOURNAL_TABLE, add_journal_table  # noqa: E402

AIRTABLE_PER_SECOND = 5


def emulators(scale: float) -> tuple[AirtableEmulator, CodaEmulator]:
    airtable = AirtableEmulator(**fs.airtable_options(scale))
    airtable.load_seed(fs.AIRTABLE_SEED)
    add_journal_table(airtable)
    coda = CodaEmulator.from_seed(fs.CODA_SEED, **fs.coda_options(scale, mutation_delay=0.02))
    return airtable.start(), coda.start()


def merge(size: int, scale: float, workdir: Path, journal_table: bool) -> tuple[fs.Scenario, dict, float]:
    airtable, coda = emulators(scale)
    scenario = fs.prepare(airtable, coda, workdir, size)
    extra = {"AIRTABLE_JOURNAL_TABLE": JOURNAL_TABLE} if journal_table else {}
    with fs.pipe_pacing(scale) as pacing, contextlib.redirect_stdout(io.StringIO()):
        start = time.monotonic()
        code = run(scenario.env(TIME_BUDGET="3600", **extra), scenario.repo.path)
        elapsed = time.monotonic() - start
    assert code == 0, f"the merge of {size} items ended with {code}"
    return scenario, pacing.take(), elapsed


def rollback(scenario: fs.Scenario, scale: float, source: str) -> tuple[int, dict, float, dict]:
    env = scenario.env(STAGE="rollback", BITBUCKET_BUILD_NUMBER="900", TIME_BUDGET="3600")
    env["REPORT_FILE"] = str(scenario.report.with_name(f"rollback-{source}.json"))
    env["AIRTABLE_JOURNAL_TABLE"] = JOURNAL_TABLE
    if source == "file":
        env["JOURNAL_FILE"] = str(scenario.report.with_name("report.journal.jsonl"))
    else:
        env["JOURNAL_RUN"] = fs.PIPELINE_UUID
    with fs.pipe_pacing(scale) as pacing, contextlib.redirect_stdout(io.StringIO()):
        start = time.monotonic()
        code = run(env, scenario.repo.path)
        elapsed = time.monotonic() - start
    summary = json.loads(Path(env["REPORT_FILE"]).read_text())["summary"]
    return code, pacing.take(), elapsed, summary


def stop(scenario: fs.Scenario) -> None:
    scenario.airtable.stop()
    scenario.coda.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--scale", type=float, default=0.01)
    args = parser.parse_args()
    print(f"Pacing and emulator limits scaled by {args.scale} (request counts do not depend on it)\n")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            plain, plain_requests, plain_time = merge(size, args.scale, Path(tmp) / "plain", journal_table=False)
            stop(plain)
            journaled, requests, merge_time = merge(size, args.scale, Path(tmp) / "journaled", journal_table=True)
            journal = journaled.report.with_name("report.journal.jsonl").read_text().splitlines()
            target = next(t for t in journaled.report_data()["targets"] if t["target"] == "Airtable change journal")
            entries = target["changes"]["entries"]
            table_requests = -(-entries // 10)
            print(f"== {size} work items, {size} changelog rows, one page section")
            print(f"  journaled entries:         {len(journal)} (appended to the table: {entries})")
            print(
                f"  journal table requests:    {table_requests} "
                f"(floor at {AIRTABLE_PER_SECOND}/s: {table_requests / AIRTABLE_PER_SECOND:.1f} s)"
            )
            print(
                f"  merge Airtable requests:   {plain_requests['airtable']['requests']} without the journal table, "
                f"{requests['airtable']['requests']} with it; wall {plain_time:.2f} s / {merge_time:.2f} s"
            )
            for source in ("file", "table"):
                if source == "table":  # a fresh merge: the first rollback undid everything
                    stop(journaled)
                    journaled, _, _ = merge(size, args.scale, Path(tmp) / "again", journal_table=True)
                code, used, elapsed, summary = rollback(journaled, args.scale, source)
                counts = ", ".join(f"{service} {stats['requests']}" for service, stats in used.items())
                print(
                    f"  rollback from the {source + ':':<7} exit {code}, {summary['fields_restored']} fields restored, "
                    f"{summary['records_deleted']} rows deleted; requests {counts}; wall {elapsed:.2f} s"
                )
            stop(journaled)
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
