"""The variables of the Coda webhook (`CODA_WEBHOOK_*`): their parsers and the rules between them.

`pipe.config.variables` uses the parsers; `pipe.config.settings` adds `webhook_problems` to its cross-checks
and `webhook_warnings` to its warnings. docs/coda-webhook.md describes the variables.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping

from pipe.config.values import parse_bool

WEBHOOK_STAGES = ("build", "review", "merge", "deploy")
DEFAULT_WEBHOOK_STAGES = ("merge", "deploy")
RULE_ID = re.compile(r"[A-Za-z0-9_-]+")
# The URL Step 1 of the rule builder shows: https://coda.io/apis/v1/docs/<doc>/hooks/automation/<rule>
_HOOK_URL = re.compile(r"/docs/(?P<doc>[^/?#]+)/hooks/automation/(?P<rule>[^/?#]+)/?(?:[?#].*)?$")


def hook_url_parts(text: str) -> tuple[str | None, str]:
    """(doc ID, rule ID) of a pasted webhook URL, or (None, the text) for a bare rule ID."""
    value = text.strip()
    match = _HOOK_URL.search(value) if "://" in value else None
    if match is None:
        return None, value
    return match["doc"], match["rule"]


def parse_rule_id(value: object) -> str:
    """A rule ID (`grid-auto-…`), or the webhook URL the rule builder shows, which holds it."""
    _doc, rule = hook_url_parts(str(value))
    if not RULE_ID.fullmatch(rule):
        raise ValueError(
            "expected the automation rule's ID, such as grid-auto-b3Jmey6jBS (with Developer Mode on, the rule's "
            "⋯ menu shows it), or the webhook URL of the rule's Step 1"
        )
    return rule


def parse_stages(value: object) -> tuple[str, ...]:
    """Stage names separated by commas or spaces, e.g. `merge,deploy`."""
    if isinstance(value, tuple | list):
        words = [str(v) for v in value]
    else:
        words = [w for w in re.split(r"[,\s]+", str(value)) if w]
    stages = tuple(dict.fromkeys(w.strip().lower() for w in words))
    unknown = [s for s in stages if s not in WEBHOOK_STAGES]
    if unknown or not stages:
        listed = ", ".join(repr(s) for s in unknown) or "nothing"
        raise ValueError(f"expected stage names among {', '.join(WEBHOOK_STAGES)}, comma separated; got {listed}")
    return stages


def time_zone(name: str) -> dt.tzinfo:
    """The zone for an IANA name; `UTC` needs no time zone database. Raises ValueError for an unknown name."""
    if name.strip().upper() in ("UTC", "Z", "ETC/UTC"):
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a known time zone") from None


def parse_time_zone(value: object) -> str:
    text = str(value).strip()
    try:
        zone = time_zone(text)
    except ValueError:
        raise ValueError("expected an IANA time zone name such as UTC, Europe/Berlin or America/New_York") from None
    return "UTC" if zone is dt.UTC else text


def webhook_problems(raw: Mapping[str, str], dry_run: bool | None) -> list[str]:
    """Rules between the webhook's variables and the Coda ones, on the raw values (listed with type errors).
    Says nothing the general Coda rules already say (a token needs a doc, a doc needs a token)."""
    problems = []
    rule = raw.get("CODA_WEBHOOK_RULE_ID")
    coda_named = any(name in raw for name in ("CODA_DOC_ID", "CODA_TABLE", "CODA_PAGE"))
    if rule is not None:
        if "CODA_DOC_ID" not in raw and "CODA_API_TOKEN" not in raw:
            problems.append("CODA_DOC_ID: is required when CODA_WEBHOOK_RULE_ID is given (the doc the rule is in)")
        if "CODA_API_TOKEN" not in raw and not coda_named and dry_run is False:
            problems.append(
                "CODA_API_TOKEN: is required when CODA_WEBHOOK_RULE_ID is given (a token with write access to "
                "the doc; or set DRY_RUN: 'true')"
            )
        url_doc, _rule = hook_url_parts(rule)
        doc = raw.get("CODA_DOC_ID")
        if url_doc is not None and doc is not None and url_doc != doc.strip():
            problems.append(
                f"CODA_WEBHOOK_RULE_ID: the webhook URL is for doc {url_doc!r}, but CODA_DOC_ID is {doc.strip()!r}; "
                "a rule can only be triggered in its own doc"
            )
    if rule is None and _true(raw.get("CODA_WEBHOOK_TEST")):
        problems.append("CODA_WEBHOOK_RULE_ID: is required when CODA_WEBHOOK_TEST is true (the rule to test)")
    return problems


def webhook_warnings(raw: Mapping[str, str]) -> list[str]:
    warnings = []
    if "CODA_WEBHOOK_RULE_ID" not in raw:
        for name in ("CODA_WEBHOOK_STAGES", "CODA_WEBHOOK_TIME_ZONE"):
            if name in raw:
                warnings.append(f"{name} is set but CODA_WEBHOOK_RULE_ID is not: no Coda automation is triggered")
    elif _true(raw.get("CODA_WEBHOOK_TEST")) and raw.get("STAGE") != "check":
        warnings.append(
            "CODA_WEBHOOK_TEST is only used with STAGE: check; this run sends no test payload (the real payload "
            "is sent at the stages in CODA_WEBHOOK_STAGES)"
        )
    return warnings


def _true(value: str | None) -> bool:
    try:
        return value is not None and parse_bool(value)
    except ValueError:
        return False  # reported by validation
