"""What runs at the same time leave behind, each case made deterministic (docs/concurrency.md): the release
record or a deployment created twice, a staging deploy's environment landing after the production deploy's,
a release appended to the page twice, and a re-run right after a run while Coda's reads are still stale.
tests/integration/test_concurrency.py runs real processes at once; these replay one interleaving each."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipe.clients.airtable import AirtableClient, AirtableError, airtable_policy
from pipe.clients.coda import CodaPage, CodaStaleRead, PageLine
from pipe.clients.http import HttpPolicy
from pipe.config.file import ReleaseFields, Workflow
from pipe.flow import run
from pipe.model import Stage
from pipe.plan.release import ReleasePlan
from pipe.sinks.airtable_release import AirtableReleaseTarget, ReleaseChange
from pipe.sinks.coda_page import CodaPageSink, release_marker
from pipe.sinks.journal import Journal
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID, SAMPLE_PAGE
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED
from tests.integration.test_release_stages import env_for, release_record, repo  # noqa: F401 (repo: a fixture)

WRITES = ("PATCH", "POST", "PUT", "DELETE")
CODA_TOKEN = "fake-coda-token-for-concurrent-writes"


def releases(emulator, version: str) -> list[dict[str, Any]]:
    return [r for r in emulator.records(SAMPLE_BASE_ID, "Releases") if r["fields"].get("Version") == version]


def deployments(emulator) -> list[dict[str, Any]]:
    return emulator.records(SAMPLE_BASE_ID, "Deployments")


def airtable_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def deploy_env(airtable_emulator, repo, tmp_path, environment: str, **extra: str) -> dict[str, str]:  # noqa: F811
    return env_for(
        airtable_emulator,
        repo,
        tmp_path,
        AIRTABLE_DEPLOYMENTS_TABLE="Deployments",
        BITBUCKET_DEPLOYMENT_ENVIRONMENT=environment,
        **extra,
    )


# -- the release record ------------------------------------------------------------------------------------


def test_a_release_record_two_runs_created_at_once_is_merged_into_the_oldest(airtable_emulator, repo, tmp_path):  # noqa: F811
    # Two runs upserted 1.5.0 at the same moment and Airtable created it twice (it does not promise otherwise).
    older = airtable_time(datetime.now(UTC) - timedelta(seconds=5))
    newer = airtable_time(datetime.now(UTC) - timedelta(seconds=4))
    kept, other = airtable_emulator.add_records(
        SAMPLE_BASE_ID,
        "Releases",
        [
            {"createdTime": older, "fields": {"Version": "1.5.0", "Work Items": ["recWorkItem000105"]}},
            {"createdTime": newer, "fields": {"Version": "1.5.0", "Notes": "n", "Environment": "production"}},
        ],
    )

    assert run(deploy_env(airtable_emulator, repo, tmp_path, "staging"), repo.path) == 0

    (record,) = releases(airtable_emulator, "1.5.0")
    assert record["id"] == kept
    assert set(record["fields"]["Work Items"]) == {"recWorkItem000105", "recWorkItem000106"}
    assert record["fields"]["Environment"] == "production"  # the furthest, not the staging deploy's own
    assert airtable_emulator.record(SAMPLE_BASE_ID, "Releases", other) is None


class TwoAtOnce:
    """An AirtableClient for a releases table where, between this run's last read and its upsert, two other
    runs created the version: the upsert matches two records and is refused (422)."""

    table_name = "Releases"

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.updates: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[str] = []

    def schema(self, variable: str = "") -> None:
        return None

    def find(self, formula: str, fields: list[str], doing: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.records if r["id"] not in self.deleted]

    def upsert(self, records: list[dict[str, Any]], merge_on: list[str]) -> list[dict[str, Any]]:
        self.records = [
            {"id": "recLater0000000B", "createdTime": "2026-03-01T12:00:01.000Z", "fields": {"Version": "1.5.0"}},
            {"id": "recLater0000000A", "createdTime": "2026-03-01T12:00:01.000Z", "fields": {"Version": "1.5.0"}},
        ]
        raise AirtableError("2 records match the fieldsToMergeOn values", status=422, error_type="INVALID_RECORDS")

    def update(self, updates: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        self.updates += updates
        for record_id, fields in updates:
            next(r for r in self.records if r["id"] == record_id)["fields"].update(fields)
        return []

    def delete(self, record_id: str) -> bool:
        self.deleted.append(record_id)
        return True


def release_plan(**changes: Any) -> ReleasePlan:
    plan = ReleasePlan(
        stage=Stage.MERGE,
        version="1.5.0",
        tag=None,
        environment=None,
        notes=None,  # type: ignore[arg-type]  (the release target does not read the notes, only the markdown)
        markdown="## 1.5.0\n",
        work_items=("recWorkItem000105",),
        release_time="2026-03-01T12:00:00.000Z",
        rows=(),
        head="0" * 40,
    )
    return dataclasses.replace(plan, **changes)


def test_an_upsert_refused_because_runs_created_the_version_meanwhile_updates_the_one_kept():
    client = TwoAtOnce()
    target = AirtableReleaseTarget(client, ReleaseFields(), release_plan(), Workflow())  # type: ignore[arg-type]
    change = target.prepare()
    assert isinstance(change, ReleaseChange) and change.record_id is None  # nothing there when it read

    result = change.apply(Journal(None, "run-1"), [])

    assert result.status == "written", result.detail
    assert client.updates[0][0] == "recLater0000000A"  # the same createdTime: the smaller record ID is kept
    assert client.updates[0][1]["Work Items"] == ["recWorkItem000105"]
    assert client.deleted == ["recLater0000000B"]


# -- the environment -------------------------------------------------------------------------------------------


def test_a_staging_deploy_landing_after_production_ends_in_production(airtable_emulator, repo, tmp_path):  # noqa: F811
    assert run(env_for(airtable_emulator, repo, tmp_path, AIRTABLE_DEPLOYMENTS_TABLE="Deployments"), repo.path) == 0
    assert run(deploy_env(airtable_emulator, repo, tmp_path, "production"), repo.path) == 0
    (record,) = releases(airtable_emulator, "1.5.0")
    # A staging deploy that read the record before production wrote it writes "staging" after production's
    # own read-back; then it logs its deployment and checks the release against the log.
    _patch(airtable_emulator, "Releases", record["id"], {"Environment": "staging"})

    assert run(deploy_env(airtable_emulator, repo, tmp_path, "staging"), repo.path) == 0

    assert release_record(airtable_emulator, "1.5.0")["Environment"] == "production"
    logged = sorted(d["fields"]["Environment"] for d in deployments(airtable_emulator))
    assert logged == ["production", "staging"]


def test_a_release_a_person_moved_back_long_after_its_deploy_is_left_there(airtable_emulator, repo, tmp_path):  # noqa: F811
    assert run(deploy_env(airtable_emulator, repo, tmp_path, "production"), repo.path) == 0
    (logged,) = deployments(airtable_emulator)
    two_days_ago = airtable_time(datetime.now(UTC) - timedelta(days=2))
    _patch(airtable_emulator, "Deployments", logged["id"], {"Deployed At": two_days_ago})
    (record,) = releases(airtable_emulator, "1.5.0")
    _patch(airtable_emulator, "Releases", record["id"], {"Environment": "staging"})  # production rolled back

    assert run(deploy_env(airtable_emulator, repo, tmp_path, "staging"), repo.path) == 0

    assert release_record(airtable_emulator, "1.5.0")["Environment"] == "staging"


# -- the deployments log ------------------------------------------------------------------------------------


def test_a_deployment_two_runs_logged_at_once_keeps_one_record(airtable_emulator, repo, tmp_path):  # noqa: F811
    name = f"staging @ {repo.head()[:12]}"
    fields = {"Deployment": name, "Environment": "staging", "Commit": repo.head(), "Version": "1.5.0"}
    older = airtable_time(datetime.now(UTC) - timedelta(seconds=5))
    kept, _ = airtable_emulator.add_records(
        SAMPLE_BASE_ID, "Deployments", [{"createdTime": older, "fields": fields}, {"fields": {**fields, "Run": "#2"}}]
    )

    assert run(deploy_env(airtable_emulator, repo, tmp_path, "staging"), repo.path) == 0

    assert [d["id"] for d in deployments(airtable_emulator)] == [kept]


# -- the Coda page and rows ------------------------------------------------------------------------------------

NOTES = "## 1.5.0\n\n### Features\n\n- dark mode\n"


@pytest.mark.coda_emulator(seed=CODA_SEED, rate_limits=None, mutation_delay=0.05)
def test_a_run_finding_its_release_on_the_page_twice_deletes_the_copy(coda_emulator):
    from tests.integration.test_coda_publish import FAST, client_for

    client = client_for(coda_emulator)
    sink = CodaPageSink(client, Journal(None, "run-1"), polling=FAST, fresh_read_interval=0.02)
    page = client.page(SAMPLE_PAGE)
    section = NOTES + "\n" + release_marker("1.5.0") + "\n"
    for _ in range(2):  # two runs appended it; neither got to check for the other's copy
        client.wait_for_mutations([client.append_to_page(page, section)], FAST)

    outcome = sink.apply(SAMPLE_PAGE, "1.5.0", NOTES)

    assert outcome.status == "written" and "deleted a copy" in outcome.message
    text = coda_emulator.page_text(SAMPLE_DOC_ID, SAMPLE_PAGE)
    assert text.count(release_marker("1.5.0")) == 1 and text.count("dark mode") == 1
    assert sink.apply(SAMPLE_PAGE, "1.5.0", NOTES).status == "unchanged"


class BusyDoc:
    """A Coda client whose doc never stops having writes pending."""

    def __init__(self, deadline: float) -> None:
        self.policy = HttpPolicy(service="Coda", deadline=deadline)
        self.reads = 0

    def page(self, name: str) -> CodaPage:
        return CodaPage("canvas-x", name, "canvas")

    def page_lines(self, page: CodaPage, *, latest: bool = False) -> list[PageLine]:
        self.reads += 1
        raise CodaStaleRead("not up to date", 400)


@pytest.mark.parametrize("seed", range(20))
def test_waiting_for_a_busy_doc_stops_before_the_time_budget_ends(seed: int):
    now = [100.0]
    client = BusyDoc(deadline=130.0)
    sink = CodaPageSink(
        client,  # type: ignore[arg-type]
        Journal(None, "run-1"),
        fresh_read_interval=2.0,  # waits of 1 to 3 s, at random
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
        clock=lambda: now[0],
        rng=random.Random(seed),
    )

    outcome = sink.apply(SAMPLE_PAGE, "1.5.0", NOTES)

    assert outcome.status == "skipped" and "nothing was appended" in outcome.message
    assert 127.0 <= now[0] <= 130.0  # waited (5 minutes allowed) until the budget's end, not past it
    assert client.reads > 5


@pytest.mark.slow
@pytest.mark.coda_emulator(seed=CODA_SEED, mutation_delay=0.05, read_lag=4.0, rate_limits=None)
def test_a_rerun_right_after_a_merge_writes_no_rows_while_coda_reads_are_stale(
    airtable_emulator,
    coda_emulator,
    repo,  # noqa: F811
    tmp_path,
):
    coda_emulator.add_token(CODA_TOKEN)
    env = env_for(
        airtable_emulator,
        repo,
        tmp_path,
        CODA_API_TOKEN=CODA_TOKEN,
        CODA_DOC_ID=SAMPLE_DOC_ID,
        CODA_TABLE="Changelog",
        CODA_API_URL=coda_emulator.url,
    )
    assert run(env, repo.path) == 0  # it ends once Coda says its rows are written: 4 s before reads show them
    written = len(coda_emulator.requests)

    assert run(env, repo.path) == 0  # at once

    assert [f"{r.method} {r.path}" for r in coda_emulator.requests[written:] if r.method in WRITES] == []
    rows = [r for r in coda_emulator.rows(SAMPLE_DOC_ID, "Changelog") if r.get("Release") == "1.5.0"]
    assert len(rows) == 2


# -- the client ------------------------------------------------------------------------------------------------


def test_deleting_a_record_another_run_deleted_first_is_not_an_error(airtable_emulator):
    (record_id,) = airtable_emulator.add_records(SAMPLE_BASE_ID, "Deployments", [{"Deployment": "x"}])
    policy = airtable_policy(rate_limit_wait=0.01)
    client = AirtableClient(SAMPLE_READWRITE_TOKEN, SAMPLE_BASE_ID, "Deployments", airtable_emulator.url, policy)

    assert client.delete(record_id) is True
    assert client.delete(record_id) is False
    assert deployments(airtable_emulator) == []


def _patch(emulator, table: str, record_id: str, fields: dict[str, Any]) -> None:
    """Write fields as another client would (over HTTP, so the emulator validates them)."""
    import requests

    url = f"{emulator.url}/v0/{SAMPLE_BASE_ID}/{table}/{record_id}"
    answer = requests.patch(url, json={"fields": fields}, headers={"Authorization": f"Bearer {SAMPLE_READWRITE_TOKEN}"})
    assert answer.status_code == 200, answer.text
