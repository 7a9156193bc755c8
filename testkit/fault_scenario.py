"""The fault-injection scenario shared by tests/integration/test_fault_injection.py and
benchmarks/fault_sync.py: a merge-stage sync of 1,000 work items and 1,000 changelog rows.

* Airtable (the emulator, `sample_seed.json` plus 1,000 work items `Fault item N` in status In Progress,
  IDs `recFault000000001`…): the merge moves each to Merged and writes Last Commit, Commit URL, Build URL,
  Last Run and Merged At; the release record 1.1.0 (Releases table) links the 1,000 items.
* git: `v1.0.0` tagged, then 1,000 Conventional Commits; commit N is `feat(areaK): change N (recFault…N)`,
  so the release notes of 1.1.0 have 1,000 entries.
* Coda (the emulator, `sample_seed.json`): one row per entry in the Changelog table (upserted on Release +
  Entry Key), and the rendered notes appended once to the page Release Notes.

`check_airtable` / `check_coda` compare the emulators' state with what the sync must produce and return
the problems found (missing, wrong or duplicated records and rows), so the test asserts on an empty list
and the benchmark prints them.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

from pipe.clients.airtable import airtable_policy
from pipe.clients.coda import CodaLimits, MutationPolling, coda_policy
from pipe.clients.http import HttpPolicy
from testkit.emulators.airtable import AirtableEmulator
from testkit.emulators.airtable import Fault as AirtableFault
from testkit.emulators.coda import CodaEmulator, RateLimits
from testkit.gitrepos import GitRepoBuilder

ROOT = Path(__file__).resolve().parent.parent
AIRTABLE_SEED = ROOT / "testkit/emulators/airtable/sample_seed.json"
CODA_SEED = ROOT / "testkit/emulators/coda/sample_seed.json"
BASE_ID = "appSampleProduct1"
AIRTABLE_TOKEN = "fake-airtable-token-readwrite"  # in sample_seed.json
CODA_DOC_ID = "Rn7Q2xWk4T"
CODA_TABLE = "Changelog"
CODA_PAGE = "Release Notes"
CODA_TOKEN = "fake-coda-token-fault-injection"
WORK_ITEMS = "Work Items"
RELEASES = "Releases"
PREVIOUS_TAG = "v1.0.0"
VERSION = "1.1.0"
RECORDS = 1000
REPO_URL = "https://bitbucket.org/acme/product"
BUILD_NUMBER = "77"
PIPELINE_UUID = "{fault-injection-pipeline}"
MARKER = f"Published by airtable-coda-sync: release {VERSION}"


def record_id(n: int) -> str:
    """`rec` + 14 letters or digits, for n = 1…RECORDS."""
    return f"recFault{n:09d}"


def commit_message(n: int) -> str:
    return f"feat(area{n % 7}): change {n} ({record_id(n)})"


@dataclass
class Scenario:
    airtable: AirtableEmulator
    coda: CodaEmulator
    repo: GitRepoBuilder
    shas: list[str]  # commit N is shas[N - 1]
    report: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The merge step's environment (Pipelines variables and pipe variables)."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "BITBUCKET_BRANCH": "main",
            "BITBUCKET_COMMIT": self.repo.head(),
            "BITBUCKET_BUILD_NUMBER": BUILD_NUMBER,
            "BITBUCKET_PIPELINE_UUID": PIPELINE_UUID,
            "BITBUCKET_REPO_FULL_NAME": "acme/product",
            "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/acme/product",
            "AIRTABLE_TOKEN": AIRTABLE_TOKEN,
            "AIRTABLE_BASE_ID": BASE_ID,
            "AIRTABLE_TABLE": WORK_ITEMS,
            "AIRTABLE_API_URL": self.airtable.url,
            "AIRTABLE_RELEASES_TABLE": RELEASES,
            "CODA_API_TOKEN": CODA_TOKEN,
            "CODA_DOC_ID": CODA_DOC_ID,
            "CODA_TABLE": CODA_TABLE,
            "CODA_PAGE": CODA_PAGE,
            "CODA_API_URL": self.coda.url,
            "REPORT_FILE": str(self.report),
        }
        env.update(extra)
        return env

    def report_data(self) -> dict[str, Any]:
        return json.loads(self.report.read_text(encoding="utf-8"))


def seed_airtable(emulator: AirtableEmulator, count: int = RECORDS) -> None:
    """Add `count` work items in status In Progress to the sample base (already loaded)."""
    items = [
        {"id": record_id(n), "fields": {"Name": f"Fault item {n}", "Status": "In Progress"}}
        for n in range(1, count + 1)
    ]
    for start in range(0, len(items), 500):
        emulator.add_records(BASE_ID, WORK_ITEMS, items[start : start + 500])


def build_repo(path: Path, count: int = RECORDS) -> tuple[GitRepoBuilder, list[str]]:
    """`v1.0.0` on a first commit, then `count` commits each naming one work item by record ID."""
    repo = GitRepoBuilder.init(path)
    repo.commit("chore: initial import", {"README.md": "product\n"})
    repo.tag(PREVIOUS_TAG)
    shas = repo.fast_import(count, commit_message)
    return repo, shas


def prepare(airtable: AirtableEmulator, coda: CodaEmulator, workdir: Path, count: int = RECORDS) -> Scenario:
    """Seed both (started) emulators and build the repository under `workdir`."""
    seed_airtable(airtable, count)
    coda.add_token(CODA_TOKEN)
    repo, shas = build_repo(workdir / "product", count)
    return Scenario(airtable, coda, repo, shas, workdir / "report.json")


# -- the pipe's pacing ----------------------------------------------------------------------------


@dataclass
class Pacing:
    """The HTTP policies the pipe built during runs (for their counters), optionally scaled in time."""

    scale: float = 1.0
    read_timeout: float | None = None
    policies: dict[str, list[HttpPolicy]] = field(default_factory=lambda: {"airtable": [], "coda": []})
    sent: dict[str, list[float]] = field(default_factory=lambda: {"airtable": [], "coda": []})  # monotonic

    def take(self) -> dict[str, dict[str, int]]:
        """Counters (requests, retries, 429, 5xx, dropped) per service since the last call."""
        totals: dict[str, dict[str, int]] = {}
        for service, policies in self.policies.items():
            total: Counter[str] = Counter()
            for policy in policies:
                total.update(policy.stats)
            totals[service] = {k: total.get(k, 0) for k in ("requests", "retries", "429", "5xx", "dropped")}
            policies.clear()
        return totals

    def take_sent(self) -> dict[str, list[float]]:
        """When each request (attempt) was about to be sent, per service (time.monotonic()), since the last call."""
        sent = {service: list(times) for service, times in self.sent.items()}
        for times in self.sent.values():
            times.clear()
        return sent

    def _track(self, service: str, policy: HttpPolicy) -> HttpPolicy:
        limiters = policy.limiters

        def timed(request):
            self.sent[service].append(time.monotonic())
            return limiters(request)

        policy.limiters = timed
        self.policies[service].append(policy)
        return policy


@contextlib.contextmanager
def pipe_pacing(scale: float = 1.0, read_timeout: float | None = None) -> Iterator[Pacing]:
    """Runs of `pipe.flow.run` inside this block use the pipe's own policies, with every window, wait and
    backoff multiplied by `scale` (1.0: unchanged, as shipped), and record them in the returned `Pacing`.

    The pipe has no variable for its Coda pacing or polling, so tests and the quick benchmark scale them
    here, together with the emulators' limits (`airtable_options`, `coda_options`): the pipe's pacing then
    keeps under the emulators' scaled limits exactly as it keeps under the real ones.
    """
    pacing = Pacing(scale, read_timeout)

    def adjust(policy: HttpPolicy) -> HttpPolicy:
        policy.backoff_base *= scale
        policy.backoff_cap *= scale
        if read_timeout is not None:
            policy.read_timeout = read_timeout
        return policy

    def scaled_airtable(rate_limit_wait: float, deadline: float | None = None, **pace: Any) -> HttpPolicy:
        policy = airtable_policy(rate_limit_wait, deadline, **{**pace, "window": 1.0 * scale})
        return pacing._track("airtable", adjust(policy))

    def scaled_coda(
        deadline: float | None = None, *, limits: CodaLimits | None = None, rate_limit_wait: float = 10.0
    ) -> HttpPolicy:
        policy = coda_policy(
            deadline, limits=(limits or CodaLimits()).scaled(scale), rate_limit_wait=rate_limit_wait * scale
        )
        return pacing._track("coda", adjust(policy))

    def scaled_polling() -> MutationPolling:
        base = MutationPolling()
        return replace(
            base,
            first_delay=base.first_delay * scale,
            interval=base.interval * scale,
            max_interval=base.max_interval * scale,
        )

    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch("pipe.modes.sync.airtable_policy", scaled_airtable))
        stack.enter_context(mock.patch("pipe.modes.sync.coda_policy", scaled_coda))
        stack.enter_context(mock.patch("pipe.recovery.airtable_policy", scaled_airtable))  # STAGE: rollback
        stack.enter_context(mock.patch("pipe.recovery.services.coda_policy", scaled_coda))
        if scale != 1.0:
            stack.enter_context(mock.patch("pipe.sinks.coda_rows.MutationPolling", scaled_polling))
            stack.enter_context(mock.patch("pipe.sinks.coda_page.MutationPolling", scaled_polling))
            stack.enter_context(mock.patch("pipe.recovery.coda_rows.MutationPolling", scaled_polling))
            stack.enter_context(mock.patch("pipe.recovery.coda_page.MutationPolling", scaled_polling))
        yield pacing


def airtable_options(scale: float = 1.0) -> dict[str, Any]:
    """AirtableEmulator options: Airtable's limits (5 requests per second per base, 50 per token, 30 s
    lockout after an overflow) with the window and the lockout multiplied by `scale`."""
    return {
        "rate_limit_per_base": 5,
        "rate_limit_per_token": 50,
        "rate_window_seconds": 1.0 * scale,
        "penalty_seconds": 30.0 * scale,
    }


def coda_options(scale: float = 1.0, mutation_delay: float = 2.0) -> dict[str, Any]:
    """CodaEmulator options: Coda's published limits (read 100 / 6 s, write 10 / 6 s, doc content 5 / 10 s)
    with every window multiplied by `scale`, and writes landing `mutation_delay` seconds after their 202."""
    limits = RateLimits() if scale == 1.0 else RateLimits().scaled(scale)
    return {"rate_limits": limits, "mutation_delay": mutation_delay}


# -- faults -------------------------------------------------------------------------------------------

WORK_ITEMS_PATH = "/Work Items"  # searched in the URL-decoded path too
RELEASES_PATH = "/Releases"
CODA_ROWS_PATH = r"/rows$"


def inject_transient_faults(
    scenario: Scenario, *, seed: int = 1, page: bool = True, slow: float = 0.3, beyond_timeout: float | None = None
) -> list[Any]:
    """Faults the pipe's retries absorb: 429s, 503s, slow answers and dropped connections (before and after
    the write was carried out) on Airtable reads, record PATCHes and the release upsert, and on Coda row reads,
    row upserts and mutation polling; each fires a few times, at random but repeatably (seeded).

    `page`: the Coda page append's answer is lost once after the append was applied. An append is never
    replayed, so that run reports the page failed, and a re-run must find the release on the page rather
    than append it again. `beyond_timeout`: one Airtable record PATCH and one Coda row upsert are answered
    only after this many seconds (longer than the client's read timeout): the client gives up and sends the
    write again, and the first one is carried out late, after its replay. Returns the faults (`fired`)."""
    at, coda = scenario.airtable, scenario.coda
    patch = {"method": "PATCH", "path": WORK_ITEMS_PATH}
    read = {"method": "GET", "path": WORK_ITEMS_PATH}
    faults: list[Any] = []
    if beyond_timeout:
        faults += [
            at.inject(
                AirtableFault(kind="delay", seconds=beyond_timeout, times=1, probability=0.1, seed=seed, **patch)
            ),
            coda.add_fault("delay", delay=beyond_timeout, method="POST", path=CODA_ROWS_PATH, times=1, probability=0.5),
        ]
    faults += [
        at.inject(AirtableFault(status=503, method="GET", path="/meta/", times=1)),
        at.inject(AirtableFault(status=429, times=2, probability=0.05, seed=seed + 1, **patch)),
        at.inject(AirtableFault(status=503, times=3, probability=0.08, seed=seed + 2, **patch)),
        at.inject(AirtableFault(kind="delay", seconds=slow, times=3, probability=0.08, seed=seed + 3, **patch)),
        at.inject(AirtableFault(kind="drop", times=3, probability=0.08, seed=seed + 4, **patch)),
        at.inject(AirtableFault(kind="drop", after_apply=True, times=3, probability=0.08, seed=seed + 5, **patch)),
        at.inject(AirtableFault(status=503, times=2, probability=0.3, seed=seed + 6, **read)),
        at.inject(AirtableFault(kind="drop", times=1, probability=0.3, seed=seed + 7, **read)),
        at.inject(AirtableFault(kind="delay", seconds=slow, times=1, probability=0.3, seed=seed + 8, **read)),
        at.inject(AirtableFault(status=429, times=1, probability=0.3, seed=seed + 9, **read)),
        at.inject(AirtableFault(kind="drop", after_apply=True, method="PATCH", path=RELEASES_PATH, times=1)),
        coda.add_fault("status", status=429, method="POST", path=CODA_ROWS_PATH, times=1, probability=0.5),
        coda.add_fault("status", status=503, method="POST", path=CODA_ROWS_PATH, times=1, probability=0.5),
        coda.add_fault("drop", method="POST", path=CODA_ROWS_PATH, times=1, probability=0.5),
        coda.add_fault("drop_after_apply", method="POST", path=CODA_ROWS_PATH, times=1, probability=0.5),
        coda.add_fault("delay", delay=slow, method="POST", path=CODA_ROWS_PATH, times=1, probability=0.5),
        coda.add_fault("status", status=503, method="GET", path=CODA_ROWS_PATH, times=1, probability=0.5),
        coda.add_fault("drop", method="GET", path=CODA_ROWS_PATH, times=1, probability=0.5),
        coda.add_fault("delay", delay=slow, method="GET", path=CODA_ROWS_PATH, times=1, probability=0.5),
        coda.add_fault("status", status=429, method="GET", path="/columns", times=1),
        coda.add_fault("status", status=503, method="GET", path="/mutationStatus/", times=2, probability=0.5),
        coda.add_fault("drop", method="GET", path="/mutationStatus/", times=1, probability=0.5),
    ]
    if page:
        faults.append(coda.add_fault("drop_after_apply", method="PUT", path="/pages/", times=1))
    return faults


def inject_exhausting_faults(scenario: Scenario, *, airtable_after: int = 40, coda_after: int = 1) -> list[Any]:
    """Faults that outlast the pipe's retries, until `retire`d: every Airtable record PATCH after the first
    `airtable_after` is answered 503 (so a batch fails six times and the sink stops, leaving the rest to a
    re-run); the Coda row upsert after the first `coda_after` is carried out but its answer lost, and every
    later one is answered 503 (so that batch is reported failed although Coda applied it, and the batches
    after it fail). Inject after `inject_transient_faults`: the first fault that applies wins, so the
    transient ones still fire, and the passes counted here are requests they left alone."""
    at, coda = scenario.airtable, scenario.coda
    patch = {"method": "PATCH", "path": WORK_ITEMS_PATH}
    return [
        at.inject(AirtableFault(kind="delay", seconds=0.001, times=airtable_after, **patch)),  # a pass
        at.inject(AirtableFault(status=503, times=None, **patch)),
        coda.add_fault("delay", delay=0.001, method="POST", path=CODA_ROWS_PATH, times=coda_after),  # a pass
        coda.add_fault("drop_after_apply", method="POST", path=CODA_ROWS_PATH, times=1),
        coda.add_fault("status", status=503, method="POST", path=CODA_ROWS_PATH, times=None),
    ]


def retire(faults: Iterable[Any]) -> None:
    """Stop injected faults (of either emulator) from firing again; the others stay."""
    for fault in faults:
        fault.times = fired(fault)


def inject_random_faults(
    scenario: Scenario, rate: float, *, coda_rate: float | None = None, seed: int = 7, slow: float = 2.0
) -> list[Any]:
    """Every request to Airtable meets a fault with probability `rate` (to Coda: `coda_rate`, default `rate`),
    split evenly between a 429, a 503, a slow answer (`slow` seconds), a dropped connection and (writes) a
    dropped answer after the write was carried out. Forever (times=None), seeded."""
    share = rate / 5
    coda_share = (rate if coda_rate is None else coda_rate) / 5
    at, coda = scenario.airtable, scenario.coda
    faults: list[Any] = []
    for n, (kind, extra) in enumerate(
        [("status", {"status": 429}), ("status", {"status": 503}), ("delay", {"seconds": slow}), ("drop", {})]
    ):
        faults.append(at.inject(AirtableFault(kind=kind, times=None, probability=share, seed=seed + n, **extra)))
    for method in ("PATCH", "POST"):
        faults.append(
            at.inject(
                AirtableFault(
                    kind="drop", after_apply=True, method=method, times=None, probability=share, seed=seed + 10
                )
            )
        )
    for kind, extra in [("status", {"status": 429}), ("status", {"status": 503}), ("delay", {"delay": slow})]:
        faults.append(coda.add_fault(kind, times=None, probability=coda_share, **extra))
    faults.append(coda.add_fault("drop", times=None, probability=coda_share))
    faults.append(coda.add_fault("drop_after_apply", method="POST|PUT", times=None, probability=coda_share))
    return faults


def fired(fault: Any) -> int:
    """How often an injected fault (of either emulator) fired."""
    return int(getattr(fault, "fired", getattr(fault, "hits", 0)))


def fault_label(fault: Any) -> str:
    """`airtable 429`, `coda drop_after_apply`, ...: the service and what the fault does."""
    if isinstance(fault, AirtableFault):
        what = str(fault.status) if fault.kind == "status" else str(fault.kind)
        return f"airtable {what}{'_after_apply' if fault.after_apply else ''}"
    return f"coda {fault.status if fault.kind == 'status' else fault.kind}"


def fired_by_label(faults: Iterable[Any]) -> Counter[str]:
    """How often faults of each label fired."""
    counts: Counter[str] = Counter()
    for fault in faults:
        counts[fault_label(fault)] += fired(fault)
    return counts


# -- checks ---------------------------------------------------------------------------------------


def check_airtable(scenario: Scenario, count: int = RECORDS, *, complete: bool = True) -> list[str]:
    """Problems with the work items and the release record. `complete=False` (after a failed run) only
    checks that what was written is right: an item may still be In Progress, never half-written."""
    problems: list[str] = []
    records = {r["id"]: r for r in scenario.airtable.records(BASE_ID, WORK_ITEMS)}
    names = Counter(r["fields"].get("Name") for r in records.values())
    for n in range(1, count + 1):
        rid = record_id(n)
        record = records.get(rid)
        if record is None:
            problems.append(f"{rid}: missing")
            continue
        fields = record["fields"]
        if names[f"Fault item {n}"] != 1:
            problems.append(f"{rid}: {names[f'Fault item {n}']} records named 'Fault item {n}'")
        if fields.get("Status") == "In Progress" and not complete:
            written = {k for k in ("Last Commit", "Commit URL", "Merged At") if fields.get(k)}
            if written:
                problems.append(f"{rid}: still In Progress but {sorted(written)} written")
            continue
        sha = scenario.shas[n - 1]
        expected = {
            "Status": "Merged",
            "Last Commit": sha,
            "Commit URL": f"{REPO_URL}/commits/{sha}",
            "Last Run": PIPELINE_UUID,
        }
        for name, value in expected.items():
            if fields.get(name) != value:
                problems.append(f"{rid}: {name} is {fields.get(name)!r}, expected {value!r}")
        if not fields.get("Merged At"):
            problems.append(f"{rid}: Merged At is empty")
        if not str(fields.get("Build URL", "")).endswith(f"/pipelines/results/{BUILD_NUMBER}"):
            problems.append(f"{rid}: Build URL is {fields.get('Build URL')!r}")
    if len(records) != count + 8:  # the sample seed's 8 work items
        problems.append(f"{WORK_ITEMS}: {len(records)} records, expected {count + 8}")
    releases = [r for r in scenario.airtable.records(BASE_ID, RELEASES) if r["fields"].get("Version") == VERSION]
    if len(releases) > 1:
        problems.append(f"{RELEASES}: {len(releases)} records for {VERSION}")
    elif not releases:
        if complete:
            problems.append(f"{RELEASES}: no record for {VERSION}")
    else:
        links = releases[0]["fields"].get("Work Items") or []
        if sorted(links) != [record_id(n) for n in range(1, count + 1)]:
            problems.append(f"{RELEASES} {VERSION}: links {len(links)} work items, expected {count}")
        notes = releases[0]["fields"].get("Notes", "")
        if notes.count("change ") != count:
            problems.append(f"{RELEASES} {VERSION}: the notes list {notes.count('change ')} entries")
    return problems


def check_coda(scenario: Scenario, count: int = RECORDS, *, complete: bool = True) -> list[str]:
    """Problems with the changelog rows of the release and the page. Applies pending writes first (a
    run that stopped early may leave writes queued: they are part of the state a re-run meets)."""
    emulator = scenario.coda
    emulator.flush()
    problems: list[str] = []
    rows = [r for r in emulator.rows(CODA_DOC_ID, CODA_TABLE) if r.get("Release") == VERSION]
    by_commit: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_commit.setdefault(str(row.get("Commit")), []).append(row)
    keys = Counter(str(r.get("Entry Key")) for r in rows)
    for key, times in keys.items():
        if times > 1:
            problems.append(f"row {VERSION}/{key}: {times} rows")
    for n in range(1, count + 1):
        sha = scenario.shas[n - 1]
        found = by_commit.get(sha, [])
        if not found:
            if complete:
                problems.append(f"row for change {n}: missing")
            continue
        row = found[0]
        expected = {
            "Type": "feat",
            "Scope": f"area{n % 7}",
            "Description": f"change {n} ({record_id(n)})",
            "Records": f"Fault item {n}",
            "Breaking": False,
        }
        for column, value in expected.items():
            if row.get(column) != value:
                problems.append(f"row for change {n}: {column} is {row.get(column)!r}, expected {value!r}")
        if not row.get("Entry Key"):
            problems.append(f"row for change {n}: no Entry Key")
    if complete and len(rows) != count:
        problems.append(f"{CODA_TABLE}: {len(rows)} rows for {VERSION}, expected {count}")
    markers = [line for line in emulator.page_text(CODA_DOC_ID, CODA_PAGE).splitlines() if line.strip() == MARKER]
    if len(markers) > 1 or (complete and not markers):
        problems.append(f"page {CODA_PAGE}: release {VERSION} appears {len(markers)} times")
    return problems


# -- request logs -----------------------------------------------------------------------------------

AIRTABLE_WRITES = ("POST", "PATCH", "PUT", "DELETE")


def airtable_writes(requests: Iterable[Any]) -> list[Any]:
    """Write requests in an Airtable emulator log (POST listRecords is a read)."""
    return [r for r in requests if r.method in AIRTABLE_WRITES and not r.path.endswith("/listRecords")]


def airtable_creates(requests: Iterable[Any]) -> list[Any]:
    """Plain creates (POST to a table): the pipe must never send one (it PATCHes and upserts)."""
    return [r for r in requests if r.method == "POST" and not r.path.endswith("/listRecords")]


def coda_writes(requests: Iterable[Any]) -> list[Any]:
    return [r for r in requests if r.method in ("POST", "PUT", "PATCH", "DELETE")]


def unkeyed_coda_upserts(requests: Iterable[Any]) -> list[Any]:
    """Row inserts without key columns (would duplicate when replayed): the pipe must never send one."""
    found = []
    for r in requests:
        if r.method == "POST" and re.search(r"/rows$", r.path):
            body = r.body if isinstance(r.body, Mapping) else _json(r.body)
            if body.get("rows") and not body.get("keyColumns"):
                found.append(r)
    return found


def _json(raw: Any) -> dict[str, Any]:
    if isinstance(raw, bytes | bytearray):
        raw = raw.decode("utf-8", "replace")
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
