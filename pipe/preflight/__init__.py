"""Preflight (`STAGE: check`): token, base/table/doc, mapped fields and columns, select options, write access.

`check_mode(start)` is the mode (pipe.flow.MODES); `run_checks(settings)` returns the results (`Check`).
The field checks the sync also runs before its first write are in `pipe.facts.fields` (re-exported here).
"""

from pipe.facts.fields import (
    FieldRef,
    Resolved,
    parse_ref,
    pin_fields,
    pin_section,
    resolve_all,
    resolve_field,
)
from pipe.preflight.checks import Check
from pipe.preflight.run import build_check_report, check_mode, exit_code, run_checks

__all__ = [
    "Check",
    "FieldRef",
    "Resolved",
    "build_check_report",
    "exit_code",
    "parse_ref",
    "pin_fields",
    "pin_section",
    "resolve_all",
    "resolve_field",
    "check_mode",
    "run_checks",
]
