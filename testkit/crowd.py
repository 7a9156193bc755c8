"""Many pipelines, one base (docs/many-pipelines.md): the scenario of benchmarks/many_pipelines.py and
tests/integration/test_many_pipelines.py.

An organisation's repositories all write to one Airtable base. `Crowd` makes `pipelines` repositories, each
with its own work items (20 to 100 at random, repeatable with `seed`) named by record ID in the commits of a
feature branch, ten to a commit; `run` starts one real `python -m pipe` build step per repository, all at once,
against one Airtable emulator with the base's real limits (5 requests per sliding second, a lockout of the
whole base after an overflow), and `figures` reads what happened from the emulator's request log: the requests
the work needed (every request Airtable admitted), the shared floor (those requests at 5 per second, one
after another), the 429s, the lockouts and the runs that failed.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit.emulators.airtable import AirtableEmulator
from testkit.gitrepos import GitRepoBuilder
from testkit.work_item_base import WORK_ITEM_FIELDS, one_base_seed, ready, table

ROOT = Path(__file__).resolve().parent.parent
BASE_ID = "appCrowdOfTeams01"
TABLE = "Work Items"
TOKEN = "fake-airtable-token-crowd"
PER_SECOND = 5
RECORDS_PER_COMMIT = 10
LOCKOUT = 30.0  # seconds: Airtable's penalty after an overflow


def record_id(pipeline: int, n: int) -> str:
    return f"recCrowd{pipeline:03d}{n:06d}"  # rec + 14 letters or digits


@dataclass(frozen=True)
class Pipeline:
    index: int
    records: tuple[str, ...]
    repo: GitRepoBuilder

    @property
    def branch(self) -> str:
        return f"feature/crowd-{self.index}"


@dataclass(frozen=True)
class Finished:
    """One pipe process: its exit code, when it started and ended (time.monotonic), the end of its log."""

    pipeline: Pipeline
    code: int | None  # None: still running when the round's timeout came
    started: float
    ended: float
    log_tail: str


@dataclass(frozen=True)
class Figures:
    pipelines: int
    records: int
    wall: float  # first process started to last process ended
    admitted: int  # requests Airtable carried out or refused for a reason other than the rate limit
    refused: int  # 429s
    lockouts: int
    failed: int
    moved: int  # work items in In Progress at the end

    @property
    def floor(self) -> float:
        """The shared floor: the admitted requests one after another at the base's 5 per second."""
        return (self.admitted - 1) / PER_SECOND if self.admitted > 1 else 0.0


