"""Plan and apply the release half of a merge or deploy run: CHANGELOG file, Airtable release record,
Coda rows and page, deployment log. Each target is optional and idempotent (see pipe.sinks.*)."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from pipe.clients.airtable import AirtableClient, AirtableError
from pipe.clients.coda import CodaClient, CodaConfigError, CodaError, coda_policy
from pipe.model import Stage
from pipe.plan.changelog import changelog_rows
from pipe.plan.records import Resolution
from pipe.plan.release import ReleasePlan, TargetResult, plan_release
from pipe.preflight.fields import pin_section
from pipe.release.links import Links
from pipe.sinks.airtable_release import AirtableReleaseSink
from pipe.sinks.changelog_file import ChangelogFileSink
from pipe.sinks.coda_page import CodaPageSink
from pipe.sinks.coda_rows import CodaRowSink, CodaRowsOutcome
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
    return plan_release(
        facts.decision.stage,
        facts.release.notes,
        resolution,
        facts.release.template,
        release_links(facts),
        facts.context.deployment_environment,
        int(time.time()),
    )


def coda_client(facts: RunFactsBundle) -> CodaClient | None:
    """One Coda client per run: its pace is the one per-user budget Coda counts against."""
    v = facts.settings.variables
    if not (v.CODA_API_TOKEN and v.CODA_DOC_ID):
        return None
    return CodaClient(v.CODA_API_TOKEN, v.CODA_DOC_ID, v.CODA_API_URL, coda_policy(facts.deadline))


def check_targets(
    facts: RunFactsBundle, plan: ReleasePlan, client: AirtableClient | None, coda: CodaClient | None
) -> None:
    """Before the first write of a merge or deploy run: every configured publishing target exists and has the
    mapped fields or columns (schemas, column lists, the page are read), and when Coda rows will be written,
    the token may write (an upsert of zero rows). A configuration problem raises a UserError naming it, so
    nothing at all is written, not even the work items. A service failing for a while is only a warning here:
    the sinks retry, and report what they could not write."""
    v = facts.settings.variables
    airtable = facts.settings.file.airtable
    try:
        if client is not None:
            sections = [("AIRTABLE_RELEASES_TABLE", airtable.releases, "airtable.releases")]
            if facts.decision.stage is Stage.DEPLOY:
                sections.append(("AIRTABLE_DEPLOYMENTS_TABLE", airtable.deployments, "airtable.deployments"))
            for variable, fields, name in sections:
                table = getattr(v, variable)
                if table:  # a missing table, field or a type change raises AirtableConfigError
                    pin_section(client.for_table(table).schema(variable), fields, name)
        if coda is not None:
            if v.CODA_TABLE:
                sink = CodaRowSink(coda, v.CODA_TABLE, facts.settings.file.coda.columns, Journal(None, None))
                preview = sink.apply(changelog_rows(plan.notes, release_links(facts)), dry_run=True)
                if preview.skipped:  # rows will be written: prove write access now, by upserting zero rows
                    coda.probe_row_write(coda.table(v.CODA_TABLE))
            if v.CODA_PAGE:
                coda.page(v.CODA_PAGE)
    except (AirtableError, CodaError) as exc:
        log.warning(
            "Could not check the publishing targets before writing (%s); going on: each is checked as it is written.",
            exc,
        )


def apply_publish(
    facts: RunFactsBundle,
    plan: ReleasePlan,
    client: AirtableClient | None,
    coda: CodaClient | None,
    journal: Journal,
    *,
    dry_run: bool,
    records_failed: bool = False,
) -> None:
    """Publish to every configured target; a failed target never stops the others. The deployment
    is logged last and only when everything before it succeeded (work items included), so a failed deploy
    is retried whole."""
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
    results.extend(publish_to_coda(facts, plan, coda, journal, dry_run=dry_run))
    if plan.stage is Stage.DEPLOY and v.AIRTABLE_DEPLOYMENTS_TABLE and plan.environment:
        if plan.failed or records_failed:
            results.append(
                TargetResult(
                    f"Airtable {v.AIRTABLE_DEPLOYMENTS_TABLE}",
                    "skipped",
                    "not logged because a work item or a target above failed; the next run retries it",
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


def publish_to_coda(
    facts: RunFactsBundle, plan: ReleasePlan, client: CodaClient | None, journal: Journal, *, dry_run: bool
) -> list[TargetResult]:
    """Rows in CODA_TABLE (one per entry, upserted on release + entry key) and the notes on CODA_PAGE."""
    v = facts.settings.variables
    if not v.CODA_DOC_ID or not (v.CODA_TABLE or v.CODA_PAGE):
        return []
    rows = changelog_rows(plan.notes, release_links(facts))
    table_target, page_target = f"Coda table {v.CODA_TABLE}", f"Coda page {v.CODA_PAGE}"
    if client is None:  # a dry run without a token: show what would be sent
        results = []
        if v.CODA_TABLE:
            results.append(TargetResult(table_target, "planned", f"{len(rows)} rows (not read: no CODA_API_TOKEN)"))
        if v.CODA_PAGE:
            results.append(TargetResult(page_target, "planned", f"release {plan.version} (not read)"))
        return results
    results = []
    if v.CODA_TABLE:
        try:
            outcome = CodaRowSink(client, v.CODA_TABLE, facts.settings.file.coda.columns, journal).apply(
                rows, dry_run=dry_run
            )
            results.append(TargetResult(f"Coda table {outcome.table}", _rows_status(outcome, dry_run), outcome.detail))
        except (CodaError, CodaConfigError) as exc:
            results.append(TargetResult(table_target, "failed", _message(exc)))
    if v.CODA_PAGE:
        try:
            page = CodaPageSink(client, journal).apply(v.CODA_PAGE, plan.version, plan.markdown, dry_run=dry_run)
            status = "planned" if dry_run and page.status == "skipped" else page.status
            if status == "written" and page.confirmed is False:
                status = "pending"
            results.append(TargetResult(page_target, status, page.message))
        except (CodaError, CodaConfigError) as exc:
            results.append(TargetResult(page_target, "failed", _message(exc)))
    return results


def _message(exc: Exception) -> str:
    problems = getattr(exc, "problems", None)
    return f"{exc} {'; '.join(problems)}" if problems else str(exc)


def _rows_status(outcome: CodaRowsOutcome, dry_run: bool) -> str:
    if outcome.failed:
        return "failed"
    if dry_run:
        return "planned" if outcome.skipped else "unchanged"
    if outcome.pending:
        return "pending"  # Coda accepted the rows but had not applied them when polling stopped
    return "written" if outcome.written else "unchanged"
