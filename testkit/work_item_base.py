"""The Airtable base the benchmarks and the crowd scenario seed: one token with the scopes the pipe needs and
one base whose work-items table has the fields the pipe's default mapping writes (`Status` with the default
workflow's choices, the link fields, `Merged At` and `Released At`)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

STATUSES = ["Planned", "Ready", "In Progress", "In Review", "Merged", "On Staging", "Released", "Blocked"]
SCOPES = ["data.records:read", "data.records:write", "schema.bases:read"]
DATETIME = {"timeZone": "utc"}

WORK_ITEM_FIELDS: list[dict[str, Any]] = [
    {"name": "Name", "type": "singleLineText"},
    {"name": "Status", "type": "singleSelect", "options": {"choices": STATUSES}},
    *({"name": name, "type": "singleLineText"} for name in ("Branch", "Last Commit", "Last Run")),
    *({"name": name, "type": "url"} for name in ("Pull Request", "Commit URL", "Build URL")),
    *({"name": name, "type": "dateTime", "options": DATETIME} for name in ("Merged At", "Released At")),
]


def table(name: str, fields: Sequence[dict[str, Any]], records: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """A table of the seed (its own copy of `fields`); its first field is the primary field."""
    own = copy.deepcopy(list(fields))
    return {"name": name, "primaryField": own[0]["name"], "fields": own, "records": list(records)}


def ready(record_id: str, name: str) -> dict[str, Any]:
    """A work item in status Ready."""
    return {"id": record_id, "fields": {"Name": name, "Status": "Ready"}}


def one_base_seed(base_id: str, token: str, name: str, tables: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """An emulator seed with one token that may read, write and read the schema of one base."""
    return {
        "tokens": [{"token": token, "scopes": SCOPES, "bases": [base_id]}],
        "bases": [{"id": base_id, "name": name, "tables": list(tables)}],
    }
