"""Cell values: validate and convert written values (reference §6.3) and decide what is "empty".

A written value is turned into the stored, JSON-ready value. Side effects that typecast may
cause (new select choices, new linked records) are collected in :class:`Pending` so that a
batch can be rejected as a whole before anything changes (§3.3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from . import errors
from .formula import to_text
from .model import NUMBER_TYPES, TEXT_TYPES, Field
from .timeutil import format_timestamp, from_epoch_ms, parse_datetime, zone

_TRUE_WORDS = frozenset({"true", "1", "yes", "y", "checked", "on", "x"})
RECORD_ID_PATTERN = re.compile(r"^rec[A-Za-z0-9]{14}$")


@dataclass
class Pending:
    """Schema and record side effects of typecast writes, applied only if the batch is valid."""

    new_choices: dict[str, list[str]] = field(default_factory=dict)  # field id -> names
    new_linked: dict[tuple[str, str], str] = field(default_factory=dict)  # (table, name) -> id

    def add_choice(self, target: Field, name: str) -> None:
        names = self.new_choices.setdefault(target.id, [])
        if name not in names:
            names.append(name)


class LinkResolver(Protocol):
    """What converting a multipleRecordLinks value needs from the state."""

    def resolve_links(self, target: Field, items: list[Any], typecast: bool, pending: Pending) -> list[str]: ...

    def new_id(self, prefix: str) -> str: ...


def is_empty(value: Any) -> bool:
    """§1.2: empty values ("", [], false, null) are omitted from ``fields``."""
    return value is None or value is False or value == "" or value == [] or value == {}


def coerce(target: Field, value: Any, typecast: bool, links: LinkResolver, pending: Pending) -> Any:
    """The stored form of ``value`` written to ``target``; None clears the cell."""
    if target.computed:
        raise errors.computed_field(target.name)  # §6.3, RECORDED
    kind = target.type
    if value is None:
        return "\n" if kind == "richText" else None  # §1.5: richText cleared reads back "\n"
    if kind in TEXT_TYPES:
        return _text(target, value, typecast)
    if kind in NUMBER_TYPES:
        return _number(target, value, typecast)
    if kind == "checkbox":
        return _checkbox(target, value, typecast)
    if kind == "singleSelect":
        return _choice(target, value, typecast, pending)
    if kind == "multipleSelects":
        items = _as_list(target, value, typecast)
        chosen = [_choice(target, item, typecast, pending) for item in items]
        return list(dict.fromkeys(c for c in chosen if c)) or None
    if kind == "date":
        return _date(target, value, typecast)
    if kind == "dateTime":
        return _datetime(target, value)
    if kind == "multipleRecordLinks":
        items = _as_list(target, value, typecast)
        return links.resolve_links(target, items, typecast, pending) or None
    if kind == "multipleAttachments":
        return _attachments(target, value, links) or None
    return value  # other types (collaborators, barcode, unknown): stored as given


def _text(target: Field, value: Any, typecast: bool) -> str | None:
    if isinstance(value, str):
        text = value
    elif typecast and isinstance(value, (int, float, bool, list)):
        text = to_text(value)
    else:
        raise errors.invalid_value(target.name)
    if target.type == "richText":
        # RECORDED (§1.4): "* bullet" is normalised to "- bullet" and a trailing newline added.
        lines = ["- " + line[2:] if line.startswith("* ") else line for line in text.split("\n")]
        text = "\n".join(lines)
        return text if text.endswith("\n") else text + "\n"
    return text or None


def _number(target: Field, value: Any, typecast: bool) -> int | float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if not typecast:
            raise errors.invalid_value(target.name)
        if isinstance(value, bool):
            value = int(value)
        elif isinstance(value, str):
            try:
                value = float(value.replace(",", "").strip())
            except ValueError:
                return None  # typecast that cannot convert leaves the cell empty
        else:
            raise errors.invalid_value(target.name)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _checkbox(target: Field, value: Any, typecast: bool) -> bool | None:
    if isinstance(value, bool):
        return value or None  # §6.3: false can be written but reads back empty
    if not typecast:
        raise errors.invalid_value(target.name)
    if isinstance(value, str):
        return (value.strip().lower() in _TRUE_WORDS) or None
    return bool(value) or None


def _choice(target: Field, value: Any, typecast: bool, pending: Pending) -> str | None:
    if not isinstance(value, str):
        if not (typecast and isinstance(value, (int, float))):
            raise errors.invalid_value(target.name)
        value = to_text(value)
    if value == "":
        return None
    if value in target.choice_names():
        return value
    if not typecast:
        raise errors.invalid_choice(value)  # §6.3: no match and no typecast
    pending.add_choice(target, value)  # §6.3: typecast creates the choice
    return value


def _as_list(target: Field, value: Any, typecast: bool) -> list[Any]:
    if isinstance(value, list):
        return value
    if typecast and isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    raise errors.invalid_value(target.name)


def _date(target: Field, value: Any, typecast: bool) -> str | None:
    if isinstance(value, str):
        if value == "":
            return None
        try:
            if len(value.strip()) == 10:
                return date.fromisoformat(value.strip()).isoformat()
            moment = parse_datetime(value).astimezone(zone(target.options.get("timeZone")))
            return moment.date().isoformat()
        except ValueError:
            raise errors.invalid_value(target.name) from None
    if typecast and isinstance(value, (int, float)) and not isinstance(value, bool):
        return from_epoch_ms(value).date().isoformat()
    raise errors.invalid_value(target.name)


def _datetime(target: Field, value: Any) -> str | None:
    if isinstance(value, str):
        if value == "":
            return None
        try:
            return format_timestamp(parse_datetime(value, target.options.get("timeZone")))
        except ValueError:
            raise errors.invalid_value(target.name) from None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_timestamp(from_epoch_ms(value))  # RECORDED (§1.4): epoch ms accepted
    raise errors.invalid_value(target.name)


def _attachments(target: Field, value: Any, links: LinkResolver) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise errors.invalid_value(target.name)
    stored: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("url", item.get("id")), str):
            raise errors.invalid_value(target.name)
        url = item.get("url", "")
        filename = item.get("filename") or url.rsplit("/", 1)[-1] or "file"
        stored.append({"id": item.get("id") or links.new_id("att"), "url": url, "filename": filename})
    return stored
