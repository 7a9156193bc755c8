"""Pipelines at the same time (docs/concurrency.md): the scenario of tests/integration/test_concurrency.py and
benchmarks/concurrent_runs.py.

A round is one change going all the way. On `origin`, a branch `feature/FEAT-<n>-change-<r>` gets two
commits (one names a work item by record ID, one names a work item whose status people own); the clones for
its branch build and its pull-request pipeline are made then, before the merge; the branch is merged into
main (Bitbucket's merge message), and the clones for the main-branch steps are made. Then real
`python -m pipe` processes start at once, each in its own clone with its own step variables, as Pipelines
would run them: the branch build, the pull-request review, the merge, the deploys of the merge commit to
staging and to production, and a second copy of the last three (a re-run, or a step started twice; STEPS;
a round that stops at staging, STAGING_STEPS, runs two builds and two reviews instead), each after a random
delay of up to `START_SPREAD` seconds, against one Airtable and one Coda emulator whose
requests take a random time (`latency`), so the interleavings differ from round to round.

After the round, `check_round` compares what the emulators hold with what the furthest stage implies and
returns the problems found (an empty list when all is right) with the figures: backward end states,
duplicates, and the transient backward writes the Airtable request log shows (a write of a status behind
one written before it, whether a later write repaired it). Then the merge step runs once more on its own:
a re-run must write nothing to Coda and no status, release or deployment to Airtable.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from pipe.config.file import Workflow
from pipe.model import Stage
from testkit.emulators.airtable import AirtableEmulator
from testkit.emulators.airtable import LoggedRequest as AirtableRequest
from testkit.emulators.coda import CodaEmulator, RateLimits
from testkit.gitrepos import GitRepoBuilder, bitbucket_merge_message

ROOT = Path(__file__).resolve().parent.parent
CODA_SEED = ROOT / "testkit/emulators/coda/sample_seed.json"
SAMPLE_AIRTABLE_SEED = ROOT / "testkit/emulators/airtable/sample_seed.json"
BASE_ID = "appSampleProduct1"
AIRTABLE_TOKEN = "fake-airtable-token-readwrite"  # in the Airtable sample seed
CODA_TOKEN = "fake-coda-token-concurrency"
CODA_DOC_ID = "Rn7Q2xWk4T"
CODA_TABLE = "Changelog"
CODA_PAGE = "Release Notes"
WORK_ITEMS, RELEASES, DEPLOYMENTS = "Work Items", "Releases", "Deployments"
MARKER_PREFIX = "Published by airtable-coda-sync: release "
FIRST_TAG = "1.4.0"  # the sample seed's last release
REPO = "acme/product"
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})
WORKFLOW = Workflow()  # the default workflow, which the runs use

START_SPREAD = 0.6  # seconds: each process starts after a random delay up to this
PROCESS_TIMEOUT = 120.0  # seconds a process may take before the round counts it as hung
TIME_BUDGET = 90  # TIME_BUDGET of every run (the recent window for stage times stays 900 s)

# The steps of a round: (name, kind). Kinds: build, review, merge, staging, production. 8 processes: the CI
# test's two cores start 8 Python processes at once in a few seconds (ALL_STEPS: 9, for the benchmark).
STEPS: tuple[tuple[str, str], ...] = (
    ("build", "build"),
    ("review", "review"),
    ("merge", "merge"),
    ("merge again", "merge"),
    ("staging", "staging"),
    ("staging again", "staging"),
    ("production", "production"),
    ("production again", "production"),
)
ALL_STEPS: tuple[tuple[str, str], ...] = (STEPS[0], ("build again", "build"), *STEPS[1:])
# A round that stops at staging (the release is not deployed to production yet): 8 processes.
STAGING_STEPS: tuple[tuple[str, str], ...] = (
    *(step for step in ALL_STEPS if step[1] != "production"),
    ("review again", "review"),
)
# The status each kind of step moves records to, and the environment it deploys to.
STAGE_STATUS = {"build": "In Progress", "review": "In Review", "merge": "Merged"}
ENVIRONMENTS = ("staging", "production")
CONFIG_FILE = ".airtable-coda-sync.yml"
DATETIME = {"timeZone": "utc"}


def airtable_seed(staged_at: bool) -> dict[str, Any]:
    """The Airtable sample seed; with `staged_at`, the work items have a `Staged At` dateTime field too (the
    pipe's optional `staged_at`: without it nothing records that staging was deployed)."""
    seed = json.loads(SAMPLE_AIRTABLE_SEED.read_text(encoding="utf-8"))
    if staged_at:
        for base in seed["bases"]:
            for table in base["tables"]:
                if table["name"] == WORK_ITEMS:
                    table["fields"].append({"name": "Staged At", "type": "dateTime", "options": DATETIME})
    return seed


# Time on both sides is this fraction of real time: the emulators' rate-limit windows, lockouts and write
# delays, and the pipe's own pacing, waits after a 429, backoff and polling (testkit/timescale: the pipe has no
# variables for most of them), so the pipe's pacing keeps under the emulators' limits as under the real ones.
TIME_SCALE = 0.025


# Airtable locks a base out for 30 s after an overflow. Every run paces itself to the whole base's 5 requests
# per second, so 9 runs at once overflow it; with the 30 s lockout a round took two to three times as long and,
# before 429s stopped counting as attempts (pipe.clients.crowd), a run once used up its attempts
# (docs/concurrency.md, benchmarks/concurrent_runs.py --lockout 30). The test keeps Airtable's window and
# limits and shortens the lockout (and AIRTABLE_RATE_LIMIT_WAIT) to 2 s.
AIRTABLE_LOCKOUT = 2.0


def airtable_options(seed: int, scale: float = TIME_SCALE, lockout: float = AIRTABLE_LOCKOUT) -> dict[str, Any]:
    """Airtable's limits (5 requests per second per base, 50 per token, a lockout of the base after an
    overflow, `lockout` seconds long) in scaled time, and 2-40 ms per request at random."""
    return {
        "rate_limit_per_base": 5,
        "rate_limit_per_token": 50,
        "rate_window_seconds": 1.0 * scale,
        "penalty_seconds": lockout * scale,
        "latency": (0.002, 0.04),
        "latency_seed": seed,
        "id_seed": seed,
    }


def coda_options(seed: int, scale: float = TIME_SCALE, read_lag: float = 30.0) -> dict[str, Any]:
    """Coda's published limits per user (doc content: the stricter 3 writes per 10 s), writes landing 4 to
    20 s after their 202 and then staying out of reads for `read_lag` seconds more (stale snapshots; the
    reference says "within 30 seconds"), all in scaled time; and 2-40 ms per request at random."""
    return {
        "rate_limits": RateLimits().scaled(scale),
        "mutation_delay": 4.0 * scale,
        "mutation_jitter": 16.0 * scale,
        "read_lag": read_lag * scale,
        "latency": (0.002, 0.04),
        "fault_seed": seed,
        "id_seed": seed,
    }


# -- the rounds ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Items:
    """The work items of one round: `branch` (named by the branch), `by_id` (by record ID in a commit
    message), `owned` (by key in a commit message, in a status people own: its status is never written)."""

    branch: str
    by_id: str
    owned: str
    keys: Mapping[str, str]  # record ID -> key

    @property
    def moved(self) -> tuple[str, str]:
        return (self.branch, self.by_id)


@dataclass
class Step:
    name: str
    kind: str
    clone: GitRepoBuilder
    env: dict[str, str]
    log: Path
    delay: float = 0.0
    code: int | None = None
    seconds: float = 0.0

    @property
    def report(self) -> dict[str, Any] | None:
        path = Path(self.env["REPORT_FILE"])
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


@dataclass
class Round:
    number: int
    items: Items
    feature: str  # the feature branch's head
    merge: str  # the merge commit on main
    steps: list[Step]
    started: float = 0.0
    seconds: float = 0.0
    airtable_log: list[AirtableRequest] = field(default_factory=list)
    coda_writes: list[str] = field(default_factory=list)
    coda_429: int = 0

    @property
    def environments(self) -> tuple[str, ...]:
        """The environments the round deploys to."""
        return tuple(e for e in ENVIRONMENTS if any(s.kind == e for s in self.steps))

    @property
    def furthest(self) -> str:
        """The status the furthest step of the round moves the work items to."""
        kinds = {s.kind for s in self.steps}
        statuses = [WORKFLOW.stage_status(Stage.DEPLOY, e) for e in self.environments]
        statuses += [status for kind, status in STAGE_STATUS.items() if kind in kinds]
        return max((x for x in statuses if x), key=WORKFLOW.statuses.index)

    @property
    def version(self) -> str | None:
        for step in self.steps:
            report = step.report if step.kind == "merge" else None
            if report and report.get("release"):
                return str(report["release"]["version"])
        return None


class Scenario:
    def __init__(
        self,
        airtable: AirtableEmulator,
        coda: CodaEmulator,
        workdir: Path,
        seed: int = 1,
        lockout: float = AIRTABLE_LOCKOUT,
        scale: float = TIME_SCALE,
        staged_at: bool = False,
    ):
        """`lockout` and `scale`: as the emulators were started with (airtable_options, coda_options);
        `staged_at`: the Airtable emulator was loaded with `airtable_seed(staged_at=True)`, and the config file
        maps the field."""
        self.airtable = airtable
        self.lockout = lockout  # the Airtable emulator's lockout in unscaled seconds (AIRTABLE_RATE_LIMIT_WAIT)
        self.scale = scale
        self.coda = coda
        self.workdir = workdir
        self.rng = random.Random(seed)
        coda.add_token(CODA_TOKEN)
        self.origin = GitRepoBuilder.init(workdir / "origin")
        files = {"app.txt": "1\n"}
        if staged_at:
            files[CONFIG_FILE] = "airtable:\n  fields:\n    staged_at: Staged At\n"
        self.origin.commit("feat: login page FEAT-101", files)
        self.origin.tag(FIRST_TAG)

    # -- one round ---------------------------------------------------------------------------------

    def prepare_round(self, number: int, steps_of_round: Sequence[tuple[str, str]] = STEPS) -> Round:
        """The commits, the work items and a clone per step of round `number` (STEPS, or STAGING_STEPS for a
        round that does not deploy to production)."""
        items = self._add_items(number)
        origin = self.origin
        branch = f"feature/{items.keys[items.branch]}-change-{number}"
        origin.branch(branch, "main")
        origin.commit(f"feat: change {number}", {f"change-{number}.txt": "1\n"})
        origin.commit(
            f"fix: edge case of change {number} ({items.by_id}); see {items.keys[items.owned]}",
            {f"change-{number}.txt": "2\n"},
        )
        feature = origin.head()
        folder = self.workdir / f"round-{number}"
        steps: list[Step] = []
        for name, kind in steps_of_round:
            if kind == "build":
                steps.append(
                    self._step(folder, name, kind, origin.pipelines_branch_checkout(_dir(folder, name), branch))
                )
            elif kind == "review":
                clone = origin.pipelines_pr_checkout(_dir(folder, name), branch, "main", depth=None)
                steps.append(self._step(folder, name, kind, clone))
        for step in steps:  # the branch steps saw main before the merge (as Pipelines clones it then)
            step.clone.git("fetch", "--quiet", "origin", "+refs/heads/main:refs/remotes/origin/main")
        origin.checkout("main")
        merge = origin.merge(branch, bitbucket_merge_message(branch, 100 + number))
        for name, kind in steps_of_round:
            if kind not in ("build", "review"):
                steps.append(self._step(folder, name, kind, origin.clone(_dir(folder, name), branch="main")))
        by_name = {s.name: s for s in steps}
        ordered = [by_name[name] for name, _ in steps_of_round]
        for index, step in enumerate(ordered):
            step.env.update(self._variables(step.kind, number, index, branch, feature, merge, step))
            step.delay = self.rng.uniform(0.0, START_SPREAD)
        return Round(number, items, feature, merge, ordered)

    def run_round(self, round_: Round) -> None:
        """Start every step's process (each after its delay), wait for all; keep the round's request logs."""
        self.airtable.reset_log()
        coda_before = len(self.coda.requests)
        round_.started = time.monotonic()
        running: list[tuple[Step, subprocess.Popen[bytes], Any]] = []
        for step in sorted(round_.steps, key=lambda s: s.delay):
            pause = round_.started + step.delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            out = step.log.open("wb")
            process = subprocess.Popen(
                [sys.executable, "-m", "pipe"], cwd=step.clone.path, env=step.env, stdout=out, stderr=subprocess.STDOUT
            )
            running.append((step, process, out))
        while running:
            time.sleep(0.02)
            hung = time.monotonic() > round_.started + PROCESS_TIMEOUT
            for entry in list(running):
                step, process, out = entry
                if hung and process.poll() is None:
                    process.kill()
                code = process.poll()
                if code is None:
                    continue
                step.code = code
                step.seconds = time.monotonic() - round_.started - step.delay
                out.close()
                running.remove(entry)
        round_.seconds = time.monotonic() - round_.started
        round_.airtable_log = self.airtable.requests
        coda_requests = self.coda.requests[coda_before:]
        round_.coda_writes = _coda_writes(coda_requests)
        round_.coda_429 = sum(1 for r in coda_requests if r.status == 429)

    def rerun(self, round_: Round, name: str = "merge") -> Rerun:
        """Run one step of the round again, on its own; return what it wrote."""
        step = next(s for s in round_.steps if s.name == name)
        self.airtable.reset_log()
        coda_before = len(self.coda.requests)
        env = {**step.env, "REPORT_FILE": str(step.log.with_suffix(".rerun.json"))}
        with step.log.with_suffix(".rerun.log").open("wb") as out:
            code = subprocess.run(
                [sys.executable, "-m", "pipe"], cwd=step.clone.path, env=env, stdout=out, stderr=subprocess.STDOUT
            ).returncode
        return Rerun(name, code, self.airtable.requests, _coda_writes(self.coda.requests[coda_before:]))

    def finish_round(self, round_: Round) -> None:
        """Tag the merge commit with the round's release, as a release process would: the next round's merge
        then publishes the next version."""
        if round_.version:
            self.origin.tag(round_.version, round_.merge)

    # -- set-up helpers ----------------------------------------------------------------------------

    def _add_items(self, number: int) -> Items:
        keys = {"branch": f"FEAT-{700 + number}", "by_id": f"FEAT-{800 + number}", "owned": f"FEAT-{900 + number}"}
        records = [
            {"Name": f"Change {number}", "Key": keys["branch"], "Status": "Ready", "Type": "Feature"},
            {"Name": f"Edge case {number}", "Key": keys["by_id"], "Status": "In Progress", "Type": "Bug"},
            {"Name": f"Blocked item {number}", "Key": keys["owned"], "Status": "Blocked", "Type": "Chore"},
        ]
        ids = self.airtable.add_records(BASE_ID, WORK_ITEMS, records)
        return Items(ids[0], ids[1], ids[2], dict(zip(ids, keys.values(), strict=True)))

    def _step(self, folder: Path, name: str, kind: str, clone: GitRepoBuilder) -> Step:
        return Step(name, kind, clone, {}, folder / f"{_slug(name)}.log")

    def _variables(
        self, kind: str, number: int, index: int, branch: str, feature: str, merge: str, step: Step
    ) -> dict[str, str]:
        build = str(1000 * number + index)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.workdir),
            "LC_ALL": "C.UTF-8",
            "PYTHONPATH": os.pathsep.join((str(ROOT / "testkit/timescale"), str(ROOT))),
            "PIPE_TEST_TIME_SCALE": str(self.scale),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "BITBUCKET_BUILD_NUMBER": build,
            "BITBUCKET_PIPELINE_UUID": f"{{pipeline-{build}}}",
            "BITBUCKET_REPO_FULL_NAME": REPO,
            "BITBUCKET_GIT_HTTP_ORIGIN": f"http://bitbucket.org/{REPO}",
            "BITBUCKET_CLONE_DIR": str(step.clone.path),
            "AIRTABLE_TOKEN": AIRTABLE_TOKEN,
            "AIRTABLE_BASE_ID": BASE_ID,
            "AIRTABLE_TABLE": WORK_ITEMS,
            "AIRTABLE_API_URL": self.airtable.url,
            "AIRTABLE_RELEASES_TABLE": RELEASES,
            "AIRTABLE_DEPLOYMENTS_TABLE": DEPLOYMENTS,
            "AIRTABLE_RATE_LIMIT_WAIT": str(self.lockout * self.scale),
            "KEY_PATTERN": r"FEAT-\d+",
            "KEY_FIELD": "Key",
            "CODA_API_TOKEN": CODA_TOKEN,
            "CODA_DOC_ID": CODA_DOC_ID,
            "CODA_TABLE": CODA_TABLE,
            "CODA_PAGE": CODA_PAGE,
            "CODA_API_URL": self.coda.url,
            "TIME_BUDGET": str(TIME_BUDGET),
            "REPORT_FILE": str(step.log.with_suffix(".json")),
        }
        if kind in ("build", "review"):
            env.update(BITBUCKET_BRANCH=branch, BITBUCKET_COMMIT=feature)
        if kind == "review":
            env.update(BITBUCKET_PR_ID=str(100 + number), BITBUCKET_PR_DESTINATION_BRANCH="main")
        if kind in ("merge", "staging", "production"):
            env.update(BITBUCKET_BRANCH="main", BITBUCKET_COMMIT=merge)
        if kind in ("staging", "production"):
            env["BITBUCKET_DEPLOYMENT_ENVIRONMENT"] = kind
        return env