class Crowd:
    def __init__(self, workdir: Path, pipelines: int, *, seed: int = 1, sizes: tuple[int, int] = (20, 100)) -> None:
        self.workdir = workdir
        self.pipelines: list[Pipeline] = []
        for index, records in enumerate(work_items(crowd_sizes(pipelines, seed, sizes))):
            self.pipelines.append(Pipeline(index, records, _make_repo(workdir / f"repo-{index}", index, records)))

    @property
    def records(self) -> int:
        return sum(len(p.records) for p in self.pipelines)

    def seed(self) -> dict[str, Any]:
        return airtable_seed([p.records for p in self.pipelines])

    def environment(self, pipeline: Pipeline, api_url: str, extra: Mapping[str, str]) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "testkit/timescale"), str(ROOT)]),
            "BITBUCKET_BRANCH": pipeline.branch,
            "BITBUCKET_COMMIT": pipeline.repo.head(),
            "BITBUCKET_BUILD_NUMBER": str(100 + pipeline.index),
            "BITBUCKET_PIPELINE_UUID": f"{{crowd-pipeline-{pipeline.index}}}",
            "BITBUCKET_REPO_FULL_NAME": f"acme/repo-{pipeline.index}",
            "BITBUCKET_GIT_HTTP_ORIGIN": f"http://bitbucket.org/acme/repo-{pipeline.index}",
            "AIRTABLE_TOKEN": TOKEN,
            "AIRTABLE_BASE_ID": BASE_ID,
            "AIRTABLE_TABLE": TABLE,
            "AIRTABLE_API_URL": api_url,
            "TIME_BUDGET": "900",
            "REPORT_FILE": str(self.workdir / f"report-{pipeline.index}.json"),
            **extra,
        }

    def run(self, api_url: str, extra: Mapping[str, str] = {}, timeout: float = 900.0) -> list[Finished]:
        """Start every pipeline's build step at once and wait for all of them."""
        started = []
        for pipeline in self.pipelines:
            env = self.environment(pipeline, api_url, extra)
            log = (self.workdir / f"log-{pipeline.index}.txt").open("w+b")
            proc = subprocess.Popen(
                [sys.executable, "-m", "pipe"], cwd=pipeline.repo.path, env=env, stdout=log, stderr=subprocess.STDOUT
            )
            started.append((pipeline, proc, time.monotonic(), log))
        ended: dict[int, tuple[int | None, float]] = {}
        deadline = time.monotonic() + timeout
        while len(ended) < len(started):  # poll, so each end is seen within 50 ms of when it happened
            for pipeline, proc, _start, _log in started:
                if pipeline.index not in ended and proc.poll() is not None:
                    ended[pipeline.index] = (proc.returncode, time.monotonic())
            if time.monotonic() > deadline:
                for pipeline, proc, _start, _log in started:
                    if pipeline.index not in ended:
                        proc.kill()
                        proc.wait()
                        ended[pipeline.index] = (None, time.monotonic())
            time.sleep(0.05)
        finished = []
        for pipeline, _proc, start, log in started:
            log.seek(0)
            tail = log.read().decode("utf-8", "replace")[-2000:]
            log.close()
            code, end = ended[pipeline.index]
            finished.append(Finished(pipeline, code, start, end, tail))
        return finished

    def figures(self, emulator: AirtableEmulator, finished: Sequence[Finished]) -> Figures:
        log = emulator.requests
        moved = sum(1 for r in emulator.records(BASE_ID, TABLE) if r["fields"].get("Status") == "In Progress")
        return Figures(
            pipelines=len(self.pipelines),
            records=self.records,
            wall=max(f.ended for f in finished) - min(f.started for f in finished),
            admitted=sum(1 for r in log if r.status != 429),
            refused=sum(1 for r in log if r.status == 429),
            lockouts=len(emulator.lockouts()),
            failed=sum(1 for f in finished if f.code != 0),
            moved=moved,
        )


def emulator_options(scale: float = 1.0, latency: tuple[float, float] = (0.02, 0.08), seed: int = 1) -> dict[str, Any]:
    """Airtable's limits, in `scale` of real time, and 20-80 ms per request (a network away)."""
    return {
        "rate_limit_per_base": PER_SECOND,
        "rate_limit_per_token": 50,
        "rate_window_seconds": 1.0 * scale,
        "penalty_seconds": LOCKOUT * scale,
        "latency": latency,
        "latency_seed": seed,
    }


def _make_repo(path: Path, index: int, records: Sequence[str]) -> GitRepoBuilder:
    repo = GitRepoBuilder.init(path)
    repo.commit("chore: start")
    repo.branch(f"feature/crowd-{index}")
    commits = math.ceil(len(records) / RECORDS_PER_COMMIT)

    def message(i: int) -> str:
        named = records[(i - 1) * RECORDS_PER_COMMIT : i * RECORDS_PER_COMMIT]
        return f"feat: change {i} of team {index}\n\nRefs " + ", ".join(named) + "\n"

    repo.fast_import(commits, message)
    return repo


# -- the same crowd in one process: the pipe's Airtable client in threads --------------------------


@dataclass(frozen=True)
class Simulated:
    """What `simulate` measured; times are in windows of the base (1 window = 1 second of Airtable's time)."""

    figures: Figures
    first_after_lockout: tuple[tuple[float, ...], ...]  # per lockout: when each pipeline next got a request in


