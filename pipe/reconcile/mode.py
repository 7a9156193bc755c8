"""`STAGE: reconcile`: read the history, read the base, list every disagreement; with `RECONCILE: apply` write
the fixes through the Airtable records target, journaled like any run.

Reads first, all of them (git, the deployments log, the work items), so bad input stops the run with nothing
written; the comparison is pure (pipe.reconcile.compare). Exit codes: 0 when the comparison is done, also with
disagreements (report mode lists them; the step passes, as a reconcile is a look at the base and a person who
moved a record back by hand is no failure); 1 when some fixes could not be written (FAIL_ON_ERROR: false: 0);
2 for bad input, nothing written.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from pipe.clients.airtable import AirtableClient, airtable_policy
from pipe.config.settings import Settings
from pipe.errors import UserError
from pipe.facts.gather import MIN_RECENT_WINDOW
from pipe.facts.masking import mask_commits
from pipe.facts.run_facts import TableFields
from pipe.facts.scrub import scrub
from pipe.model import RecordOutcome, RecordState, TargetResult
from pipe.modes.base import Finish, Outcome, Start
from pipe.plan.records import check_status_choices
from pipe.reconcile.base import BaseState, read_base, read_deployments, unknown_to_history
from pipe.reconcile.compare import Reconciled, reconcile_records
from pipe.reconcile.evidence import HistoryIndex
from pipe.reconcile.history import History, read_history
from pipe.reconcile.output import (
    ReconcileMode,
    base_line,
    history_line,
    missing_lines,
    reconcile_report,
    table_lines,
    unknown_line,
    verdict,
)
from pipe.reconcile.referenced import Referenced, referenced, sample
from pipe.report.summary import plural
from pipe.sinks.airtable_records import RecordsTarget
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.reconcile")


@dataclass(frozen=True)
class ReconcileFacts:
    """What the Airtable records target needs of the facts to write and read back (sinks.airtable_records)."""

    fields: TableFields
    now: int
    recent_window: float


def reconcile_mode(start: Start) -> Finish:
    settings = start.settings
    assert start.repo is not None  # the mode needs a clone (pipe.flow.MODES)
    mode = ReconcileMode(apply=settings.reconcile.apply, dry_run=settings.run.dry_run)
    run = settings.run
    history = _masked(
        read_history(
            start.repo, start.context, run.main_branch, settings.reconcile.since, settings.release_config.tag_pattern
        ),
        start,
    )
    for note in history.fetched:
        log.info("Fetched %s", note)
    everything = referenced(history, settings.airtable.key_pattern)
    if not everything:
        return _nothing_referenced(start, history, mode)
    size = settings.reconcile.sample
    wanted = sample(everything, size, history.head)
    client = _client(settings, start.deadline)
    deployments = read_deployments(client, settings.airtable)
    log.info(history_line(history, len(deployments)))
    base = read_base(client, settings.airtable, wanted, whole_table=size is None)
    base = replace(base, resolution=scrub(base.resolution, start.redactor))  # titles and values, as the sync does
    table = settings.airtable.table or ""
    log.info(base_line(base, table, len(wanted), len(everything), history.head, size))
    index = HistoryIndex(history, deployments, settings.workflow)
    results = reconcile_records(
        wanted, base.resolution, index, base.fields, settings.workflow, start.context, run.main_branch
    )
    unknown = unknown_to_history(base, wanted)

    target = _apply(start, client, results, base, mode) if mode.apply else None
    outcomes = dict(target.records) if target is not None else {}
    _log_results(results, unknown, base, table, history, mode, outcomes)
    if target is not None and target.detail:
        log.info("%s: %s (%s)", target.target, target.status, target.detail)
    outcome: Outcome = "planned" if mode.dry_run else ("failed" if target is not None and target.failed else "ok")
    report = reconcile_report(
        history=history,
        wanted=wanted,
        referenced=len(everything),
        sample=size,
        base=base,
        deployments=len(deployments),
        results=results,
        unknown=unknown,
        mode=mode,
        outcome=outcome,
        outcomes=outcomes,
        extra={
            "targets": [target.as_dict()] if target is not None else [],
            "http": {"airtable": dict(client.policy.stats)},
            "elapsed_seconds": round(time.monotonic() - start.started, 3),
        },
    )
    return Finish(outcome, report, verdict(results, mode, outcomes))


def _masked(history: History, start: Start) -> History:
    """Commit messages masked where they enter the run (pipe.facts.masking): a token pasted into one reaches no
    output (the branch of a merge commit is written to Airtable)."""
    commits, warnings = mask_commits(history.commits, start.redactor)
    for warning in warnings:
        log.warning(warning)
    return replace(history, commits=tuple(commits)) if warnings else history


def _client(settings: Settings, deadline: float) -> AirtableClient:
    a = settings.airtable
    if not (a.token and a.base_id and a.table):  # required with STAGE: reconcile (pipe.config.reconcile)
        raise UserError("AIRTABLE_TOKEN, AIRTABLE_BASE_ID and AIRTABLE_TABLE: are required with STAGE: reconcile")
    return AirtableClient(a.token, a.base_id, a.table, a.api_url, airtable_policy(a.rate_limit_wait, deadline))


def _apply(
    start: Start, client: AirtableClient, results: list[Reconciled], base: BaseState, mode: ReconcileMode
) -> TargetResult:
    """The fixes, through the sync's own Airtable records target: 10 records per request, journaled, statuses
    read back (and set again where a concurrent run moved one back meanwhile)."""
    settings = start.settings
    plans = [r.plan for r in results if r.plan.writes]
    check_status_choices(plans, base.fields, settings.airtable.table or "")  # before any write
    facts = ReconcileFacts(base.fields, start.now, max(MIN_RECENT_WINDOW, 2 * settings.run.time_budget))
    change = RecordsTarget(client, plans, facts, settings.workflow).prepare()
    if mode.dry_run:
        log.info("Dry run: nothing is written.")
        return change.preview()
    outputs = start.outputs
    journal = Journal(outputs.journal, start.context.run_id, outputs.root, outputs.report_variable)
    try:
        return change.apply(journal, [])
    finally:
        journal.close()


def _log_results(
    results: list[Reconciled],
    unknown: list[RecordState],
    base: BaseState,
    table: str,
    history: History,
    mode: ReconcileMode,
    outcomes: dict[str, RecordOutcome],
) -> None:
    rows = table_lines(results, mode, outcomes)
    found = sum(len(r.disagreements) for r in results)
    records = sum(1 for r in results if r.disagreements)
    if rows:
        log.info("Disagreements between the history and the base: %s on %s", found, plural(records, "record"))
        for line in rows:
            log.info(line)
    else:
        log.info("No disagreement: every record the history names holds what the history implies, or more.")
    for line in missing_lines(results):
        log.warning("Named in the history but not in %r: %s", table, line)
    if unknown:
        log.info(unknown_line(unknown, base.resolution, table, history))


def _nothing_referenced(start: Start, history: History, mode: ReconcileMode) -> Finish:
    settings = start.settings
    pattern = settings.airtable.key_pattern
    searched = "record IDs (rec + 14 letters or digits)" + (
        f" and keys matching KEY_PATTERN {pattern.pattern!r}" if pattern is not None else ", and no KEY_PATTERN is set"
    )
    message = (
        f"The history read ({history.description}: {plural(len(history.commits), 'commit')}) names no Airtable "
        f"record: its commit messages hold no {searched}. Nothing to reconcile; Airtable was not read."
    )
    hints = []
    if pattern is None:
        hints.append("set KEY_PATTERN and KEY_FIELD if the commits name records by key (such as FEAT-123)")
    if history.since is not None:
        hints.append(f"RECONCILE_SINCE ({history.since.text}) leaves the older history out")
    log.warning(message + (f" Check: {'; '.join(hints)}." if hints else ""))
    log.info(history_line(history, 0))
    wanted: list[Referenced] = []
    report = reconcile_report(
        history=history,
        wanted=wanted,
        referenced=0,
        sample=settings.reconcile.sample,
        base=None,
        deployments=0,
        results=[],
        unknown=[],
        mode=mode,
        outcome="planned" if mode.dry_run else "ok",
        outcomes={},
        extra={"warnings": [message], "elapsed_seconds": round(time.monotonic() - start.started, 3)},
    )
    return Finish("planned" if mode.dry_run else "ok", report, "Reconcile: the history names no record; nothing done.")
