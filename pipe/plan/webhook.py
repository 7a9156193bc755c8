"""The payload a Coda automation with the trigger "Webhook invoked" receives (`CODA_WEBHOOK_RULE_ID`): schema 1.

Pure functions, no reads and no writes: `event_from_run` takes what a sync run knows (its facts and plan),
`sample_event` makes the test payload of `STAGE: check` (`"test": true`, sample values of the same shape),
and `build_payload` turns either into the JSON object that is sent. docs/coda-webhook.md describes every
field with an example and a Coda rule that reads it; schemas/coda-webhook-payload.schema.json is its JSON
Schema (a test checks payloads against it).

The shape is flat where Coda formulas read it (`ParseJSON([Step 1 Result].ToText(), "version")`): strings,
booleans, `null` for what a stage does not have, date-times in ISO 8601 with the offset of
`CODA_WEBHOOK_TIME_ZONE`. Only `records` and `pull_requests` are lists. A change that renames, removes or
retypes a field raises `SCHEMA_VERSION`; new fields may be added within a version.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, replace
from typing import Any

from pipe.config.webhook import time_zone
from pipe.facts.run_facts import RunFacts
from pipe.model import RecordPlan, ReferenceKind
from pipe.plan.run_plan import RunPlan
from pipe.references import parse_squash_pr_number

SCHEMA_VERSION = 1
# Coda refuses request bodies over 2 MB (coda-api.md §7; no webhook-specific limit is documented). Kept a
# little below, so the request's framing never tips it over.
MAX_PAYLOAD_BYTES = 2 * 1024 * 1024 - 4096
TRUNCATED_NOTE = "\n\n… (cut to fit one Coda request)\n"
SAMPLE_RECORD_ID = "recTestPayload000"


@dataclass(frozen=True)
class WebhookRecord:
    """A work item the run is about, as the payload lists it."""

    id: str
    key: str | None  # the human key (KEY_PATTERN) the code named the record by, if any
    title: str | None
    url: str | None
    status: str | None  # after this run
    previous_status: str | None  # before this run
    moved: bool  # this run moves the record to `status`
    skipped: str | None = None  # why the run leaves it alone (a status people own, …)


@dataclass(frozen=True)
class WebhookEvent:
    """What one payload says, before it is formatted. Times are seconds since the epoch."""

    stage: str
    created_at: int
    test: bool = False
    environment: str | None = None
    version: str | None = None
    tag: str | None = None
    release_time: int | None = None
    release_notes: str | None = None
    breaking: bool = False
    repository: str | None = None
    repository_url: str | None = None
    branch: str | None = None
    commit: str | None = None
    commit_message: str | None = None
    commit_time: int | None = None
    commit_url: str | None = None
    pull_request: str | None = None
    pull_request_url: str | None = None
    pull_requests: tuple[str, ...] = ()
    run: str | None = None
    build_number: str | None = None
    build_url: str | None = None
    records: tuple[WebhookRecord, ...] = ()


def idempotency_key(event: WebhookEvent) -> str:
    """Stays the same when the same run publishes the same thing again (a re-run of a failed step), so a rule
    can ignore a repeat: run / stage (@ environment) / version, or the commit where there is no version."""
    if event.test:
        return f"test/{event.created_at}"
    stage = f"{event.stage}@{event.environment}" if event.environment else event.stage
    subject = event.version or (event.commit or "")[:12] or "no-commit"
    return f"{event.run or 'local'}/{stage}/{subject}"


def event_from_run(facts: RunFacts, plan: RunPlan) -> WebhookEvent:
    """The event of a sync run: its stage, commit, pull request, records and (merge, deploy) release."""
    context, head, release = facts.context, facts.head, plan.release
    sha = head.sha if head is not None else context.commit
    pr = context.pr_id or (_pr_of(head.subject) if head is not None else None)
    pull_requests = [context.pr_id] if context.pr_id else []
    if release is not None:
        pull_requests += [str(e.pr_number) for e in (*release.notes.entries, *release.notes.breaking) if e.pr_number]
    links = facts.links
    return WebhookEvent(
        stage=facts.stage.value,
        created_at=facts.now,
        environment=facts.environment,
        version=release.version if release else None,
        tag=release.tag if release else None,
        release_time=release.notes.timestamp if release else None,
        release_notes=release.markdown if release else None,
        breaking=bool(release and release.notes.breaking),
        repository=context.repo_full_name,
        repository_url=links.repo_url or context.repo_url,
        branch=facts.branch,
        commit=sha,
        commit_message=head.subject if head is not None else None,
        commit_time=head.timestamp if head is not None else None,
        commit_url=(links.commit(sha) or context.commit_url(sha)) if sha else None,
        pull_request=pr,
        pull_request_url=(links.pull_request(int(pr)) or context.pr_url) if pr and pr.isdigit() else None,
        pull_requests=tuple(sorted(set(pull_requests), key=_number)),
        run=context.run_id,
        build_number=context.build_number,
        build_url=context.build_url,
        records=tuple(_record(p) for p in plan.records if p.record_id is not None),
    )


def sample_event(stage: str, created_at: int) -> WebhookEvent:
    """The test payload's event: every field filled with a sample value of its real type, so a rule's formulas
    can be tried on it. Nothing in it names a real commit, record or release."""
    repo = "https://bitbucket.org/workspace/repository"
    sha = "0" * 40
    return WebhookEvent(
        stage=stage,
        created_at=created_at,
        test=True,
        environment="staging" if stage == "deploy" else None,
        version="0.0.0-test" if stage in ("merge", "deploy") else None,
        release_time=created_at if stage in ("merge", "deploy") else None,
        release_notes=(
            "## 0.0.0-test\n\n### Features\n\n- a test entry: a real payload carries the release's notes\n"
            if stage in ("merge", "deploy")
            else None
        ),
        repository="workspace/repository",
        repository_url=repo,
        branch="main" if stage in ("merge", "deploy") else "feature/TEST-1-test-payload",
        commit=sha,
        commit_message="test: a test payload from STAGE: check (nothing was released)",
        commit_time=created_at,
        commit_url=f"{repo}/commits/{sha}",
        pull_request="1",
        pull_request_url=f"{repo}/pull-requests/1",
        pull_requests=("1",),
        run="{00000000-0000-4000-8000-000000000000}",
        build_number="0",
        build_url=f"{repo}/pipelines/results/0",
        records=(
            WebhookRecord(
                SAMPLE_RECORD_ID,
                "TEST-1",
                "Test payload from airtable-coda-sync",
                None,
                "Merged",
                "In Review",
                moved=True,
            ),
        ),
    )


def build_payload(event: WebhookEvent, zone_name: str = "UTC", *, max_bytes: int = MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """The JSON object sent to the rule. Over `max_bytes` (as UTF-8 JSON) the release notes are cut, then
    records are left out from the end, and `truncated` is true."""
    zone = time_zone(zone_name)
    payload = _payload(event, zone_name, zone, truncated=False)
    if payload_size(payload) <= max_bytes:
        return payload
    text = event.release_notes or ""
    while text and payload_size(payload) > max_bytes:
        # what the rest of the body takes, and what the notes may take: the text is cut in proportion to its
        # size in the body (JSON escapes make some characters cost more), then measured again
        others = payload_size(payload) - _encoded(event.release_notes or "")
        room = max_bytes - others - _encoded(TRUNCATED_NOTE)
        raw = text.encode("utf-8")
        keep = int(len(raw) * max(0, room) / _encoded(text)) if room > 0 else 0
        text = raw[: min(keep, len(raw) - 1)].decode("utf-8", errors="ignore").rstrip()
        event = replace(event, release_notes=text + TRUNCATED_NOTE if text else TRUNCATED_NOTE.strip())
        payload = _payload(event, zone_name, zone, truncated=True)
    records = list(event.records)
    bare = payload_size(_payload(replace(event, records=()), zone_name, zone, truncated=True))
    while records and payload_size(payload) > max_bytes:
        each = (payload_size(payload) - bare) / len(records)  # a record's share (its entry and its title)
        drop = int((payload_size(payload) - max_bytes) / each) + 1
        records = records[: max(0, len(records) - drop)]
        payload = _payload(replace(event, records=tuple(records)), zone_name, zone, truncated=True)
    return payload


def payload_bytes(payload: dict[str, Any]) -> bytes:
    """The body as sent: compact UTF-8 JSON."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def payload_size(payload: dict[str, Any]) -> int:
    return len(payload_bytes(payload))