def simulate(
    sizes: Sequence[int],
    *,
    scale: float,
    share: float | None = None,
    start_spread: float = 1.0,
    seed: int = 1,
) -> Simulated:
    """The crowd's Airtable traffic without processes: one thread per pipeline runs what a build step sends (the
    schema, one read per 100 records, one write per 10) through the pipe's own AirtableClient and policy, all in
    `scale` of real time, each starting after a random delay of up to `start_spread` windows. It measures the
    pipe's pacing alone (no interpreter start-up, no git), fast enough for a test."""
    import threading

    from pipe.clients.airtable import AirtableClient, airtable_policy

    rng = random.Random(seed)
    records = work_items(sizes)
    failures: list[BaseException] = []
    ended: list[float] = []
    fields = ["Name", "Status"]
    delays = [rng.uniform(0, start_spread * scale) for _ in sizes]

    def pipeline(index: int, url: str) -> None:
        time.sleep(delays[index])
        try:
            extra = {} if share is None else {"requests_per_second": share}
            policy = airtable_policy(LOCKOUT * scale, None, window=scale, **extra)
            client = AirtableClient(TOKEN, BASE_ID, TABLE, url, policy)
            client.schema()
            ids = records[index]
            client.records_by_id(ids, fields)
            for start in range(0, len(ids), RECORDS_PER_COMMIT):
                client.update([(rec, {"Status": "In Progress"}) for rec in ids[start : start + RECORDS_PER_COMMIT]])
        except BaseException as exc:  # noqa: BLE001 (reported as the pipeline's failure)
            failures.append(exc)
        finally:
            ended.append(time.monotonic())

    with AirtableEmulator(**emulator_options(scale=scale, latency=(0.0, 0.002), seed=seed)) as emulator:
        emulator.load_seed(airtable_seed(records))
        started = time.monotonic()
        threads = [threading.Thread(target=pipeline, args=(i, emulator.url)) for i in range(len(sizes))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        log = emulator.requests
        lockouts = [start for start, _what in emulator.lockouts()]
        moved = sum(1 for r in emulator.records(BASE_ID, TABLE) if r["fields"].get("Status") == "In Progress")
    after = tuple(
        tuple(sorted((r.arrival - (at + LOCKOUT * scale)) / scale for r in log if r.arrival >= at + LOCKOUT * scale))[
            : len(sizes)
        ]
        for at in lockouts
    )
    figures = Figures(
        pipelines=len(sizes),
        records=sum(sizes),
        wall=(max(ended) - started) / scale,
        admitted=sum(1 for r in log if r.status != 429),
        refused=sum(1 for r in log if r.status == 429),
        lockouts=len(lockouts),
        failed=len(failures),
        moved=moved,
    )
    return Simulated(figures, after)


def airtable_seed(records: Sequence[Sequence[str]]) -> dict[str, Any]:
    """One base whose work items are every pipeline's (`records[i]`: pipeline i's record IDs), all Ready."""
    items = [ready(rec, f"Item {rec[-6:]} of team {index}") for index, ids in enumerate(records) for rec in ids]
    return one_base_seed(BASE_ID, TOKEN, "Crowd", [table(TABLE, WORK_ITEM_FIELDS, items)])


def work_items(sizes: Sequence[int]) -> list[tuple[str, ...]]:
    """Every pipeline's record IDs, `sizes[i]` of them for pipeline i."""
    return [tuple(record_id(index, n) for n in range(size)) for index, size in enumerate(sizes)]


def crowd_sizes(pipelines: int, seed: int = 1, bounds: tuple[int, int] = (20, 100)) -> list[int]:
    """How many work items each pipeline of a crowd has: at random within `bounds`, repeatable with `seed`."""
    rng = random.Random(seed)
    return [rng.randint(*bounds) for _ in range(pipelines)]
