"""`STAGE: check`: run every preflight check, print the table of results, write the JSON report.

Nothing the pipe syncs is written: the only writes are the harmless probes that prove write access
(see `pipe.preflight.airtable` and `pipe.preflight.coda`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from pipe.clients.http import HttpPolicy
from pipe.config import Settings
from pipe.errors import EXIT_BAD_INPUT, EXIT_OK
from pipe.modes.base import Finish, Start
from pipe.preflight.airtable import airtable_checks
from pipe.preflight.checks import Check, summary, table_lines
from pipe.preflight.coda import coda_checks
from pipe.report.json_report import REPORT_VERSION

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


def check_mode(
    start: Start,
    *,
    airtable_policy: HttpPolicy | None = None,
    coda_policy: HttpPolicy | None = None,
    checks: list[Check] | None = None,
) -> Finish:
    """Run the preflight and log the table of results: passes when every check passed; fails with exit 2 when
    one failed (each failure says what to fix). Pass a list as `checks` to get the results too."""
    found = run_checks(start.settings, airtable_policy=airtable_policy, coda_policy=coda_policy)
    if checks is not None:
        checks.extend(found)
    log.info("Preflight checks:")
    for line in table_lines(found):
        log.info("  %s", line)
    tally = summary(found)
    outcome = f"{tally['passed']} passed, {tally['warnings']} warning(s), {tally['failed']} failed"
    report = build_check_report(found)
    if tally["failed"]:
        for check in found:
            if not check.ok:
                log.error("- %s, %s: %s", check.target, check.name, check.detail)
        verdict = f"Preflight: {outcome}. Fix what the failed checks say; nothing was synced."
        return Finish("failed", report, verdict, failure_code=EXIT_BAD_INPUT)
    return Finish("ok", report, f"Preflight: {outcome}.")
