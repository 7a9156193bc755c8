"""Compute what each referenced record should look like after this run, as plain data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from pipe.clients.airtable import AirtableConfigError
from pipe.config.file import Workflow
from pipe.facts.run_facts import PullRequestFacts, RunFacts, TableFields
from pipe.model import (
    FieldChange,
    RecordPlan,
    RecordState,
    Reference,
    ReferenceKind,
    ReferenceSource,
    Resolution,
    Stage,
)
from pipe.plan.sync_errors import skip_reason, sync_error_change
from pipe.plan.workflow import STAGE_TIMES, decide_status, furthest, implied_status

# Fields written once and then kept: re-runs and later stages must not move these times.
WRITE_ONCE = frozenset(STAGE_TIMES)


def airtable_time(timestamp: int) -> str:
    """Airtable's own dateTime format, so a re-run compares equal to what it reads back."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def desired_links(
    facts: RunFacts, sha: str | None, releases: bool, pull_request: PullRequestFacts | None = None
) -> dict[str, Any]:
    """Logical field name -> value this run writes (before write-once rules and the mapping). `pull_request`: at
    merge, the pull request that merged the record, as read from Bitbucket (pipe.facts.pull_requests)."""
    ctx = facts.context
    values: dict[str, Any] = {
        "commit": sha,
        "commit_url": ctx.commit_url(sha) if sha else None,
        "build_url": ctx.build_url,
        "last_run": ctx.run_id,
    }
    if facts.stage in (Stage.BUILD, Stage.REVIEW) and facts.branch and facts.branch != facts.main_branch:
        values["branch"] = facts.branch
        values["branch_url"] = ctx.branch_url(facts.branch)
    if facts.stage is Stage.REVIEW:
        values["pull_request"] = ctx.pr_url
        values["reviewed_at"] = airtable_time(facts.now)
        values["pull_request_state"] = "OPEN" if ctx.pr_id else None  # a pull-request pipeline runs on open ones
    if facts.stage is Stage.MERGE and pull_request is not None:
        values["pull_request"] = pull_request.url
        values["pull_request_state"] = pull_request.state
    now = airtable_time(facts.now)
    if facts.stage is Stage.MERGE:
        values["merged_at"] = now
    if facts.stage is Stage.DEPLOY:
        values["released_at" if releases else "staged_at"] = now
    return {k: v for k, v in values.items() if v is not None}


def stage_target(facts: RunFacts, workflow: Workflow) -> tuple[str | None, bool]:
    """The status this stage (and deployment environment) moves records to, and whether it releases them
    (a deployment whose status is the deploy stage's own)."""
    target = workflow.stage_status(facts.stage, facts.environment)
    return target, facts.stage is Stage.DEPLOY and target == workflow.stage_status(Stage.DEPLOY)


def plan_records(facts: RunFacts, workflow: Workflow) -> tuple[RecordPlan, ...]:
    """One plan per referenced record (a key matching several records, or none, is one skipped plan)."""
    resolution = facts.airtable
    found: dict[str, tuple[RecordState | None, str | None, list[Reference]]] = {}
    for ref in facts.references:
        for plan_key, state, problem in _resolve(ref, resolution):
            found.setdefault(plan_key, (state, problem, []))[2].append(ref)
    order = {c.sha: i for i, c in enumerate(facts.commit_range.commits)}
    target, releases = stage_target(facts, workflow)
    plans = []
    for state, problem, sources in found.values():
        base = RecordPlan(
            reference=sources[0].value,
            record_id=state.record_id if state else None,
            title=resolution.title(state) if state else None,
            url=resolution.record_url(state.record_id) if state else None,
            sources=tuple(sources),
            skipped=problem,
            known=resolution.known,
        )
        if problem is None:
            base = _with_changes(base, state, facts, workflow, target, releases, order)
        plans.append(base)
    return tuple(plans)


def _resolve(ref: Reference, resolution: Resolution) -> Iterator[tuple[str, RecordState | None, str | None]]:
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


def _with_changes(
    plan: RecordPlan,
    state: RecordState | None,
    facts: RunFacts,
    workflow: Workflow,
    target: str | None,
    releases: bool,
    order: Mapping[str, int],
) -> RecordPlan:
    mapping = facts.fields.items
    fields = mapping.written()
    known = plan.known
    current: Mapping[str, Any] = state.fields if state is not None else {}
    changes: list[FieldChange] = []
    status_before = status_after = None
    status_field = fields.get("status")
    if status_field:
        status_before = cell_text(current.get(status_field)) if known else None
        if known:
            times = {logical: current.get(name) for logical, name in fields.items() if logical in STAGE_TIMES}
            recent = implied_status(workflow, times, now=facts.now, recent_window=facts.recent_window)
            decision = decide_status(workflow, status_before, furthest(workflow, [target, recent]))
            status_after = decision.after or status_before
            if decision.after is not None:
                changes.append(FieldChange(status_field, status_before, decision.after))
        elif target is not None:
            status_after = target
            changes.append(FieldChange(status_field, None, target))
    sha = _record_commit(plan.sources, facts, order)
    pull_request = next((facts.pull_requests[s.value] for s in plan.sources if s.value in facts.pull_requests), None)
    for logical, value in desired_links(facts, sha, releases, pull_request).items():
        name = fields.get(logical)
        if not name:
            continue
        before = current.get(name)
        if known and logical in WRITE_ONCE and before not in (None, ""):
            continue
        if known and _same(before, value):
            continue
        changes.append(FieldChange(name, before, value))
    error_field = fields.get("sync_error")
    if error_field and known:
        reason = skip_reason(workflow, facts, status_before, target)
        change = sync_error_change(error_field, current.get(error_field), reason)
        if change is not None:
            changes.append(change)
    return replace(plan, status_before=status_before, status_after=status_after, changes=tuple(changes))


def check_status_options(plans: Sequence[RecordPlan], facts: RunFacts, table: str) -> None:
    """A single-select status must already offer every status the plan writes (typecast stays off)."""
    check_status_choices(plans, facts.fields, table)


def check_status_choices(plans: Sequence[RecordPlan], table_fields: TableFields, table: str) -> None:
    """`check_status_options` for the fields of any run (a reconcile has no RunFacts)."""
    choices, status_field = table_fields.status_choices, table_fields.items.status
    if choices is None or not status_field:
        return
    wanted = {c.after for p in plans for c in p.changes if c.field == status_field}
    missing = sorted(s for s in wanted if s not in choices)
    if missing:
        raise AirtableConfigError(
            f"Field {status_field!r} of table {table!r} has no option {', '.join(map(repr, missing))}. "
            f"Add the option in Airtable or change the workflow in the config file; options: {', '.join(choices)}"
        )


def _record_commit(sources: Sequence[Reference], facts: RunFacts, order: Mapping[str, int]) -> str | None:
    """The newest commit of this run that concerns the record (the head when named by the branch)."""
    head = facts.head.sha if facts.head else facts.context.commit
    if any(s.source is ReferenceSource.BRANCH for s in sources):
        return head
    shas = [s.commit for s in sources if s.commit is not None and s.commit in order]
    return min(shas, key=order.__getitem__) if shas else head


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, str) and isinstance(after, str):
        return before.strip() == after.strip()
    return before == after


def cell_text(value: Any) -> str | None:
    """A cell read from Airtable as text (a select value in any format), None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, dict) and "name" in value:  # select values in some formats
        return str(value["name"])
    return str(value)