def _encoded(text: str) -> int:
    """Bytes a string takes in the body, quotes and escapes included."""
    return len(json.dumps(text, ensure_ascii=False).encode("utf-8"))


def _payload(event: WebhookEvent, zone_name: str, zone: dt.tzinfo, *, truncated: bool) -> dict[str, Any]:
    def when(timestamp: int | None) -> str | None:
        if timestamp is None:
            return None
        return dt.datetime.fromtimestamp(timestamp, tz=zone).isoformat(timespec="seconds")

    return {
        "schema": SCHEMA_VERSION,
        "test": event.test,
        "idempotency_key": idempotency_key(event),
        "created_at": when(event.created_at),
        "time_zone": zone_name,
        "stage": event.stage,
        "environment": event.environment,
        "version": event.version,
        "tag": event.tag,
        "release_time": when(event.release_time),
        "breaking": event.breaking,
        "release_notes": event.release_notes,
        "repository": event.repository,
        "repository_url": event.repository_url,
        "branch": event.branch,
        "commit": event.commit,
        "commit_short": event.commit[:7] if event.commit else None,
        "commit_message": event.commit_message,
        "commit_time": when(event.commit_time),
        "commit_url": event.commit_url,
        "pull_request": event.pull_request,
        "pull_request_url": event.pull_request_url,
        "pull_requests": list(event.pull_requests),
        "run": event.run,
        "build_number": event.build_number,
        "build_url": event.build_url,
        "records": [_record_dict(r) for r in event.records],
        "record_titles": ", ".join(r.title or r.key or r.id for r in event.records),
        "truncated": truncated,
    }


def _record(plan: RecordPlan) -> WebhookRecord:
    assert plan.record_id is not None
    status = plan.status_after if plan.status_after is not None else plan.status_before
    return WebhookRecord(
        id=plan.record_id,
        key=next((s.value for s in plan.sources if s.kind is ReferenceKind.KEY), None),
        title=plan.title,
        url=plan.url,
        status=status,
        previous_status=plan.status_before,
        moved=not plan.skipped and status != plan.status_before,
        skipped=plan.skipped,
    )


def _record_dict(record: WebhookRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "key": record.key,
        "title": record.title,
        "url": record.url,
        "status": record.status,
        "previous_status": record.previous_status,
        "moved": record.moved,
        "skipped": record.skipped,
    }


def _pr_of(subject: str) -> str | None:
    number = parse_squash_pr_number(subject)
    return str(number) if number is not None else None


def _number(text: str) -> tuple[int, str]:
    return (int(text), text) if text.isdigit() else (0, text)
