"""`STAGE: check`: run every preflight check, print the table of results, write the JSON report.

Nothing the pipe syncs is written: the only writes are the harmless probes that prove write access
(see `pipe.preflight.airtable` and `pipe.preflight.coda`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pipe.clients.http import HttpPolicy
from pipe.config import Settings, load_settings
from pipe.config.variables import SECRET_VARIABLES
from pipe.errors import EXIT_BAD_INPUT, EXIT_OK
from pipe.facts.git import GitError, GitRepo
from pipe.log import Redactor
from pipe.preflight.airtable import airtable_checks
from pipe.preflight.checks import Check, summary, table_lines
from pipe.preflight.coda import coda_checks
from pipe.report.json_report import REPORT_VERSION, write_report

log = logging.getLogger("pipe.preflight")


def run_checks(
    settings: Settings, *, airtable_policy: HttpPolicy | None = None, coda_policy: HttpPolicy | None = None
) -> list[Check]:
    """Every check, Airtable first; each service stops at the first check the others depend on."""
    return [*airtable_checks(settings, airtable_policy), *coda_checks(settings, coda_policy)]


def exit_code(checks: Sequence[Check]) -> int:
    return EXIT_OK if all(c.ok for c in checks) else EXIT_BAD_INPUT


def build_check_report(checks: Sequence[Check]) -> dict[str, Any]:
    return {
        "report_version": REPORT_VERSION,
        "stage": "check",
        "outcome": "ok" if exit_code(checks) == EXIT_OK else "failed",
        "summary": summary(checks),
        "checks": [c.as_dict() for c in checks],
    }


def run_check(
    settings: Settings,
    env: Mapping[str, str],
    *,
    airtable_policy: HttpPolicy | None = None,
    coda_policy: HttpPolicy | None = None,
    checks: list[Check] | None = None,
) -> int:
    """Run the preflight, log the table of results and write the report: 0 when every check passed, 2 when
    one failed (each failure says what to fix). Pass a list as `checks` to get the results too."""
    found = run_checks(settings, airtable_policy=airtable_policy, coda_policy=coda_policy)
    if checks is not None:
        checks.extend(found)
    log.info("Preflight checks:")
    for line in table_lines(found):
        log.info("  %s", line)
    tally = summary(found)
    if settings.report_path:
        redactor = Redactor([*settings.secrets, *(env.get(name, "") for name in SECRET_VARIABLES)])
        write_report(settings.report_path, build_check_report(found), redactor)
        log.info("Report written to %s", settings.report_path)
    outcome = f"{tally['passed']} passed, {tally['warnings']} warning(s), {tally['failed']} failed"
    if tally["failed"]:
        log.error("Preflight: %s. Fix what the failed checks say; nothing was synced.", outcome)
        for check in found:
            if not check.ok:
                log.error("- %s, %s: %s", check.target, check.name, check.detail)
        return EXIT_BAD_INPUT
    log.info("Preflight: %s.", outcome)
    return EXIT_OK


def run_check_stage(env: Mapping[str, str], cwd: Path) -> int:
    """`STAGE: check`, called by `pipe.flow.run` (which configured logging and renders a `UserError`).

    Needs no git history: the config file is looked up from the repository's root when `cwd` is in a clone,
    from `cwd` otherwise. Raises `ConfigError` when the variables or the config file are invalid.
    """
    try:
        root = GitRepo.open(cwd).root
    except GitError:
        root = cwd
    settings = load_settings(env, root)
    for warning in settings.warnings:
        log.warning(warning)
    log.info("Stage: check (preflight: nothing is synced)")
    return run_check(settings, env)
