"""One run of the pipe: gather facts, plan, apply through sinks, report.

Each step is a function over plain data; `run()` only wires them together and decides the
exit code. Nothing is written before the whole plan is known and checked.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipe.config import Settings, load_settings
from pipe.config.values import parse_bool
from pipe.config.variables import SECRET_VARIABLES
from pipe.errors import EXIT_OK, EXIT_SYNC_FAILED, SyncError, UserError
from pipe.facts.git import GitError, GitRepo
from pipe.facts.pipelines import StageDecision, detect_stage, pipeline_context
from pipe.log import Redactor, configure_logging
from pipe.model import CommitRange, PipelineContext, Stage, SyncPlan
from pipe.report.json_report import build_report, write_report
from pipe.report.summary import counts, summary_lines
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe")


@dataclass
class RunFactsBundle:
    """Everything gathered before planning."""

    settings: Settings
    repo: GitRepo
    context: PipelineContext
    branch: str | None
    decision: StageDecision
    commit_range: CommitRange
    warnings: list[str] = field(default_factory=list)


def run(env: Mapping[str, str], cwd: Path) -> int:
    redactor = Redactor([env.get(name, "") for name in SECRET_VARIABLES])
    configure_logging(redactor, debug=_lenient_bool(env.get("DEBUG")))
    started = time.monotonic()
    try:
        facts = gather(env, cwd)
        return execute(facts, redactor, started)
    except UserError as exc:
        log.error(exc.render())
        return exc.exit_code
    except SyncError as exc:
        log.error(str(exc))
        return exc.exit_code


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
    from pipe.facts.history import branch_name

    branch = branch_name(repo, ctx.branch)
    decision = detect_stage(v.STAGE, ctx, v.MAIN_BRANCH, branch)
    log.info("Stage: %s (%s)", decision.stage.value, decision.reason)
    commit_range = stage_range(repo, decision.stage, ctx, v.MAIN_BRANCH)
    log.info("Commits: %d in %s", len(commit_range.commits), commit_range.description)
    for note in commit_range.fetched:
        log.info("Fetched %s", note)
    for warning in commit_range.warnings:
        log.warning(warning)
    return RunFactsBundle(settings, repo, ctx, branch, decision, commit_range)


def stage_range(repo: GitRepo, stage: Stage, ctx: PipelineContext, main_branch: str) -> CommitRange:
    from pipe.facts.history import change_range

    head = ctx.commit
    if stage is Stage.REVIEW:
        return change_range(repo, head=head, base_branch=ctx.pr_destination_branch or main_branch, logger=log)
    if stage is Stage.BUILD:
        return change_range(repo, head=head, base_branch=main_branch, logger=log)
    from pipe.release.range import release_range

    return release_range(repo, head=head, tag=ctx.tag).commit_range


def execute(facts: RunFactsBundle, redactor: Redactor, started: float) -> int:
    from pipe.sync import apply_sync, plan_sync

    settings = facts.settings
    v = settings.variables
    journal = Journal(_journal_path(settings), facts.context.run_id)
    planned = plan_sync(facts)
    plan = planned.plan
    outcome = "planned" if v.DRY_RUN else "ok"
    try:
        if v.DRY_RUN:
            log.info("Dry run: nothing is written. The plan:")
        elif any(p.changes for p in plan.records):
            apply_sync(facts, planned, journal)
    except SyncError as exc:
        outcome = "failed"
        plan.warnings.append(str(exc))
        log.error(str(exc))
    finally:
        journal.close()
    for line in summary_lines(plan.records, v.DRY_RUN):
        log.info(line)
    tally = counts(plan.records)
    failed = tally["failed"] > 0 or outcome == "failed"
    if failed:
        outcome = "failed"
    extra: dict[str, Any] = {"http": planned.http_stats, "elapsed_seconds": round(time.monotonic() - started, 3)}
    if settings.report_path:
        write_report(
            settings.report_path,
            build_report(plan, stage_reason=facts.decision.reason, outcome=outcome, extra=extra),
            redactor,
        )
        log.info("Report written to %s", settings.report_path)
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


def _lenient_bool(value: str | None) -> bool:
    try:
        return parse_bool(value or "false")
    except ValueError:
        return False


__all__ = ["SyncPlan", "run"]
