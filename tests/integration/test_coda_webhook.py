"""The Coda webhook end to end: `pipe.flow.run` on a real repository against the Airtable and Coda emulators
over HTTP. What the rule received is read from the emulator (`webhook_payloads`); the emulator checks every
request and response against the OpenAPI 1.5.0 spec (a violation fails the test at teardown)."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from pipe.flow import run
from testkit import fault_scenario as fs
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED
from testkit.gitrepos import bitbucket_merge_message

pytestmark = pytest.mark.coda_emulator(seed=CODA_SEED, mutation_delay=0.01, rate_limits=None)

CODA_TOKEN = "fake-coda-token-for-webhook-tests"
RULE = "grid-auto-Chgl0gRule"
HOOK = f"/docs/{SAMPLE_DOC_ID}/hooks/automation/{RULE}"
RUN_ID = "{5b2f8c1e-0d4a-4e7b-9a6d-2c1b3a4d5e6f}"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture
def repo(git_repo_builder):
    """main: 1.4.0 tagged, then a merged PR for FEAT-105 and a fix naming FEAT-106 by record ID."""
    r = git_repo_builder("product")
    r.commit("feat: login page FEAT-101", {"app.txt": "1"})
    r.tag("1.4.0")
    r.branch("feature/FEAT-105-dark-mode")
    r.commit("feat(ui): dark mode", {"ui.txt": "dark"})
    r.checkout("main")
    r.merge("feature/FEAT-105-dark-mode", bitbucket_merge_message("feature/FEAT-105-dark-mode", 7))
    r.commit("fix: build image upgrade (recWorkItem000106)", {"ci.txt": "2"})
    return r


@pytest.fixture
def coda(coda_emulator: CodaEmulator) -> CodaEmulator:
    coda_emulator.add_token(CODA_TOKEN)
    coda_emulator.add_automation(SAMPLE_DOC_ID, "Announce the release", rule_id=RULE)
    return coda_emulator


def env_for(airtable, coda: CodaEmulator, repo, tmp_path: Path, **extra: str | None) -> dict[str, str]:
    env: dict[str, str | None] = {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": airtable.url,
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "CODA_API_TOKEN": CODA_TOKEN,
        "CODA_DOC_ID": SAMPLE_DOC_ID,
        "CODA_API_URL": coda.url,
        "CODA_WEBHOOK_RULE_ID": RULE,
        "BITBUCKET_BRANCH": "main",
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "BITBUCKET_BUILD_NUMBER": "12",
        "BITBUCKET_PIPELINE_UUID": RUN_ID,
        "REPORT_FILE": str(tmp_path / "report.json"),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def sync(env: dict[str, str], repo) -> tuple[int, str]:
    out = io.StringIO()
    with fs.pipe_pacing(0.01), contextlib.redirect_stdout(out):
        code = run(env, repo.path)
    return code, out.getvalue()


def triggers(coda: CodaEmulator) -> list[Any]:
    """Every POST to the rule's webhook (attempts, whatever the answer)."""
    return [r for r in coda.requests if r.method == "POST" and r.path == HOOK]


def report(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))


def webhook_target(tmp_path: Path) -> dict[str, Any]:
    [found] = [t for t in report(tmp_path)["targets"] if t["target"] == f"Coda automation {RULE}"]
    return found


