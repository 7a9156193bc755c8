"""One run of the pipe: gather facts, plan, apply through sinks, report.

Each step is a function over plain data; `run()` only wires them together and decides the
exit code. Nothing is written before the whole plan is known and checked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipe.config import Settings, load_settings
from pipe.config.values import parse_bool
from pipe.config.variables import SECRET_VARIABLES
from pipe.errors import EXIT_OK, EXIT_SYNC_FAILED, SyncError, UserError
from pipe.facts.git import GitError, GitRepo
from pipe.facts.history import branch_name, change_range
from pipe.facts.pipelines import StageDecision, detect_stage, pipeline_context
from pipe.facts.release import ReleaseFacts, gather_release
from pipe.log import Redactor, configure_logging
from pipe.model import CommitRange, PipelineContext, Stage, SyncPlan
from pipe.preflight import run_check_stage
from pipe.publish import apply_publish, check_targets, coda_client, plan_publish
from pipe.recovery import run_rollback
from pipe.report.json_report import build_report, write_report
from pipe.report.shared_storage import RELEASE_FILE, shared_release_version, write_shared
from pipe.report.summary import counts, release_lines, summary_lines
from pipe.sinks.journal import Journal
from pipe.sync import apply_sync, plan_sync

log = logging.getLogger("pipe")


@dataclass
class RunFactsBundle:
    """Everything gathered before planning."""

    settings: Settings
    repo: GitRepo
    context: PipelineContext
    branch: str | None
    decision: StageDecision
    commit_range: CommitRange  # the commits whose records this run moves
    release: ReleaseFacts | None = None  # merge and deploy: the release and its notes
    deadline: float | None = None  # time.monotonic() after which no request is sent (TIME_BUDGET)


def run(env: Mapping[str, str], cwd: Path) -> int:
    redactor = Redactor([env.get(name, "") for name in SECRET_VARIABLES])
    configure_logging(redactor, debug=_lenient_bool(env.get("DEBUG")))
    started = time.monotonic()
    if not _lenient_bool(env.get("ENABLED"), default=True):
        log.info("ENABLED is false: the pipe is paused; nothing was read or written.")
        return EXIT_OK
    try:
        if env.get("STAGE") == "rollback":
            return rollback(env, cwd)
        if env.get("STAGE") == "check":
            return run_check_stage(env, cwd)
        facts = gather(env, cwd)
        return execute(facts, redactor, started)
    except UserError as exc:
        log.error(exc.render())
        return exc.exit_code
    except SyncError as exc:
        log.error(str(exc))
        return exc.exit_code
    except Exception as exc:  # a bug: say so plainly; the traceback (redacted like every line) in debug mode
        log.error(
            "Internal error of the pipe (%s: %s); please report it with the log run with DEBUG: 'true'.",
            type(exc).__name__,
            exc,
        )
        log.debug("Traceback:", exc_info=True)
        return EXIT_SYNC_FAILED


def gather(env: Mapping[str, str], cwd: Path) -> RunFactsBundle:
    """Validate the configuration first (before any network call), then read git."""
    repo, repo_problem = _open_repo(cwd)
    settings = load_settings(env, repo.root if repo else cwd)
    for warning in settings.warnings:
        log.warning(warning)
    if repo is None:
        raise UserError(repo_problem)
    v = settings.variables
    ctx = pipeline_context(env)
    branch = branch_name(repo, ctx.branch)
    decision = detect_stage(v.STAGE, ctx, v.MAIN_BRANCH, branch)
    log.info("Stage: %s (%s)", decision.stage.value, decision.reason)
    release = None
    if decision.stage in (Stage.MERGE, Stage.DEPLOY):
        shared = Path(ctx.pipe_shared_storage_dir) if ctx.pipe_shared_storage_dir else None
        version = v.VERSION or (None if ctx.tag else shared_release_version(shared, ctx.commit))
        release = gather_release(repo, settings, ctx, version)
        commit_range = release.range.commit_range
    else:
        commit_range = stage_range(repo, decision.stage, ctx, v.MAIN_BRANCH)
    log.info("Commits: %d in %s", len(commit_range.commits), commit_range.description)
    for note in commit_range.fetched:
        log.info("Fetched %s", note)
    for warning in commit_range.warnings:
        log.warning(warning)
    deadline = time.monotonic() + v.TIME_BUDGET
    return RunFactsBundle(settings, repo, ctx, branch, decision, commit_range, release, deadline)


def rollback(env: Mapping[str, str], cwd: Path) -> int:
    """STAGE=rollback: restore what a journaled run changed (pipe.recovery); reads no git history."""
    settings = load_settings(env, cwd)
    for warning in settings.warnings:
        log.warning(warning)
    v = settings.variables
    assert v.JOURNAL_FILE is not None  # required with STAGE=rollback (settings)
    journal = Path(v.JOURNAL_FILE)
    log.info("Stage: rollback (STAGE is set to rollback)")
    return run_rollback(settings, env, journal if journal.is_absolute() else cwd / journal, dry_run=v.DRY_RUN)


def stage_range(repo: GitRepo, stage: Stage, ctx: PipelineContext, main_branch: str) -> CommitRange:
    """Build and review: the branch's (or pull request's) own commits."""
    base_branch = ctx.pr_destination_branch or main_branch if stage is Stage.REVIEW else main_branch
    return change_range(repo, head=ctx.commit, base_branch=base_branch, logger=log)


def execute(facts: RunFactsBundle, redactor: Redactor, started: float) -> int:
    settings = facts.settings
    v = settings.variables
    journal = Journal(_journal_path(settings), facts.context.run_id)
    planned = plan_sync(facts)
    plan = planned.plan
    # Rendered before any write: a template error stops the run with nothing written.
    release = plan_publish(facts, planned.resolution)
    coda = coda_client(facts) if release is not None else None
    if release is not None and not v.DRY_RUN:
        # every publishing target, before the first write of the run
        check_targets(facts, release, planned.client, coda)
    outcome = "planned" if v.DRY_RUN else "ok"
    try:
        if v.DRY_RUN:
            log.info("Dry run: nothing is written. The plan:")
        elif any(p.changes for p in plan.records):
            apply_sync(facts, planned, journal)
        if release is not None:
            records_failed = any(p.error for p in plan.records)
            apply_publish(
                facts, release, planned.client, coda, journal, dry_run=v.DRY_RUN, records_failed=records_failed
            )
    except SyncError as exc:
        outcome = "failed"
        plan.warnings.append(str(exc))
        log.error(str(exc))
    finally:
        journal.close()
    for line in summary_lines(plan.records, v.DRY_RUN):
        log.info(line)
    if release is not None:
        for line in release_lines(release):
            log.info(line)
    tally = counts(plan.records)
    failed = tally["failed"] > 0 or outcome == "failed" or bool(release and release.failed)
    if failed:
        outcome = "failed"
    http = {**planned.http_stats, **({"coda": dict(coda.policy.stats)} if coda else {})}
    extra: dict[str, Any] = {"http": http, "elapsed_seconds": round(time.monotonic() - started, 3)}
    if release is not None:
        extra["release"] = release.as_dict()
    report = build_report(plan, stage_reason=facts.decision.reason, outcome=outcome, extra=extra)
    if settings.report_path:
        write_report(settings.report_path, report, redactor)
        log.info("Report written to %s", settings.report_path)
    share(facts, report, release, redactor)
    log.info(
        "Done: %d records, %d written, %d unchanged, %d skipped, %d failed.",
        tally["records"],
        tally["written"],
        tally["unchanged"],
        tally["skipped"],
        tally["failed"],
    )
    if failed:
        if v.FAIL_ON_ERROR:
            return EXIT_SYNC_FAILED
        log.warning("FAIL_ON_ERROR is false: the failures above are reported and the step passes.")
    return EXIT_OK


def share(facts: RunFactsBundle, report: dict[str, Any], release, redactor: Redactor) -> None:
    """Leave the report (and the release) for later steps of the pipeline (pipe_shared_storage_dir)."""
    folder = facts.context.pipe_shared_storage_dir
    if not folder or facts.settings.variables.DRY_RUN:
        return
    write_shared(Path(folder), f"{facts.decision.stage.value}-report.json", report, redactor)
    if release is not None and not release.failed:
        write_shared(Path(folder), RELEASE_FILE, {"version": release.version, "head": facts.release.head}, redactor)


def _journal_path(settings: Settings) -> Path | None:
    if settings.report_path is None:
        return None
    return settings.report_path.with_name(settings.report_path.stem + ".journal.jsonl")


def _open_repo(cwd: Path) -> tuple[GitRepo | None, str]:
    try:
        return GitRepo.open(cwd), ""
    except GitError as exc:
        return None, (
            f"No git repository: {exc}. Run the pipe in a step that clones the repository "
            "(the default), from inside the clone."
        )


def _lenient_bool(value: str | None, default: bool = False) -> bool:
    """For DEBUG and ENABLED, read before validation: a bad value falls back to the default (and is
    reported by validation)."""
    try:
        return parse_bool(value) if value else default
    except ValueError:
        return default


__all__ = ["SyncPlan", "run"]
