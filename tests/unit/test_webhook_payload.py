"""The pure payload builder of the Coda webhook (pipe.plan.webhook): fields and types, date-times with the time
zone's offset, the idempotency key, the test payload's shape, the size bound, and the JSON Schema."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from pipe.config.file import DeploymentFields, FieldMapping, ReleaseFields
from pipe.config.webhook import time_zone
from pipe.facts.run_facts import RunFacts, TableFields
from pipe.model import (
    Commit,
    CommitRange,
    PipelineContext,
    RecordPlan,
    Reference,
    ReferenceKind,
    ReferenceSource,
    Resolution,
    Stage,
)
from pipe.plan.release import ReleasePlan
from pipe.plan.run_plan import RunPlan
from pipe.plan.webhook import (
    SAMPLE_RECORD_ID,
    SCHEMA_VERSION,
    TRUNCATED_NOTE,
    WebhookEvent,
    WebhookRecord,
    build_payload,
    event_from_run,
    idempotency_key,
    payload_size,
    sample_event,
)
from pipe.release.config import ReleaseConfig
from pipe.release.entries import build_entries
from pipe.release.links import Links
from pipe.release.notes import build_notes
from pipe.release.version import Version

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "schemas" / "coda-webhook-payload.schema.json").read_text(encoding="utf-8"))
REPO = "https://bitbucket.org/acme/product"
NOW = 1_780_000_000  # 2026-05-28T20:26:40Z: summer time in Berlin (+02:00)
RUN = "{8d5c2c1e-3f0a-4b7e-9d6a-1c2b3a4d5e6f}"


def valid(payload: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(payload)]


def commits(*messages: str) -> list[Commit]:
    made: list[Commit] = []
    for index, message in enumerate(messages):
        parents = (made[-1].sha,) if made else ()
        sha = hashlib.sha1(f"{index}:{message}".encode()).hexdigest()
        made.append(Commit(sha, parents, "Ada", "a@x", NOW - 86_400 + index * 3_600, message))
    return list(reversed(made))


def record(
    ref: str, record_id: str | None, title: str | None, before: str | None, after: str | None, **kw: str
) -> RecordPlan:
    kind = ReferenceKind.RECORD_ID if ref.startswith("rec") else ReferenceKind.KEY
    return RecordPlan(
        reference=ref,
        record_id=record_id,
        title=title,
        url=f"https://airtable.com/appX/tblY/{record_id}" if record_id else None,
        status_before=before,
        status_after=after,
        sources=(Reference(kind, ref, ReferenceSource.COMMIT),),
        **kw,
    )


RECORDS = (
    record("FEAT-105", "recWorkItem000105", "Dark mode", "In Review", "Merged"),
    record("recWorkItem000106", "recWorkItem000106", "Upgrade build image", "Merged", "Merged"),
    record("FEAT-107", "recWorkItem000107", "Blocked thing", "Blocked", None, skipped="status Blocked is owned by"),
    record("FEAT-999", None, None, None, None, skipped="no record has this key"),
)


def run_of(stage: Stage, history: list[Commit], **context: str) -> tuple[RunFacts, RunPlan]:
    ctx = PipelineContext(
        branch=context.pop("branch", "main"),
        commit=history[0].sha,
        pipeline_uuid=RUN,
        build_number="103",
        repo_full_name="acme/product",
        git_http_origin="http://bitbucket.org/acme/product",
        **context,
    )
    commit_range = CommitRange(history[0].sha, None, tuple(history), "the whole history")
    facts = RunFacts(
        stage=stage,
        stage_reason="test",
        context=ctx,
        branch=ctx.branch,
        main_branch="main",
        commit_range=commit_range,
        head=history[0],
        references=(),
        near_misses=(),
        airtable=Resolution(True, {}, {}, "Name"),
        fields=TableFields(FieldMapping(), ReleaseFields(), DeploymentFields()),
        links=Links(REPO),
        now=NOW,
        recent_window=900.0,
    )
    release = None
    if stage in (Stage.MERGE, Stage.DEPLOY):
        notes = build_notes(
            build_entries(history),
            ReleaseConfig(),
            version=Version(1, 5, 0),
            previous=Version(1, 4, 0),
            tag=None,
            previous_tag="1.4.0",
            head=history[0].sha,
            timestamp=history[0].timestamp,
            commits=len(history),
        )
        release = ReleasePlan(
            stage=stage,
            version="1.5.0",
            tag=None,
            environment=facts.environment,
            notes=notes,
            markdown="## 1.5.0\n\n### Features\n\n- dark mode\n",
            work_items=("recWorkItem000105",),
            release_time="",
            rows=(),
            head=history[0].sha,
        )
    return facts, RunPlan(stage, RECORDS, release)


MERGE_HISTORY = [
    "feat(ui): dark mode FEAT-105 (pull request #7)",
    "feat!: bulk import (pull request #12)\n\nBREAKING CHANGE: /upload is gone.",
    "Merged in feature/x (pull request #41)",
]


def test_a_merge_payload_carries_the_release_the_commit_and_the_records() -> None:
    facts, plan = run_of(Stage.MERGE, commits(*MERGE_HISTORY))
    payload = build_payload(event_from_run(facts, plan))

    assert valid(payload) == []
    assert payload["schema"] == SCHEMA_VERSION == 1 and payload["test"] is False
    assert (payload["stage"], payload["version"], payload["environment"]) == ("merge", "1.5.0", None)
    assert payload["release_notes"] == "## 1.5.0\n\n### Features\n\n- dark mode\n"
    assert payload["breaking"] is True  # one entry is breaking
    head = facts.head
    assert head is not None
    assert payload["commit"] == head.sha and payload["commit_short"] == head.sha[:7]
    assert payload["commit_message"] == "Merged in feature/x (pull request #41)"
    assert payload["commit_url"] == f"{REPO}/commits/{head.sha}"
    assert (payload["pull_request"], payload["pull_request_url"]) == ("41", f"{REPO}/pull-requests/41")
    assert payload["pull_requests"] == ["7", "12", "41"]
    assert (payload["run"], payload["build_number"]) == (RUN, "103")
    assert payload["build_url"] == f"{REPO}/pipelines/results/103"
    assert payload["repository"] == "acme/product" and payload["repository_url"] == REPO
    assert payload["idempotency_key"] == f"{RUN}/merge/1.5.0"
    assert payload["truncated"] is False


def test_records_list_existing_work_items_with_title_status_and_whether_they_move() -> None:
    facts, plan = run_of(Stage.MERGE, commits(*MERGE_HISTORY))
    records = build_payload(event_from_run(facts, plan))["records"]

    assert [r["id"] for r in records] == ["recWorkItem000105", "recWorkItem000106", "recWorkItem000107"]
    dark, image, blocked = records
    assert dark == {
        "id": "recWorkItem000105",
        "key": "FEAT-105",
        "title": "Dark mode",
        "url": "https://airtable.com/appX/tblY/recWorkItem000105",
        "status": "Merged",
        "previous_status": "In Review",
        "moved": True,
        "skipped": None,
    }
    assert image["key"] is None and image["moved"] is False and image["status"] == "Merged"
    assert blocked["status"] == "Blocked" and blocked["moved"] is False and "owned by" in blocked["skipped"]
    payload = build_payload(event_from_run(facts, plan))
    assert payload["record_titles"] == "Dark mode, Upgrade build image, Blocked thing"


def test_date_times_are_iso_8601_with_the_offset_of_the_time_zone() -> None:
    facts, plan = run_of(Stage.MERGE, commits(*MERGE_HISTORY))
    event = event_from_run(facts, plan)
    utc = build_payload(event)
    berlin = build_payload(event, "Europe/Berlin")

    assert utc["created_at"] == "2026-05-28T20:26:40+00:00" and utc["time_zone"] == "UTC"
    assert berlin["created_at"] == "2026-05-28T22:26:40+02:00" and berlin["time_zone"] == "Europe/Berlin"
    winter = build_payload(WebhookEvent(stage="build", created_at=1_767_225_600), "Europe/Berlin")
    assert winter["created_at"] == "2026-01-01T01:00:00+01:00"
    for payload in (utc, berlin):
        for name in ("created_at", "release_time", "commit_time"):
            assert dt.datetime.fromisoformat(payload[name]).utcoffset() is not None  # never a naive time
        assert dt.datetime.fromisoformat(payload["created_at"]).timestamp() == NOW
        assert dt.datetime.fromisoformat(payload["commit_time"]).timestamp() == event.commit_time


def test_a_build_has_no_release_and_a_review_names_its_pull_request() -> None:
    history = commits("docs: limits FEAT-107")
    facts, plan = run_of(Stage.BUILD, history, branch="feature/FEAT-107")
    build = build_payload(event_from_run(facts, plan))
    assert valid(build) == []
    assert (build["version"], build["release_notes"], build["release_time"], build["tag"]) == (None, None, None, None)
    assert build["breaking"] is False and build["pull_request"] is None and build["pull_requests"] == []
    assert build["branch"] == "feature/FEAT-107"
    assert build["idempotency_key"] == f"{RUN}/build/{history[0].sha[:12]}"

    facts, plan = run_of(Stage.REVIEW, history, branch="feature/FEAT-107", pr_id="42")
    review = build_payload(event_from_run(facts, plan))
    assert (review["pull_request"], review["pull_request_url"]) == ("42", f"{REPO}/pull-requests/42")
    assert review["pull_requests"] == ["42"]


def test_the_idempotency_key_repeats_for_a_repeat_and_differs_per_environment() -> None:
    history = commits(*MERGE_HISTORY)
    staging = event_from_run(*run_of(Stage.DEPLOY, history, deployment_environment="staging"))
    production = event_from_run(*run_of(Stage.DEPLOY, history, deployment_environment="production"))
    again = event_from_run(*run_of(Stage.DEPLOY, history, deployment_environment="staging"))

    assert idempotency_key(staging) == f"{RUN}/deploy@staging/1.5.0" == idempotency_key(again)
    assert idempotency_key(production) == f"{RUN}/deploy@production/1.5.0"
    assert build_payload(staging)["environment"] == "staging"
    merge = event_from_run(*run_of(Stage.MERGE, history))
    assert len({idempotency_key(e) for e in (staging, production, merge)}) == 3
    local = WebhookEvent(stage="build", created_at=NOW, commit="abc123")
    assert idempotency_key(local) == "local/build/abc123"  # outside Pipelines: no run ID


@pytest.mark.parametrize("stage", ["build", "review", "merge", "deploy"])
def test_the_test_payload_has_the_real_shape_with_sample_values(stage: str) -> None:
    facts, plan = run_of(Stage(stage), commits(*MERGE_HISTORY), deployment_environment="production")
    real = build_payload(event_from_run(facts, plan))
    test = build_payload(sample_event(stage, NOW))

    assert valid(test) == []
    assert list(test) == list(real)  # the same fields, in the same order
    assert test["test"] is True and test["stage"] == stage
    assert test["idempotency_key"] == f"test/{NOW}"
    assert test["records"][0]["id"] == SAMPLE_RECORD_ID and set(test["records"][0]) == set(real["records"][0])
    releases = stage in ("merge", "deploy")
    assert (test["version"] is not None, test["release_notes"] is not None) == (releases, releases)
    assert (test["environment"] is not None) == (stage == "deploy")


def test_a_payload_over_the_size_bound_cuts_the_notes_then_the_records() -> None:
    notes = "## 1.5.0\n\n" + "".join(f'- entry {i}: é and "quotes"\n' for i in range(2_000))
    records = tuple(WebhookRecord(f"rec{i:014d}", None, "t" * 50, None, "Merged", None, True) for i in range(50))
    event = WebhookEvent(stage="merge", created_at=NOW, version="1.5.0", release_notes=notes, records=records)
    assert payload_size(build_payload(event)) > 20_000

    cut = build_payload(event, max_bytes=20_000)
    assert payload_size(cut) <= 20_000 and cut["truncated"] is True
    assert cut["release_notes"].startswith("## 1.5.0\n\n- entry 0") and cut["release_notes"].endswith(TRUNCATED_NOTE)
    assert len(cut["records"]) == 50  # the notes alone made room
    assert valid(cut) == []

    tight = build_payload(event, max_bytes=5_000)
    assert payload_size(tight) <= 5_000 and tight["truncated"] is True
    assert 0 < len(tight["records"]) < 50 and "entry 0" not in tight["release_notes"]


def test_the_size_bound_keeps_as_much_as_fits() -> None:
    escaped = WebhookEvent(stage="merge", created_at=NOW, release_notes='é"\n' * 50_000)  # 6 bytes per 4 in JSON
    cut = build_payload(escaped, max_bytes=100_000)
    assert 95_000 < payload_size(cut) <= 100_000  # the notes are cut by what they cost in the body
    many = tuple(WebhookRecord(f"rec{i:014d}", "K-1", "t" * 300, None, "Merged", None, True) for i in range(5_000))
    crowded = build_payload(WebhookEvent(stage="merge", created_at=NOW, records=many), max_bytes=200_000)
    assert 190_000 < payload_size(crowded) <= 200_000 and 0 < len(crowded["records"]) < 5_000
    assert crowded["record_titles"].count("t" * 300) == len(crowded["records"])


def test_time_zones() -> None:
    assert time_zone("UTC") is dt.UTC and time_zone("utc") is dt.UTC
    assert time_zone("America/New_York").utcoffset(dt.datetime(2026, 1, 1)) == dt.timedelta(hours=-5)
    for bad in ("Mars/Olympus", "Europe/", "../etc/passwd", ""):
        with pytest.raises(ValueError, match="not a known time zone"):
            time_zone(bad)


def test_the_schema_refuses_what_a_rule_could_not_rely_on() -> None:
    payload = build_payload(sample_event("merge", NOW))
    for change in (
        {"schema": 2},
        {"test": "true"},
        {"created_at": "2026-05-28 20:26:40"},  # no offset
        {"stage": "check"},
        {"records": [{"id": "recShort"}]},
    ):
        assert valid({**payload, **change}), change
    missing = dict(payload)
    del missing["idempotency_key"]
    assert valid(missing)


def test_the_docs_example_is_a_valid_payload_with_every_field() -> None:
    text = (ROOT / "docs" / "coda-webhook.md").read_text(encoding="utf-8")
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    assert valid(example) == []
    real = build_payload(event_from_run(*run_of(Stage.MERGE, commits(*MERGE_HISTORY))))
    assert list(example) == list(real)  # documented field by field, in the order sent
    assert set(example["records"][0]) == set(real["records"][0])
    for name in real:
        assert f"`{name}`" in text, f"docs/coda-webhook.md does not describe {name}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/coda-webhook.md)" in readme and "CODA_WEBHOOK_RULE_ID" in readme
