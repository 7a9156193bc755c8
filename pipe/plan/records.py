"""Compute what each referenced record should look like after this run, as plain data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipe.config.file import FieldMapping, Workflow
from pipe.model import (
    Commit,
    FieldChange,
    PipelineContext,
    RecordPlan,
    RecordState,
    Reference,
    ReferenceKind,
    ReferenceSource,
    Stage,
)
from pipe.plan.workflow import decide_status

# Fields written once and then kept: re-runs and later stages must not move these times.
WRITE_ONCE = frozenset({"merged_at", "released_at"})


@dataclass(frozen=True)
class RunFacts:
    """What this run knows that ends up in link fields."""

    stage: Stage
    context: PipelineContext
    branch: str | None
    main_branch: str
    head: Commit | None
    commits_newest_first: Sequence[Commit]
    environment_status: str | None  # the status this stage/environment moves records to
    releases: bool = False  # this deployment releases (its status is the deploy stage's status)


@dataclass(frozen=True)
class Resolution:
    """Current Airtable state for the references; `known` is False when nothing could be read."""

    known: bool
    by_id: Mapping[str, RecordState]
    by_key: Mapping[str, Sequence[RecordState]]
    title_field: str | None
    record_url: Any = None  # callable(record_id) -> url, or None


def airtable_time(timestamp: int) -> str:
    """Airtable's own dateTime format, so a re-run compares equal to what it reads back."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def desired_links(facts: RunFacts, sha: str | None) -> dict[str, Any]:
    """Logical field name -> value this run writes (before write-once rules and the mapping)."""
    ctx = facts.context
    values: dict[str, Any] = {
        "commit": sha,
        "commit_url": ctx.commit_url(sha) if sha else None,
        "build_url": ctx.build_url,
        "last_run": ctx.run_id,
    }
    if facts.stage in (Stage.BUILD, Stage.REVIEW) and facts.branch and facts.branch != facts.main_branch:
        values["branch"] = facts.branch
    if facts.stage is Stage.REVIEW:
        values["pull_request"] = ctx.pr_url
    if facts.stage is Stage.MERGE and facts.head is not None:
        values["merged_at"] = airtable_time(facts.head.timestamp)
    if facts.stage is Stage.DEPLOY and facts.releases and facts.head is not None:
        values["released_at"] = airtable_time(int(datetime.now(tz=UTC).timestamp()))
    return {k: v for k, v in values.items() if v is not None}


def plan_records(
    references: Sequence[Reference],
    resolution: Resolution,
    facts: RunFacts,
    mapping: FieldMapping,
    workflow: Workflow,
) -> list[RecordPlan]:
    plans: dict[str, RecordPlan] = {}
    for ref in references:
        for plan_key, state, problem in _resolve(ref, resolution):
            plan = plans.get(plan_key)
            if plan is None:
                plan = RecordPlan(reference=ref.value, record_id=state.record_id if state else None)
                plan.skipped = problem
                plan.known = resolution.known
                if state is not None:
                    plan.title = _text(state.fields.get(resolution.title_field)) if resolution.title_field else None
                    plan.url = resolution.record_url(state.record_id) if resolution.record_url else None
                plans[plan_key] = plan
            plan.sources.append(ref)
    order = {c.sha: i for i, c in enumerate(facts.commits_newest_first)}
    for plan in plans.values():
        if plan.skipped:
            continue
        state = resolution.by_id.get(plan.record_id) if plan.record_id else None
        _fill_changes(plan, state, facts, mapping, workflow, order, resolution.known)
    return list(plans.values())


def _resolve(ref: Reference, resolution: Resolution):
    """Yield (plan key, state, problem) for a reference; keys may resolve to several records."""
    if ref.kind is ReferenceKind.RECORD_ID:
        if not resolution.known:
            yield ref.value, None, None
            return
        state = resolution.by_id.get(ref.value)
        if state is None:
            yield ref.value, None, "no such record in the table"
        else:
            yield state.record_id, state, None
        return
    if not resolution.known:
        yield f"key:{ref.value}", None, None
        return
    matches = resolution.by_key.get(ref.value, ())
    if not matches:
        yield f"key:{ref.value}", None, "no record has this key"
    elif len(matches) > 1:
        ids = ", ".join(m.record_id for m in matches)
        yield f"key:{ref.value}", None, f"the key matches {len(matches)} records ({ids}); make it unique"
    else:
        yield matches[0].record_id, matches[0], None


def _fill_changes(plan, state, facts, mapping, workflow, order, known) -> None:
    fields = mapping.written()
    current = state.fields if state is not None else {}
    status_field = fields.get("status")
    if status_field:
        before = _text(current.get(status_field)) if known else None
        plan.status_before = before
        if known:
            decision = decide_status(workflow, before, facts.environment_status)
            if decision.after is not None:
                plan.changes.append(FieldChange(status_field, before, decision.after))
                plan.status_after = decision.after
            else:
                plan.status_after = before
        else:
            plan.status_after = facts.environment_status
            plan.changes.append(FieldChange(status_field, None, facts.environment_status))
    sha = _record_commit(plan.sources, facts, order)
    for logical, value in desired_links(facts, sha).items():
        name = fields.get(logical)
        if not name:
            continue
        before = current.get(name)
        if known and logical in WRITE_ONCE and before not in (None, ""):
            continue
        if known and _same(before, value):
            continue
        plan.changes.append(FieldChange(name, before, value))


def _record_commit(sources: Sequence[Reference], facts: RunFacts, order: Mapping[str, int]) -> str | None:
    """The newest commit of this run that concerns the record (the head when named by the branch)."""
    head = facts.head.sha if facts.head else facts.context.commit
    if any(s.source is ReferenceSource.BRANCH for s in sources):
        return head
    shas = [s.commit for s in sources if s.commit in order]
    return min(shas, key=order.__getitem__) if shas else head


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, str) and isinstance(after, str):
        return before.strip() == after.strip()
    return before == after


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict) and "name" in value:  # select values in some formats
        return str(value["name"])
    return str(value)
