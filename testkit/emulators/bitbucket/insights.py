"""Code Insights rules beyond the schema (reference §3): data fields, field lengths, annotation counts.

The schema already checks the enums (`report_type`, `result`, `severity`, …), `line >= 1` and the
1–100 items of a bulk POST; these checks add what only the descriptions say.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import Limits
from .errors import bad_request

REPORT_FIELDS = (
    "title",
    "details",
    "reporter",
    "link",
    "remote_link_enabled",
    "logo_url",
    "report_type",
    "result",
    "data",
)
ANNOTATION_FIELDS = ("annotation_type", "path", "line", "summary", "details", "result", "severity", "link")
_DATA_VALUE_TYPES: Mapping[str, tuple[type, ...]] = {
    "BOOLEAN": (bool,),
    "DATE": (int, float),
    "DURATION": (int, float),
    "NUMBER": (int, float),
    "PERCENTAGE": (int, float),
    "TEXT": (str,),
}


def report_fields(body: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    """The stored fields of a report PUT (a PUT replaces them all), or 400."""
    fields = {name: body[name] for name in REPORT_FIELDS if name in body}
    _length("title", fields.get("title"), limits.report_title_chars)
    _length("details", fields.get("details"), limits.report_details_chars)
    data = fields.get("data") or []
    if len(data) > limits.report_data_items:
        raise bad_request(f"A report can have at most {limits.report_data_items} data fields; got {len(data)}.")
    for index, item in enumerate(data):
        _data_item(index, item)
    return fields


def annotation_fields(body: Mapping[str, Any], limits: Limits) -> dict[str, Any]:
    fields = {name: body[name] for name in ANNOTATION_FIELDS if name in body}
    _length("summary", fields.get("summary"), limits.annotation_summary_chars)
    _length("details", fields.get("details"), limits.annotation_details_chars)
    return fields


def bulk_external_ids(items: list[Any], limits: Limits) -> list[str]:
    """Every item needs its own `external_id` ("make sure each annotation has the external_id field set")."""
    if len(items) > limits.annotations_per_request:
        raise bad_request(f"At most {limits.annotations_per_request} annotations per request; got {len(items)}.")
    ids: list[str] = []
    for index, item in enumerate(items):
        external_id = item.get("external_id") if isinstance(item, dict) else None
        if not isinstance(external_id, str) or not external_id:
            raise bad_request(f"[{index}].external_id: This field is required.")
        if external_id in ids:
            raise bad_request(f"[{index}].external_id: {external_id!r} appears twice in this request.")
        ids.append(external_id)
    return ids


def check_report_total(existing: int, added: int, limits: Limits) -> None:
    if existing + added > limits.annotations_per_report:
        raise bad_request(
            f"A report can contain up to {limits.annotations_per_report} annotations; "
            f"it has {existing} and this request adds {added}."
        )


def _data_item(index: int, item: Any) -> None:
    where = f"data[{index}]"
    if not isinstance(item, dict) or not isinstance(item.get("title"), str):
        raise bad_request(f"{where}.title: This field is required.")
    if "value" not in item:
        raise bad_request(f"{where}.value: This field is required.")
    kind: Any = item.get("type")
    value: Any = item["value"]
    if kind is None:
        if isinstance(value, (dict, list)):
            raise bad_request(f"{where}.value: without a type, the value must be a number, string or boolean.")
        return
    if kind == "LINK":
        if not (isinstance(value, dict) and isinstance(value.get("text"), str) and isinstance(value.get("href"), str)):
            raise bad_request(f"{where}.value: a LINK value is {{'text': ..., 'href': ...}}.")
        return
    allowed = _DATA_VALUE_TYPES[kind]
    if isinstance(value, bool) and bool not in allowed or not isinstance(value, allowed):
        raise bad_request(f"{where}.value: a {kind} value must be a {' or '.join(t.__name__ for t in allowed)}.")
    if kind == "PERCENTAGE" and isinstance(value, (int, float)) and not 0 <= value <= 100:
        raise bad_request(f"{where}.value: a PERCENTAGE is between 0 and 100.")


def _length(name: str, value: Any, limit: int | None) -> None:
    if limit is not None and isinstance(value, str) and len(value) > limit:
        raise bad_request(f"{name}: at most {limit} characters; got {len(value)}.")
