"""The sync stages (build, review, merge, deploy): gather facts, plan, prepare every target, apply, report.

Nothing is written before every target has been prepared (read), so a configuration problem anywhere stops
the run with nothing written; a dry run stops after preparing and shows what each target would do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from pipe.clients.airtable import AirtableClient, airtable_policy
from pipe.clients.bitbucket import BitbucketClient, bitbucket_policy
from pipe.clients.coda import CodaClient, coda_policy
from pipe.clients.services import Clients
from pipe.config.settings import Settings
from pipe.errors import SyncError, UserError
from pipe.facts.gather import gather
from pipe.facts.run_facts import RunFacts
from pipe.model import PipelineContext, TargetResult
from pipe.modes.base import Finish, Outcome, Start
from pipe.plan.run_plan import RunPlan, plan_run
from pipe.report.json_report import sync_report
from pipe.report.shared_storage import RELEASE_FILE
from pipe.report.summary import counts, plural, release_lines, side_lines, summary_lines, verdict
from pipe.sinks.airtable_records import NAME as RECORDS
from pipe.sinks.base import Change, ReadWhenWritten, Target, TargetRun
from pipe.sinks.journal import Journal
from pipe.sinks.targets import build_targets

log = logging.getLogger("pipe")


def run_sync(start: Start) -> Finish:
    settings = start.settings
    assert start.repo is not None  # the sync mode needs a clone (pipe.modes.MODES)
    clients = open_clients(settings, start.deadline, start.context)
    facts = gather(
        settings, start.repo, start.context, clients.airtable, start.redactor, start.now, bitbucket=clients.bitbucket
    )
    warnings = _near_miss_warnings(facts)
    plan = plan_run(facts, settings.workflow, settings.airtable.table or "")
    dry_run = settings.run.dry_run
    run = TargetRun(settings, facts, plan, clients, start.root, dry_run)
    changes = _prepare(build_targets(run))
    if dry_run:
        log.info("Dry run: nothing is written. The plan:")
        results = [c.preview() for c in changes]
    else:
        outputs = start.outputs
        journal = Journal(outputs.journal, facts.run_id, outputs.root, outputs.report_variable)
        results = _apply(changes, journal)
    return _finish(start, facts, plan, results, clients, warnings, dry_run)


def open_clients(settings: Settings, deadline: float | None, context: PipelineContext | None = None) -> Clients:
    """Clients for the services the settings name; nothing is sent until a client is used."""
    a, c = settings.airtable, settings.coda
    airtable = None
    if a.token and a.base_id and a.table:
        airtable = AirtableClient(
            a.token,
            a.base_id,
            a.table,
            a.api_url,
            airtable_policy(a.rate_limit_wait, deadline, requests_per_second=a.requests_per_second),
        )
    coda = CodaClient(c.token, c.doc_id, c.api_url, coda_policy(deadline)) if c.token and c.doc_id else None
    bitbucket, insights = _bitbucket_clients(settings, context)
    return Clients(airtable, coda, bitbucket, insights)


def _bitbucket_clients(
    settings: Settings, context: PipelineContext | None
) -> tuple[BitbucketClient | None, BitbucketClient | None]:
    """(with the token, for Code Insights). The report goes through the auth proxy, or with the token when there
    is no proxy. Their requests are bounded by the policy's few attempts, not by TIME_BUDGET: the report tells
    what happened also when Airtable used the whole budget up."""
    b = settings.bitbucket
    repo = context.repo_full_name if context is not None else None
    if repo is None:
        return None, None
    token = BitbucketClient(b.api_url, repo, bitbucket_policy(), token=b.token) if b.token else None
    insights = None
    if b.code_insights:
        insights = BitbucketClient(b.api_url, repo, bitbucket_policy(), proxy=b.proxy) if b.proxy else token
    return token, insights


def _prepare(targets: Sequence[Target]) -> list[Change]:
    """Every target reads what it holds and works out its change before anything is written. A configuration
    problem (UserError) stops the run here; a service failing for a while is read again when written."""
    changes: list[Change] = []
    for target in targets:
        try:
            changes.append(target.prepare())
        except UserError:
            raise
        except SyncError as exc:
            log.warning("Could not read %s before writing (%s); it is read again when it is written.", target.name, exc)
            changes.append(ReadWhenWritten(target, str(exc)))
    return changes


def _apply(changes: Sequence[Change], journal: Journal) -> list[TargetResult]:
    results: list[TargetResult] = []
    try:
        for change in changes:
            try:
                results.append(change.apply(journal, results))
            except UserError:
                raise
            except SyncError as exc:  # e.g. the time budget ran out in a target that does not catch it itself
                log.error(str(exc))
                results.append(TargetResult(getattr(change, "name", "target"), "failed", str(exc)))
    finally:
        journal.close()
    return results


def _finish(
    start: Start,
    facts: RunFacts,
    plan: RunPlan,
    results: list[TargetResult],
    clients: Clients,
    warnings: list[str],
    dry_run: bool,
) -> Finish:
    records = next((r for r in results if r.target == RECORDS), None)
    outcomes = dict(records.records) if records else {}
    for line in summary_lines(plan.records, outcomes, dry_run):
        log.info(line)
    published = [r for r in results if r.target != RECORDS]
    if plan.release is not None:
        for line in release_lines(plan.release, published):
            log.info(line)
    for line in side_lines(results):
        log.info(line)
    tally = counts(plan.records, outcomes)
    failed, line = verdict(tally, results, plan.release, dry_run)
    outcome: Outcome = "planned" if dry_run else ("failed" if failed else "ok")
    extra = {"http": clients.stats(), "elapsed_seconds": round(time.monotonic() - start.started, 3)}
    report = sync_report(
        facts, plan, results, outcomes, outcome=outcome, dry_run=dry_run, warnings=warnings, extra=extra
    )
    shared = {} if dry_run else {f"{facts.stage.value}-report.json": report}
    if plan.release is not None and not dry_run and not any(r.failed for r in published):
        shared[RELEASE_FILE] = {"version": plan.release.version, "head": plan.release.head}
    return Finish(outcome, report, line, shared=shared)


def _near_miss_warnings(facts: RunFacts) -> list[str]:
    warnings = list(facts.commit_range.warnings)
    for word in facts.near_misses:
        message = (
            f"{word!r} looks like an Airtable record ID but is not one (rec + exactly 14 letters or digits, "
            "case-sensitive); it is ignored: correct it in the branch name or commit message"
        )
        log.warning(message)
        warnings.append(message)
    if facts.masked:
        warnings.append(f"{plural(facts.masked, 'text')} held a secret or a token-shaped string, masked everywhere")
    return warnings
