"""One run of the pipe: a shared start-up, the mode `STAGE` asks for (the table `MODES`), a shared end.

Start-up: the kill switch, the log's redactor (every secret variable), settings validated once (every
problem listed, nothing sent yet), the clone opened, every output path checked, the time budget started.
End: the JSON report and the files for later steps written (secrets redacted), one verdict line, the exit
code (0 done, 1 a sync failed, 2 bad input or configuration: nothing written).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from pipe.clients.git import GitError, GitRepo
from pipe.config import Settings, load_settings
from pipe.config.values import parse_bool
from pipe.config.variables import SECRET_VARIABLES
from pipe.errors import EXIT_OK, EXIT_SYNC_FAILED, SyncError, UserError
from pipe.facts.pipelines import pipeline_context
from pipe.log import Redactor, configure_logging
from pipe.modes.base import Finish, Mode, Start
from pipe.modes.sync import run_sync
from pipe.preflight.run import check_mode
from pipe.reconcile import reconcile_mode
from pipe.recovery import rollback_mode
from pipe.report.json_report import write_report
from pipe.report.outputs import check_outputs, outputs_for
from pipe.report.shared_storage import write_shared
from pipe.start import start_mode

log = logging.getLogger("pipe")

# The table of modes: what each STAGE value does. Every mode gets the same `Start` (settings, redactor, clone,
# time budget) and ends with a `Finish` (report, verdict, exit code). Adding a mode is a function
# `Start -> Finish`, one row here, and its name among the STAGE values (pipe.config.variables.StageName).
SYNC = Mode("sync", needs_clone=True, run=run_sync)  # build, review, merge, deploy (auto: detected)
MODES: Mapping[str, Mode] = {
    "auto": SYNC,
    "build": SYNC,
    "review": SYNC,
    "merge": SYNC,
    "deploy": SYNC,
    "check": Mode("check", needs_clone=False, run=check_mode, summary="preflight: nothing is synced"),
    "rollback": Mode("rollback", needs_clone=False, run=rollback_mode, summary="STAGE is set to rollback"),
    "reconcile": Mode("reconcile", needs_clone=True, run=reconcile_mode, summary="the history against the base"),
    "start": Mode("start", needs_clone=False, run=start_mode, summary="a branch for each Airtable record"),
}

VERDICT_OK = "✔"
VERDICT_FAILED = "✖"


def run(env: Mapping[str, str], cwd: Path) -> int:
    redactor = Redactor([env.get(name, "") for name in SECRET_VARIABLES])
    configure_logging(redactor, debug=_lenient_bool(env.get("DEBUG")))
    if not _lenient_bool(env.get("ENABLED"), default=True):
        log.info("ENABLED is false: the pipe is paused; nothing was read or written.")
        return EXIT_OK
    try:
        mode = MODES.get(env.get("STAGE") or "auto", SYNC)  # an unknown STAGE: validation names the problem
        start = start_up(env, cwd, redactor, needs_clone=mode.needs_clone)
        if mode.summary:
            log.info("Stage: %s (%s)", mode.name, mode.summary)
        return end(start, mode.run(start))
    except UserError as exc:
        log.error(exc.render())
        _verdict(False, f"{_first_line(str(exc))} Nothing was written.")
        return exc.exit_code
    except SyncError as exc:
        log.error(str(exc))
        _verdict(False, _first_line(str(exc)))
        return exc.exit_code
    except Exception as exc:  # a bug: say so plainly; the traceback (redacted like every line) in debug mode
        log.error(
            "Internal error of the pipe (%s: %s); please report it with the log run with DEBUG: 'true'.",
            type(exc).__name__,
            exc,
        )
        log.debug("Traceback:", exc_info=True)
        _verdict(False, f"Internal error ({type(exc).__name__}); see above.")
        return EXIT_SYNC_FAILED


def start_up(env: Mapping[str, str], cwd: Path, redactor: Redactor, *, needs_clone: bool) -> Start:
    """Validate the configuration first (before any network call), then check where the run will write."""
    repo, repo_problem = _open_repo(cwd)
    settings = load_settings(env, repo.root if repo else cwd)
    for warning in settings.warnings:
        log.warning(warning)
    if repo is None and needs_clone:
        raise UserError(repo_problem)
    return start_from(settings, env, cwd, redactor, repo)


def start_from(
    settings: Settings, env: Mapping[str, str], cwd: Path, redactor: Redactor, repo: GitRepo | None = None
) -> Start:
    """The shared start for settings already loaded (also what tests of one mode start from)."""
    for secret in settings.secrets:
        redactor.add(secret)
    context = pipeline_context(env)
    variable = "REPORT_FILE" if settings.variables.REPORT_FILE else "BITBUCKET_PIPE_STORAGE_DIR"
    clone = repo.root if repo is not None else cwd
    outputs = outputs_for(settings.run.report_path, variable, context.pipe_shared_storage_dir, cwd, clone)
    check_outputs(outputs)  # a report or journal that cannot be written stops the run here
    started = time.monotonic()
    return Start(
        env=env,
        cwd=cwd,
        settings=settings,
        redactor=redactor,
        context=context,
        repo=repo,
        outputs=outputs,
        started=started,
        deadline=started + settings.run.time_budget,
        now=int(time.time()),
    )


def end(start: Start, finish: Finish) -> int:
    """Write the report and the shared files, log the verdict, return the exit code."""
    outputs = start.outputs
    if outputs.report is not None and outputs.root is not None:
        write_report(outputs.report, finish.report, start.redactor, outputs.root, outputs.report_variable)
        log.info("Report written to %s", outputs.report)
    if outputs.shared is not None:
        for name, data in finish.shared.items():
            write_shared(outputs.shared, name, data, start.redactor)
    if finish.outcome != "failed":
        _verdict(True, finish.verdict)
        return EXIT_OK
    _verdict(False, finish.verdict)
    if finish.failure_code == EXIT_SYNC_FAILED and not start.settings.run.fail_on_error:
        log.warning("FAIL_ON_ERROR is false: the failures above are reported and the step passes.")
        return EXIT_OK
    return finish.failure_code


def run_with(
    settings: Settings, env: Mapping[str, str], cwd: Path, mode: Callable[[Start], Finish], repo: GitRepo | None = None
) -> int:
    """Run one mode with settings already loaded, through the shared start and end (for tests and tools that
    need to hand a mode something, such as a faster HTTP policy). Logging is left as the caller set it up."""
    redactor = Redactor([env.get(name, "") for name in SECRET_VARIABLES])
    try:
        start = start_from(settings, env, cwd, redactor, repo)
        return end(start, mode(start))
    except UserError as exc:
        log.error(exc.render())
        return exc.exit_code


def _verdict(ok: bool, text: str) -> None:
    log.info("%s %s", VERDICT_OK if ok else VERDICT_FAILED, text, extra={"plain": True})


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "Failed."


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


__all__ = ["end", "run", "run_with", "start_from", "start_up"]
