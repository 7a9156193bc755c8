"""`STAGE: start`: start work on Airtable records from a custom pipeline.

For `RECORD_ID` (one record, e.g. triggered by an Airtable automation) or every record of `START_VIEW` (a
scheduled pipeline): create `feature/<record ID>-<slug of the title>` from the head of MAIN_BRANCH through
Bitbucket's API, or reuse the branch the record has, and write the branch name (and link) back to the record.
Statuses are left alone: the first build of the branch moves the record on, like any other branch.

gather (pipe.start.facts) → plan (pipe.start.plan, pure) → a dry run stops here → prepare and apply
(pipe.start.apply) → log, report, verdict (pipe.start.report). See docs/start-work.md.
"""

from __future__ import annotations

import logging
import time

from pipe.clients.airtable import AirtableClient, airtable_policy
from pipe.clients.bitbucket import BitbucketClient, BitbucketError, bitbucket_policy
from pipe.errors import UserError
from pipe.facts.scrub import scrub
from pipe.modes.base import Finish, Outcome, Start
from pipe.sinks.journal import Journal
from pipe.start.apply import StartOutcome, apply, prepare
from pipe.start.facts import StartFacts, gather_start
from pipe.start.plan import StartPlan, plan_start
from pipe.start.report import record_line, start_report, verdict

log = logging.getLogger("pipe.start")


def start_mode(start: Start) -> Finish:
    settings = start.settings
    a = settings.airtable
    if not (a.token and a.base_id and a.table):  # settings require them with STAGE: start
        raise UserError("AIRTABLE_TOKEN, AIRTABLE_BASE_ID and AIRTABLE_TABLE: are required with STAGE: start")
    repo = start.context.repo_full_name
    if not repo:
        raise UserError(
            "BITBUCKET_REPO_FULL_NAME: is not set (nor BITBUCKET_WORKSPACE and BITBUCKET_REPO_SLUG): STAGE: start "
            "creates the branch in the pipeline's repository, so run it in a Bitbucket pipeline (a custom one)"
        )
    airtable = AirtableClient(
        a.token,
        a.base_id,
        a.table,
        a.api_url,
        airtable_policy(a.rate_limit_wait, start.deadline, requests_per_second=a.requests_per_second),
    )
    b = settings.bitbucket
    bitbucket = BitbucketClient(b.api_url, repo, bitbucket_policy(start.deadline), token=b.token) if b.token else None
    facts: StartFacts = scrub(_gather(start, airtable, bitbucket), start.redactor)
    plans = plan_start(facts, start.context.branch_url, a.key_pattern)
    dry_run = settings.run.dry_run
    if settings.start.record_id is not None and plans and plans[0].action == "skip":
        raise UserError(f"RECORD_ID: record {plans[0].record_id}: {plans[0].reason}; nothing was written.")
    outcomes: dict[str, StartOutcome] = {}
    if dry_run:
        log.info("Dry run: nothing is written. The plan:")
    elif any(p.action != "skip" for p in plans):
        assert bitbucket is not None  # settings require the token outside a dry run
        prepared = prepare(plans, bitbucket, airtable, facts.main_branch)
        outputs = start.outputs
        journal = Journal(outputs.journal, start.context.run_id, outputs.root, outputs.report_variable)
        try:
            outcomes = apply(plans, prepared, bitbucket, airtable, journal)
        finally:
            journal.close()
    return _finish(start, facts, plans, outcomes, [airtable, bitbucket], dry_run)


def _gather(start: Start, airtable: AirtableClient, bitbucket: BitbucketClient | None) -> StartFacts:
    try:
        return gather_start(start.settings, airtable, bitbucket)
    except BitbucketError as exc:
        if exc.status in (401, 403, 404):
            raise UserError(
                f"{exc}. Check BITBUCKET_ACCESS_TOKEN (a repository access token of this repository, scope "
                "repository:write); nothing was written."
            ) from None
        raise


def _finish(
    start: Start,
    facts: StartFacts,
    plans: tuple[StartPlan, ...],
    outcomes: dict[str, StartOutcome],
    clients: list[AirtableClient | BitbucketClient | None],
    dry_run: bool,
) -> Finish:
    for plan in plans:
        done = outcomes.get(plan.record_id)
        trouble = plan.action == "skip" or (done is not None and done.error)
        (log.warning if trouble else log.info)(record_line(plan, done, dry_run))
    failed, line = verdict(plans, outcomes, dry_run)
    outcome: Outcome = "planned" if dry_run else ("failed" if failed else "ok")
    http = {name: dict(c.policy.stats) for name, c in zip(("airtable", "bitbucket"), clients, strict=True) if c}
    extra = {"http": http, "elapsed_seconds": round(time.monotonic() - start.started, 3)}
    report = start_report(facts, plans, outcomes, outcome=outcome, dry_run=dry_run, extra=extra)
    return Finish(outcome, report, line)


__all__ = ["start_mode"]
