"""Benchmark: requests and wall time of `STAGE: start` per run, first run and re-run, against the floor.

    .venv/bin/python benchmarks/start_requests.py [--records 1 10 100]

For each number of records N it makes a base whose view "Ready for Dev" shows N Ready records, mirrors a
one-commit repository into the Bitbucket emulator, and runs the pipe in-process (`pipe.flow.run`) as the custom
pipeline `start-work` would: with RECORD_ID for N = 1, else with START_VIEW; then the same run again. The Airtable
emulator keeps its rate limit (5 requests per second per base) on, as the real API has it.

The floor is the fewest writes that leave every record with its branch, for a client that already knew what
both services held: Bitbucket one POST per branch, Airtable one PATCH per 10 records; nothing on a re-run.
Reads are what any client must do to know that: the records (one listing per 100), the branches that exist
(the pipe: one listing per 20 records) and, to create, the head of the main branch. `probe` is the update naming
no field that proves Airtable write access before a branch is created. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipe.flow import run  # noqa: E402
from testkit.bitbucket_repo import mirror  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator  # noqa: E402
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN, SAMPLE_SEED_PATH  # noqa: E402
from testkit.emulators.bitbucket import BitbucketEmulator  # noqa: E402
from testkit.gitrepos import GitRepoBuilder  # noqa: E402

WS, SLUG = "acme", "product"
VIEW = "Ready for Dev"


def seed(records: int) -> dict[str, Any]:
    data = json.loads(SAMPLE_SEED_PATH.read_text())
    table = next(t for t in data["bases"][0]["tables"] if t["name"] == "Work Items")
    table["views"] = [{"name": "Grid view"}, {"name": VIEW, "filterByFormula": "{Status} = 'Ready'"}]
    table["records"] = [r for r in table["records"] if r["fields"].get("Status") != "Ready"]
    table["records"] += [
        {"id": f"recBench{n:09d}", "fields": {"Name": f"Work item number {n}", "Status": "Ready"}}
        for n in range(records)
    ]
    return data


def measure(records: int) -> list[dict[str, Any]]:
    with (
        tempfile.TemporaryDirectory() as folder,
        AirtableEmulator.from_seed(seed(records)) as airtable,
        BitbucketEmulator(rate_limits=None) as bitbucket,
    ):
        origin = GitRepoBuilder.init(Path(folder) / "origin")
        origin.commit("chore: start")
        mirror(bitbucket, origin, WS, SLUG)
        token = bitbucket.add_token(WS, SLUG, scopes=["repository:write"], name="Start bot")
        source = {"RECORD_ID": "recBench000000000"} if records == 1 else {"START_VIEW": VIEW}
        env = {
            "STAGE": "start",
            **source,
            "BITBUCKET_REPO_FULL_NAME": f"{WS}/{SLUG}",
            "BITBUCKET_BRANCH": "main",
            "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
            "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
            "AIRTABLE_TABLE": "Work Items",
            "AIRTABLE_API_URL": airtable.url,
            "BITBUCKET_ACCESS_TOKEN": token,
            "BITBUCKET_API_URL": bitbucket.url,
        }
        rows = []
        for label in ("first run", "re-run"):
            time.sleep(1.1)  # a new run starts in a fresh second of Airtable's rate window, as real steps do
            bitbucket.clear_requests()
            airtable.reset_log()
            started = time.monotonic()
            with contextlib.redirect_stdout(io.StringIO()):
                code = run(dict(env), origin.path)
            elapsed = time.monotonic() - started
            assert code == 0, f"the run ended with {code}"
            first = label == "first run"
            at = airtable.requests
            probes = [r for r in at if r.method == "PATCH" and not any(x.get("fields") for x in r.body["records"])]
            rows.append(
                {
                    "label": label,
                    "at_reads": sum(1 for r in at if r.method == "GET"),
                    "at_probe": len(probes),
                    "at_writes": sum(1 for r in at if r.method == "PATCH") - len(probes),
                    "at_floor": math.ceil(records / 10) if first else 0,
                    "bb_reads": sum(1 for r in bitbucket.requests if r.method == "GET"),
                    "bb_writes": sum(1 for r in bitbucket.requests if r.method != "GET"),
                    "bb_floor": records if first else 0,
                    "branches": len(bitbucket.branches(WS, SLUG)) - 1,
                    "seconds": elapsed,
                }
            )
        return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, nargs="+", default=[1, 10, 100])
    args = parser.parse_args()
    print("STAGE: start, requests per run: Airtable reads / probe / writes (floor), Bitbucket reads / writes (floor)")
    header = (
        f"{'records':>7} {'run':<10} {'airtable r/p/w':>15} {'floor':>6} {'bitbucket r/w':>14} {'floor':>6} "
        f"{'branches':>9} {'seconds':>8}"
    )
    print(header)
    print("-" * len(header))
    for records in args.records:
        for row in measure(records):
            airtable = f"{row['at_reads']}/{row['at_probe']}/{row['at_writes']}"
            bitbucket = f"{row['bb_reads']}/{row['bb_writes']}"
            print(
                f"{records:>7} {row['label']:<10} {airtable:>15} {row['at_floor']:>6} {bitbucket:>14} "
                f"{row['bb_floor']:>6} {row['branches']:>9} {row['seconds']:>8.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