def journal(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "report.journal.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_a_merge_triggers_the_rule_once_with_the_release(airtable_emulator, coda, repo, tmp_path):
    env = env_for(airtable_emulator, coda, repo, tmp_path, CODA_TABLE="Changelog", CODA_PAGE="Release Notes")
    code, log = sync(env, repo)
    assert code == 0, log

    [payload] = coda.webhook_payloads(SAMPLE_DOC_ID, RULE)
    assert (payload["schema"], payload["test"], payload["stage"]) == (1, False, "merge")
    assert (payload["version"], payload["environment"], payload["commit"]) == ("1.5.0", None, repo.head())
    assert payload["idempotency_key"] == f"{RUN_ID}/merge/1.5.0" and payload["run"] == RUN_ID
    assert "## [1.5.0]" in payload["release_notes"] and "Dark mode" in payload["release_notes"]
    records = {r["key"] or r["id"]: r for r in payload["records"]}
    assert records["FEAT-105"]["title"] == "Dark mode" and records["FEAT-105"]["status"] == "Merged"
    assert records["FEAT-105"]["moved"] is True and records["recWorkItem000106"]["status"] == "Merged"
    assert payload["pull_requests"] == ["7"] and payload["truncated"] is False
    assert dt.datetime.fromisoformat(payload["created_at"]).utcoffset() == dt.timedelta(0)

    assert [r.status for r in triggers(coda)] == [202]  # one POST for the stage
    target = webhook_target(tmp_path)
    assert target["status"] == "written" and target["changes"]["payload"] == payload
    assert target["changes"]["request_id"].startswith("mutate:")
    [line] = [j for j in journal(tmp_path) if j["table"] == f"automation {RULE}"]
    assert line["service"] == "coda" and line["record"] == payload["idempotency_key"] and "unconfirmed" not in line
    assert f"Coda automation {RULE}: triggered with the merge payload" in log
    # write access was proven once, by the Coda table's probe, which the webhook's preparation reuses
    assert [r.body for r in coda.requests if r.method == "POST" and r.path.endswith("/rows")][0] == {"rows": []}
    assert len([r for r in coda.requests if r.body == {"rows": []}]) == 1
    # the rule is triggered after the other targets: the rows and the page were written before it
    order = [r.path for r in coda.requests if r.method in WRITES]
    assert order[-1] == HOOK and any(p.endswith("/rows") for p in order[:-1])


def test_requests_per_run_for_a_webhook_alone(airtable_emulator, coda, repo, tmp_path):
    """One POST to the webhook per chosen stage; before it, a read of the doc and the zero-row write probe."""
    rows = coda.rows(SAMPLE_DOC_ID, "Changelog")
    code, log = sync(env_for(airtable_emulator, coda, repo, tmp_path), repo)
    assert code == 0, log
    assert [r.operation for r in coda.requests] == ["getDoc", "listTables", "upsertRows", "triggerWebhookAutomation"]
    probe = coda.requests[2]
    assert probe.body == {"rows": []} and coda.rows(SAMPLE_DOC_ID, "Changelog") == rows  # the probe wrote nothing


def test_only_the_chosen_stages_trigger_it(airtable_emulator, coda, repo, tmp_path):
    repo.checkout("main").branch("feature/FEAT-107-docs")
    repo.commit("docs: rate limits FEAT-107", {"docs.txt": "1"})
    build = env_for(airtable_emulator, coda, repo, tmp_path, BITBUCKET_BRANCH="feature/FEAT-107-docs")
    build["BITBUCKET_COMMIT"] = repo.head()
    code, log = sync(build, repo)
    assert code == 0, log
    assert coda.requests == [] and triggers(coda) == []  # build is not in the default merge,deploy
    assert not any(t["target"].startswith("Coda automation") for t in report(tmp_path)["targets"])

    code, log = sync({**build, "CODA_WEBHOOK_STAGES": "build,review"}, repo)
    assert code == 0, log
    [payload] = coda.webhook_payloads(SAMPLE_DOC_ID, RULE)
    assert (payload["stage"], payload["version"], payload["release_notes"]) == ("build", None, None)
    assert payload["branch"] == "feature/FEAT-107-docs"
    assert [r["title"] for r in payload["records"]] == ["API rate limit docs"]
    assert payload["records"][0]["status"] == "In Progress"


def test_each_deployment_triggers_it_with_its_environment_and_time_zone(airtable_emulator, coda, repo, tmp_path):
    env = env_for(airtable_emulator, coda, repo, tmp_path, CODA_WEBHOOK_TIME_ZONE="America/New_York")
    assert sync(env, repo)[0] == 0  # merge
    for environment in ("staging", "production"):
        code, log = sync({**env, "BITBUCKET_DEPLOYMENT_ENVIRONMENT": environment}, repo)
        assert code == 0, log
    merge, staging, production = coda.webhook_payloads(SAMPLE_DOC_ID, RULE)
    assert [p["stage"] for p in (merge, staging, production)] == ["merge", "deploy", "deploy"]
    assert (staging["environment"], production["environment"]) == ("staging", "production")
    assert staging["idempotency_key"] == f"{RUN_ID}/deploy@staging/1.5.0"
    assert len({p["idempotency_key"] for p in (merge, staging, production)}) == 3
    created = dt.datetime.fromisoformat(production["created_at"])
    expected = zoneinfo.ZoneInfo("America/New_York").utcoffset(created.replace(tzinfo=None))
    assert created.utcoffset() == expected and production["time_zone"] == "America/New_York"
    assert {r["status"] for r in production["records"] if r["key"] == "FEAT-105"} == {"Released"}


def test_a_dry_run_sends_nothing_and_reports_the_payload(airtable_emulator, coda, repo, tmp_path):
    code, log = sync(env_for(airtable_emulator, coda, repo, tmp_path, DRY_RUN="true"), repo)
    assert code == 0, log
    assert triggers(coda) == [] and [r.operation for r in coda.requests] == ["getDoc"]  # no probe, no POST
    target = webhook_target(tmp_path)
    assert target["status"] == "planned" and target["changes"]["payload"]["version"] == "1.5.0"
    assert "would" not in target["detail"] and target["detail"].startswith("POST the merge payload (schema 1")

    no_token = env_for(airtable_emulator, coda, repo, tmp_path, DRY_RUN="true", CODA_API_TOKEN=None)
    coda_before = len(coda.requests)
    code, log = sync(no_token, repo)
    assert code == 0, log
    assert len(coda.requests) == coda_before  # nothing sent to Coda at all
    assert webhook_target(tmp_path)["detail"].endswith("(not read: no CODA_API_TOKEN)")


def test_a_rerun_sends_the_same_idempotency_key(airtable_emulator, coda, repo, tmp_path):
    env = env_for(airtable_emulator, coda, repo, tmp_path, CODA_TABLE="Changelog")
    assert sync(env, repo)[0] == 0
    airtable_emulator.reset_log()
    coda_before = len(coda.requests)
    assert sync(env, repo)[0] == 0
    first, again = coda.webhook_payloads(SAMPLE_DOC_ID, RULE)
    assert first["idempotency_key"] == again["idempotency_key"]  # a rule that checks the key runs once
    assert [r.path for r in coda.requests[coda_before:] if r.method in WRITES][-1] == HOOK
    assert [
        r for r in airtable_emulator.requests if r.method in ("PATCH", "POST") and "listRecords" not in r.path
    ] == []


def test_a_rule_that_is_off_fails_the_run_and_the_next_run_triggers_it_once(airtable_emulator, coda, repo, tmp_path):
    coda.set_automation_enabled(SAMPLE_DOC_ID, RULE, False)
    env = env_for(
        airtable_emulator, coda, repo, tmp_path, AIRTABLE_DEPLOYMENTS_TABLE="Deployments", CODA_TABLE="Changelog"
    )
    deploy = {**env, "BITBUCKET_DEPLOYMENT_ENVIRONMENT": "staging"}
    code, log = sync(deploy, repo)
    assert code == 1
    assert "CODA_WEBHOOK_RULE_ID: Coda would not run automation rule" in log and "turn it on" in log
    assert coda.webhook_calls(SAMPLE_DOC_ID, RULE) == []  # the rule received nothing
    assert [r.status for r in triggers(coda)] == [422]  # refused, so not sent again
    assert airtable_emulator.records(SAMPLE_BASE_ID, "Deployments") == []  # retried whole by the next run
    statuses = [t["status"] for t in report(tmp_path)["targets"]]
    assert statuses[-2:] == ["failed", "skipped"]

    coda.set_automation_enabled(SAMPLE_DOC_ID, RULE, True)
    code, log = sync(deploy, repo)
    assert code == 0, log
    [payload] = coda.webhook_payloads(SAMPLE_DOC_ID, RULE)
    assert payload["environment"] == "staging"
    assert len(airtable_emulator.records(SAMPLE_BASE_ID, "Deployments")) == 1


def test_an_unknown_rule_fails_with_what_to_fix(airtable_emulator, coda, repo, tmp_path):
    env = env_for(airtable_emulator, coda, repo, tmp_path, CODA_WEBHOOK_RULE_ID="grid-auto-NoSuchRule")
    code, log = sync(env, repo)
    assert code == 1
    assert "CODA_WEBHOOK_RULE_ID: Coda found no automation rule grid-auto-NoSuchRule in Coda doc" in log
    assert "(404: Could not find an automation rule" in log


def test_a_missing_doc_or_a_read_only_token_stops_the_run_before_anything_is_written(
    airtable_emulator, coda, repo, tmp_path
):
    code, log = sync(env_for(airtable_emulator, coda, repo, tmp_path, CODA_DOC_ID="NoSuchDoc0"), repo)
    assert code == 2 and "CODA_DOC_ID: Coda found no Coda doc NoSuchDoc0" in log
    coda.add_token("fake-coda-token-read-only", access="read")
    code, log = sync(env_for(airtable_emulator, coda, repo, tmp_path, CODA_API_TOKEN="fake-coda-token-read-only"), repo)
    assert code == 2
    assert "This API token is restricted to read access" in log and "needs write access to the doc" in log
    assert [r for r in coda.requests if r.method in WRITES and r.status == 202] == []
    writes = [r for r in airtable_emulator.requests if r.method in ("PATCH", "POST") and "listRecords" not in r.path]
    assert writes == []
    assert triggers(coda) == []


def test_a_429_is_sent_again_and_the_rule_receives_the_payload_once(airtable_emulator, coda, repo, tmp_path):
    coda.add_fault("status", status=429, method="POST", path="/hooks/automation/", times=2)
    code, log = sync(env_for(airtable_emulator, coda, repo, tmp_path), repo)
    assert code == 0, log
    assert [r.status for r in triggers(coda)] == [429, 429, 202]
    assert len(coda.webhook_payloads(SAMPLE_DOC_ID, RULE)) == 1


@pytest.mark.parametrize("fault", [{"kind": "status", "status": 503}, {"kind": "drop_after_apply"}])
def test_a_5xx_or_a_lost_answer_is_not_sent_twice(airtable_emulator, coda, repo, tmp_path, fault):
    kind = fault.pop("kind")
    coda.add_fault(kind, method="POST", path="/hooks/automation/", times=1, **fault)
    env = env_for(airtable_emulator, coda, repo, tmp_path)
    code, log = sync(env, repo)
    assert code == 1
    assert len(triggers(coda)) == 1  # one attempt only
    assert "It was not sent again: Coda may have queued it" in log
    [line] = [j for j in journal(tmp_path) if j["table"] == f"automation {RULE}"]
    assert line["unconfirmed"] is True
    received = coda.webhook_payloads(SAMPLE_DOC_ID, RULE)
    assert len(received) == (1 if kind == "drop_after_apply" else 0)  # a lost answer: Coda had queued it

    assert sync(env, repo)[0] == 0  # the next run sends it again, with the same key
    keys = {p["idempotency_key"] for p in coda.webhook_payloads(SAMPLE_DOC_ID, RULE)}
    assert keys == {f"{RUN_ID}/merge/1.5.0"}


def test_it_is_not_triggered_when_a_target_before_it_failed(airtable_emulator, coda, repo, tmp_path):
    from testkit.emulators.airtable import Fault

    airtable_emulator.inject(Fault(status=422, method="PATCH", path="Work", times=None))
    code, log = sync(env_for(airtable_emulator, coda, repo, tmp_path), repo)
    assert code == 1
    assert triggers(coda) == []
    target = webhook_target(tmp_path)
    assert target["status"] == "skipped" and "the next run triggers it" in target["detail"]
