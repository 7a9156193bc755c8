"""The variables of `STAGE: reconcile`: what they accept, and the rules between them and the others.

`RECONCILE_SINCE` is a release tag or a date: a value that reads as an ISO 8601 date (`2024-05-01`) or date-time
(`2024-05-01T12:00:00Z`, `2024-05-01 12:00+02:00`) is a date, anything else the name of a tag (whether the
clone has it is checked when the history is read).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from pipe.config.values import parse_bool

RECONCILE_VARIABLES = ("RECONCILE", "RECONCILE_SINCE", "RECONCILE_SAMPLE")
MAX_SAMPLE = 100_000
_LOOKS_LIKE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[T ].*)?$")
# What git refuses in a ref name (git-check-ref-format): spaces and controls, ~ ^ : ? * [ \, "..", "@{", a
# leading "-" or ".", a trailing "." or ".lock". A tag name the clone lacks is found when the history is read.
_BAD_TAG = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|^[-.]|\.$|\.lock$|^@$")


@dataclass(frozen=True)
class Since:
    """Where the history a reconcile reads starts (exclusive): after a tag, or at a date."""

    tag: str | None = None
    date: datetime | None = None  # timezone-aware (UTC when the value gave no offset)

    @property
    def text(self) -> str:
        if self.tag is not None:
            return f"since tag {self.tag}"
        assert self.date is not None
        return f"since {self.date.isoformat()}"


def parse_since(value: object) -> Since:
    """A tag name or an ISO 8601 date; raises ValueError saying what is expected."""
    text = str(value).strip()
    if _LOOKS_LIKE_DATE.match(text):
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(
                "expected a date such as 2024-05-01 (or a date-time such as 2024-05-01T12:00:00Z), or the name of a "
                "release tag such as v1.4.0"
            ) from None
        return Since(date=parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
    if not text or _BAD_TAG.search(text):
        raise ValueError(
            "expected the name of a release tag such as v1.4.0, or a date such as 2024-05-01 (a tag name has no "
            "spaces and none of ~ ^ : ? * [ \\ ..)"
        )
    return Since(tag=text)


def parse_sample(value: object) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_SAMPLE:
        raise ValueError(f"expected a whole number of records from 1 to {MAX_SAMPLE:,}, such as 50")
    return int(text)


def reconcile_problems(raw: Mapping[str, str]) -> list[str]:
    """The reconcile variables are only read by `STAGE: reconcile`, which always reads the base (it compares the
    history with what the base holds), so it needs the token, the base and the table even on a dry run."""
    problems = []
    if raw.get("STAGE") != "reconcile":
        for name in RECONCILE_VARIABLES:
            if name in raw:
                problems.append(f"{name}: is only used with STAGE: reconcile; set STAGE: reconcile to reconcile")
        return problems
    if _dry_run(raw) and "AIRTABLE_TOKEN" not in raw:  # else the sync's own rules ask for them
        for name in ("AIRTABLE_TOKEN", "AIRTABLE_BASE_ID", "AIRTABLE_TABLE"):
            if name not in raw:
                problems.append(
                    f"{name}: is required with STAGE: reconcile, also on a dry run (it compares the history with "
                    "what the base holds)"
                )
    return problems


def _dry_run(raw: Mapping[str, str]) -> bool:
    try:
        return parse_bool(raw.get("DRY_RUN", "false"))
    except ValueError:
        return False  # reported by validation
