"""The variables of `STAGE: start` (`RECORD_ID`, `START_VIEW`): their parser and the rules between them.

`pipe.config.variables` uses the parser; `pipe.config.settings` adds `start_problems` to its cross-checks.
docs/start-work.md describes the mode.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

RECORD_ID = re.compile(r"rec[A-Za-z0-9]{14}")


def parse_record_id(value: object) -> str:
    """An Airtable record ID: `rec` and 14 letters or digits, case-sensitive (a pasted record URL also works)."""
    text = str(value).strip()
    found = re.search(r"(?<![A-Za-z0-9])rec[A-Za-z0-9]{14}(?![A-Za-z0-9])", text) if "/" in text else None
    record_id = found.group(0) if found else text
    if not RECORD_ID.fullmatch(record_id):
        raise ValueError(
            "expected an Airtable record ID: rec followed by exactly 14 letters or digits (case-sensitive), "
            "such as recAbC123dEf456Gh; the record's URL shows it"
        )
    return record_id


def start_problems(raw: Mapping[str, str], dry_run: bool | None) -> list[str]:
    """`STAGE: start` needs one record source and, to create branches, a Bitbucket token; its variables mean
    nothing at other stages."""
    start = raw.get("STAGE") == "start"
    problems = []
    if start:
        given = [name for name in ("RECORD_ID", "START_VIEW") if name in raw]
        if not given:
            problems.append(
                "RECORD_ID: is required with STAGE: start (the record to start work on), or set START_VIEW "
                "to start every record of an Airtable view"
            )
        elif len(given) == 2:
            problems.append(
                "START_VIEW: give RECORD_ID or START_VIEW with STAGE: start, not both (RECORD_ID for one "
                "record, START_VIEW for every record of a view)"
            )
        if "AIRTABLE_TOKEN" not in raw and dry_run:
            problems.append(
                "AIRTABLE_TOKEN: is required with STAGE: start, also for a dry run (the branch name comes from "
                "the record's title)"
            )
        if "BITBUCKET_ACCESS_TOKEN" not in raw and dry_run is False:
            problems.append(
                "BITBUCKET_ACCESS_TOKEN: is required with STAGE: start (a repository access token with the scope "
                "repository:write creates the branch), or set DRY_RUN: 'true' to only print the plan"
            )
    else:
        for name in ("RECORD_ID", "START_VIEW"):
            if name in raw:
                problems.append(f"{name}: is only used with STAGE: start; set STAGE: start to start work on records")
    return problems
