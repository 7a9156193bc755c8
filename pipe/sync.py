"""Plan and apply the Airtable record sync for one run."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pipe.clients.airtable import (
    AirtableClient,
    AirtableConfigError,
    TableSchema,
    airtable_policy,
)
from pipe.facts.airtable_state import read_state, unknown_resolution
from pipe.facts.deployments import deployments_to, last_deployment, since_deployment
from pipe.facts.references import find_references, near_miss_record_ids
from pipe.model import Stage, SyncPlan
from pipe.plan.records import Resolution, RunFacts, plan_records
from pipe.preflight.fields import pin_fields
from pipe.sinks.airtable_records import AirtableRecordSink
from pipe.sinks.journal import Journal

if TYPE_CHECKING:
    from pipe.flow import RunFactsBundle

log = logging.getLogger("pipe")


def run_facts(facts: RunFactsBundle) -> RunFacts:
    settings = facts.settings
    workflow = settings.file.workflow
    stage = facts.decision.stage
    env_name = facts.context.deployment_environment
    target = workflow.stage_status(stage, env_name)
    commits = facts.commit_range.commits
    head = commits[0] if commits and commits[0].sha == facts.commit_range.head else None
    if head is None and facts.commit_range.head:
        found = facts.repo.log(facts.commit_range.head, max_count=1)
        head = found[0] if found else None
    return RunFacts(
        stage=stage,
        context=facts.context,
        branch=facts.branch,
        main_branch=settings.variables.MAIN_BRANCH,
        head=head,
        commits_newest_first=commits,
        environment_status=target,
        releases=stage is Stage.DEPLOY and target == workflow.stages.get(Stage.DEPLOY),
    )


@dataclass
class PlannedSync:
    plan: SyncPlan
    client: AirtableClient | None  # kept so applying reuses the same session and pace
    resolution: Resolution  # what was read (or unknown), also used to resolve release-note titles

    @property
    def http_stats(self) -> dict[str, dict[str, int]]:
        return {"airtable": dict(self.client.policy.stats)} if self.client else {}


def plan_sync(facts: RunFactsBundle) -> PlannedSync:
    settings = facts.settings
    v = settings.variables
    mapping = settings.file.airtable.fields
    client: AirtableClient | None = make_client(facts) if v.AIRTABLE_TOKEN else None
    if client is not None and facts.decision.stage is Stage.DEPLOY:
        narrow_to_last_deployment(facts, client)
    for word in near_miss_record_ids([facts.branch or "", *(c.message for c in facts.commit_range.commits)]):
        log.warning(
            "%r looks like an Airtable record ID but is not one (rec + exactly 14 letters or digits, case-sensitive); "
            "it is ignored: correct it in the branch name or commit message",
            word,
        )
    references = find_references(facts.branch, facts.commit_range.commits, v.KEY_PATTERN)
    log.info("References: %d (%s)", len(references), ", ".join(sorted({r.value for r in references})) or "none")
    # Records the release notes mention are read too (in the same requests), for their titles.
    notes_range = facts.release.notes.commit_range if facts.release else None
    mentioned = find_references(None, notes_range.commits, v.KEY_PATTERN) if notes_range else []
    to_read = list({(r.kind, r.value): r for r in [*references, *mentioned]}.values())
    schema: TableSchema | None = None
    if client is not None and to_read:
        schema = client.schema()
        mapping = pin_fields(schema, mapping, v.KEY_FIELD)  # stops on a missing field or a type change
        resolution = read_state(client, to_read, mapping, v.KEY_FIELD, schema)
    else:
        if not v.AIRTABLE_TOKEN and to_read:
            log.info("No AIRTABLE_TOKEN: the plan shows what would be set, without reading current values.")
        resolution = unknown_resolution(mapping)
    records = plan_records(references, resolution, run_facts(facts), mapping, settings.file.workflow)
    if schema is not None:
        check_status_options(schema, mapping, records)
    plan = SyncPlan(
        stage=facts.decision.stage,
        commit_range=facts.commit_range,
        references=references,
        records=records,
        dry_run=v.DRY_RUN,
        warnings=list(facts.commit_range.warnings),
    )
    return PlannedSync(plan, client, resolution)


def narrow_to_last_deployment(facts: RunFactsBundle, client: AirtableClient) -> None:
    """At deploy, with a deployments log: cover only the commits since the last deployment to this
    environment (none when this very commit was deployed there already)."""
    v = facts.settings.variables
    environment = facts.context.deployment_environment
    if not v.AIRTABLE_DEPLOYMENTS_TABLE or not environment:
        return
    fields = facts.settings.file.airtable.deployments
    log_client = client.for_table(v.AIRTABLE_DEPLOYMENTS_TABLE)
    head = facts.commit_range.head
    last = last_deployment(facts.repo, deployments_to(log_client, fields, environment), head)
    if last is None:
        log.info("No earlier deployment to %s is logged: covering %s", environment, facts.commit_range.description)
        return
    facts.commit_range = since_deployment(facts.repo, head, last, environment)
    log.info("Commits: %d in %s", len(facts.commit_range.commits), facts.commit_range.description)


def check_status_options(schema: TableSchema, mapping, records) -> None:
    """A single-select status must already offer every status the plan writes (typecast stays off)."""
    field = schema.fields.get(mapping.status or "")
    if field is None or field.type != "singleSelect":
        return
    wanted = {c.after for r in records for c in r.changes if c.field == field.name}
    missing = sorted(s for s in wanted if s not in field.choices)
    if missing:
        raise AirtableConfigError(
            f"Field {field.name!r} of table {schema.name!r} has no option {', '.join(map(repr, missing))}. "
            f"Add the option in Airtable or change the workflow in the config file; options: "
            f"{', '.join(field.choices)}"
        )


def make_client(facts: RunFactsBundle) -> AirtableClient:
    v = facts.settings.variables
    policy = airtable_policy(v.AIRTABLE_RATE_LIMIT_WAIT, facts.deadline)
    return AirtableClient(v.AIRTABLE_TOKEN, v.AIRTABLE_BASE_ID, v.AIRTABLE_TABLE, v.AIRTABLE_API_URL, policy)


def apply_sync(facts: RunFactsBundle, planned: PlannedSync, journal: Journal) -> None:
    client = planned.client or make_client(facts)
    AirtableRecordSink(client, journal).apply(planned.plan.records)