@dataclass(frozen=True)
class Rerun:
    name: str
    code: int
    airtable_log: list[AirtableRequest]
    coda_writes: list[str]

    def writes(self) -> list[str]:
        """What a re-run must not write: anything to Coda; to Airtable a status, a release or a deployment."""
        found = [f"Coda {w}" for w in self.coda_writes]
        for request in self.airtable_log:
            if request.method not in WRITES or not request.applied or request.path.endswith("/listRecords"):
                continue
            table = _table(request)
            if table in (RELEASES, DEPLOYMENTS):
                found.append(f"Airtable {request.method} {table}")
            elif table == WORK_ITEMS and any("Status" in r.get("fields", {}) for r in _body_records(request)):
                found.append(f"Airtable {request.method} {table} Status")
        return found


# -- checks ----------------------------------------------------------------------------------------


@dataclass
class Figures:
    """What one round (or all rounds, summed) showed."""

    processes: int = 0
    rounds: int = 0
    failed_processes: int = 0
    backward_end_states: int = 0
    duplicates: int = 0
    transient_backward_writes: int = 0
    repaired_backward_writes: int = 0
    human_owned_overwrites: int = 0
    rerun_writes: int = 0
    status_writes: int = 0
    removed_copies: int = 0  # records and page sections created twice and deleted again by the runs
    airtable_429: int = 0  # requests the Airtable emulator refused for its rate limit (the runs retried them)
    coda_429: int = 0
    seconds: list[float] = field(default_factory=list)
    at_once: list[int] = field(default_factory=list)  # processes per round
    behind_seconds: tuple[float, ...] = ()  # how long each repaired backward write stood (test time)

    def add(self, other: Figures) -> None:
        for name in (
            "processes",
            "rounds",
            "failed_processes",
            "backward_end_states",
            "duplicates",
            "transient_backward_writes",
            "repaired_backward_writes",
            "human_owned_overwrites",
            "rerun_writes",
            "status_writes",
            "removed_copies",
            "airtable_429",
            "coda_429",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.seconds += other.seconds
        self.at_once += other.at_once
        self.behind_seconds += other.behind_seconds

    def lines(self) -> list[str]:
        slowest = max(self.seconds, default=0.0)
        mean = sum(self.seconds) / len(self.seconds) if self.seconds else 0.0
        at_once = " or ".join(str(n) for n in sorted(set(self.at_once)))
        return [
            f"processes: {self.processes} in {self.rounds} rounds "
            f"({at_once} at once; a round took {mean:.1f} s on average, {slowest:.1f} s at most)",
            f"failed processes (exit code not 0): {self.failed_processes}",
            f"backward end states: {self.backward_end_states}",
            f"duplicates (page sections, Coda rows, release records, deployment records): {self.duplicates}",
            f"copies created at the same time and deleted again by the runs: {self.removed_copies}",
            f"human-owned statuses written: {self.human_owned_overwrites}",
            f"429 answers (retried by the runs): Airtable {self.airtable_429}, Coda {self.coda_429}",
            f"writes by re-runs after a round (Coda; Airtable status, release, deployment): {self.rerun_writes}",
            f"status writes: {self.status_writes}, of which transient backward writes: "
            f"{self.transient_backward_writes} ({self.repaired_backward_writes} repaired by a later write"
            + (
                f", which came {statistics.median(self.behind_seconds):.2f} s later in the median, "
                f"{max(self.behind_seconds):.2f} s at most"
                if self.behind_seconds
                else ""
            )
            + ")",
        ]


def check_round(scenario: Scenario, round_: Round, rerun: Rerun | None = None) -> tuple[list[str], Figures]:
    """The problems of a round (empty: all right) and its figures."""
    problems: list[str] = []
    figures = Figures(processes=len(round_.steps), rounds=1, seconds=[round_.seconds], at_once=[len(round_.steps)])
    for step in round_.steps:
        if step.code != 0:
            figures.failed_processes += 1
            tail = step.log.read_text(errors="replace").strip().splitlines()[-3:]
            problems.append(f"round {round_.number}: {step.name} exited {step.code}: {' | '.join(tail)}")
    _check_statuses(scenario, round_, problems, figures)
    _check_release(scenario, round_, problems, figures)
    _check_coda(scenario, round_, problems, figures)
    figures.removed_copies += removed_copies(round_)
    figures.airtable_429 += sum(1 for r in round_.airtable_log if r.status == 429)
    figures.coda_429 += round_.coda_429
    if rerun is not None:
        written = rerun.writes()
        figures.rerun_writes += len(written)
        if rerun.code != 0:
            problems.append(f"round {round_.number}: the re-run of {rerun.name} exited {rerun.code}")
        if written:
            problems.append(f"round {round_.number}: the re-run of {rerun.name} wrote {written}")
    return problems, figures


def _check_statuses(scenario: Scenario, round_: Round, problems: list[str], figures: Figures) -> None:
    items = round_.items
    records = {r["id"]: r["fields"] for r in scenario.airtable.records(BASE_ID, WORK_ITEMS)}
    furthest = round_.furthest  # e.g. Released when production was deployed
    for record_id in items.moved:
        status = records[record_id].get("Status")
        if status != furthest:
            figures.backward_end_states += 1
            problems.append(f"round {round_.number}: {items.keys[record_id]} ended {status!r}, not {furthest!r}")
    if records[items.owned].get("Status") != "Blocked":
        problems.append(
            f"round {round_.number}: {items.keys[items.owned]} (Blocked, owned by people) ended "
            f"{records[items.owned].get('Status')!r}"
        )
    writes = status_writes(round_.airtable_log)
    figures.status_writes += sum(len(w) for w in writes.values())
    owned = writes.get(items.owned, [])
    figures.human_owned_overwrites += len(owned)
    if owned:
        statuses = [w.status for w in owned]
        problems.append(f"round {round_.number}: {items.keys[items.owned]} (owned by people) was set to {statuses}")
    for record_id in items.moved:
        backward = backward_writes(writes.get(record_id, []), WORKFLOW)
        figures.transient_backward_writes += backward.count
        figures.repaired_backward_writes += backward.repaired
        figures.behind_seconds += backward.seconds


@dataclass(frozen=True)
class StatusWrite:
    status: str
    at: float  # when the request arrived at the emulator (monotonic seconds)


def status_writes(log: Iterable[AirtableRequest]) -> dict[str, list[StatusWrite]]:
    """Record ID -> the statuses written to it, in the order the emulator carried the writes out."""
    carried = [r for r in log if r.applied and r.order is not None and r.method in ("PATCH", "PUT")]
    found: dict[str, list[StatusWrite]] = {}
    for request in sorted(carried, key=lambda r: r.order or 0):
        if _table(request) != WORK_ITEMS:
            continue
        for record in _body_records(request):
            status = record.get("fields", {}).get("Status")
            if status is not None and record.get("id"):
                found.setdefault(str(record["id"]), []).append(StatusWrite(str(status), request.arrival))
    return found


@dataclass(frozen=True)
class Backward:
    """The writes of a status behind one written before it to the same record."""

    count: int = 0
    repaired: int = 0  # followed by a write at least as far as the furthest before it
    seconds: tuple[float, ...] = ()  # for each repaired one: how long until that write arrived


def backward_writes(written: Sequence[StatusWrite], workflow: Workflow) -> Backward:
    """The backward writes among `written` (statuses in the order they landed)."""
    rank = {s: i for i, s in enumerate(workflow.statuses)}
    count, seconds = 0, []
    furthest = -1
    for index, write in enumerate(written):
        here = rank.get(write.status, -1)
        if here < furthest:
            count += 1
            later = next((w for w in written[index + 1 :] if rank.get(w.status, -1) >= furthest), None)
            if later is not None:
                seconds.append(max(0.0, later.at - write.at))
        furthest = max(furthest, here)
    return Backward(count, len(seconds), tuple(seconds))


def _check_release(scenario: Scenario, round_: Round, problems: list[str], figures: Figures) -> None:
    version = round_.version
    if version is None:
        problems.append(f"round {round_.number}: no merge run reported a release")
        return
    found = [r for r in scenario.airtable.records(BASE_ID, RELEASES) if r["fields"].get("Version") == version]
    if len(found) != 1:
        figures.duplicates += max(0, len(found) - 1)
        problems.append(f"round {round_.number}: {len(found)} release records for {version}")
    furthest = round_.environments[-1] if round_.environments else None
    for record in found:
        if record["fields"].get("Environment") != furthest:
            problems.append(
                f"round {round_.number}: release {version} ({record['id']}) is in "
                f"{record['fields'].get('Environment')!r}, not {furthest!r}"
            )
        missing = set(round_.items.moved) - set(record["fields"].get("Work Items", []))
        if missing:
            problems.append(f"round {round_.number}: release {version} ({record['id']}) does not link {missing}")
    names = Counter(r["fields"].get("Deployment") for r in scenario.airtable.records(BASE_ID, DEPLOYMENTS))
    for environment in ENVIRONMENTS:
        name = f"{environment} @ {round_.merge[:12]}"
        if names[name] != (1 if environment in round_.environments else 0):
            figures.duplicates += max(0, names[name] - 1)
            problems.append(f"round {round_.number}: {names[name]} deployment records {name!r}")


def removed_copies(round_: Round) -> int:
    """Release records and deployment records the runs deleted (created twice at the same time), and page
    sections appended more than once (whose copies the runs deleted: the page holds one, see _check_coda)."""
    deleted = sum(
        1
        for r in round_.airtable_log
        if r.method == "DELETE" and r.applied and _table_of_record(r) in (RELEASES, DEPLOYMENTS)
    )
    appends = sum(1 for w in round_.coda_writes if w.startswith("PUT /docs/") and "/pages/" in w and "(202)" in w)
    return deleted + max(0, appends - 1)


def _check_coda(scenario: Scenario, round_: Round, problems: list[str], figures: Figures) -> None:
    lines = [line["content"].strip() for line in scenario.coda.page_content(CODA_DOC_ID, CODA_PAGE)]
    markers = Counter(line for line in lines if line.startswith(MARKER_PREFIX))
    for marker, count in markers.items():
        if count > 1:
            figures.duplicates += count - 1
            problems.append(f"round {round_.number}: the page holds {marker!r} {count} times")
    version = round_.version
    if version is not None and markers[MARKER_PREFIX + version] == 0:
        problems.append(f"round {round_.number}: the page has no section for release {version}")
    rows = scenario.coda.rows(CODA_DOC_ID, CODA_TABLE)
    keys = Counter((r.get("Release"), r.get("Entry Key")) for r in rows)
    for key, count in keys.items():
        if count > 1:
            figures.duplicates += count - 1
            problems.append(f"round {round_.number}: {count} Coda rows for {key}")
    if version is not None and not any(release == version for release, _ in keys):
        problems.append(f"round {round_.number}: no Coda rows for release {version}")


# -- helpers ---------------------------------------------------------------------------------------


def _coda_writes(requests: Iterable[Any]) -> list[str]:
    return [f"{r.method} {r.path} ({r.status})" for r in requests if r.method in WRITES]


def _table(request: AirtableRequest) -> str:
    return unquote(request.path).rstrip("/").split("/")[-1]


def _table_of_record(request: AirtableRequest) -> str:
    """The table of `/v0/{base}/{table}/{record}`."""
    parts = unquote(request.path).rstrip("/").split("/")
    return parts[3] if len(parts) > 4 else ""


def _body_records(request: AirtableRequest) -> list[dict[str, Any]]:
    body = request.body if isinstance(request.body, dict) else {}
    records = body.get("records")
    return [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []


def _slug(name: str) -> str:
    return name.replace(" ", "-")


def _dir(folder: Path, name: str) -> Path:
    return folder / _slug(name)
