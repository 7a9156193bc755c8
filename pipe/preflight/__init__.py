"""Preflight (`STAGE: check`): token, base/table/doc, mapped fields and columns, select options, write access.

`run_check(settings, env)` runs everything and returns the exit code; `run_checks(settings)` returns the
results (`Check`). `pin_fields(schema, mapping, key_field)` is the part the sync runs before its first write
(`pin_section` the same for the releases and deployments tables).
"""

from pipe.preflight.checks import Check
from pipe.preflight.fields import (
    FieldRef,
    Resolved,
    parse_ref,
    pin_fields,
    pin_section,
    resolve_all,
    resolve_field,
)
from pipe.preflight.run import build_check_report, exit_code, run_check, run_check_stage, run_checks

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
    "run_check",
    "run_check_stage",
    "run_checks",
]
