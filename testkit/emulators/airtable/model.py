"""In-memory data model: bases, tables, fields, views, records and tokens (reference §2, §5, §6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TEXT_TYPES = frozenset({"singleLineText", "multilineText", "richText", "email", "url", "phoneNumber", "barcode"})
NUMBER_TYPES = frozenset({"number", "currency", "percent", "duration", "rating"})
SELECT_TYPES = frozenset({"singleSelect", "multipleSelects"})
DATE_TYPES = frozenset({"date", "dateTime"})
COMPUTED_TYPES = frozenset(
    {
        "formula",
        "autoNumber",
        "createdTime",
        "lastModifiedTime",
        "createdBy",
        "lastModifiedBy",
        "rollup",
        "count",
        "lookup",
        "multipleLookupValues",
        "button",
        "aiText",
    }
)
# §1.6: merge keys must be number, text, long text, single/multiple select or date.
MERGE_KEY_TYPES = frozenset(
    {
        "singleLineText",
        "multilineText",
        "number",
        "currency",
        "percent",
        "singleSelect",
        "multipleSelects",
        "date",
        "dateTime",
    }
)

SCOPE_READ = "data.records:read"
SCOPE_WRITE = "data.records:write"
SCOPE_SCHEMA_READ = "schema.bases:read"
SCOPE_EMAIL = "user.email:read"
DEFAULT_SCOPES = (SCOPE_READ, SCOPE_WRITE, SCOPE_SCHEMA_READ)
ALL_SCOPES = (
    SCOPE_READ,
    SCOPE_WRITE,
    SCOPE_SCHEMA_READ,
    "schema.bases:write",
    "data.recordComments:read",
    "data.recordComments:write",
    "webhook:manage",
    SCOPE_EMAIL,
)
PERMISSION_LEVELS = ("none", "read", "comment", "edit", "create")

_ISO_DATE = {"format": "YYYY-MM-DD", "name": "iso"}
_SELECT_COLORS = ("blueLight2", "cyanLight2", "tealLight2", "greenLight2", "yellowLight2")


def default_options(field_type: str, options: dict[str, Any]) -> dict[str, Any]:
    """Fill the options Airtable always reports, so pyairtable's schema models validate."""
    result = dict(options)
    if field_type in ("number", "percent"):
        result.setdefault("precision", 0)
    elif field_type == "currency":
        result.setdefault("precision", 2)
        result.setdefault("symbol", "$")
    elif field_type == "checkbox":
        result.setdefault("color", "greenBright")
        result.setdefault("icon", "check")
    elif field_type == "rating":
        result.setdefault("color", "yellowBright")
        result.setdefault("icon", "star")
        result.setdefault("max", 5)
    elif field_type == "duration":
        result.setdefault("durationFormat", "h:mm")
    elif field_type == "date":
        result.setdefault("dateFormat", dict(_ISO_DATE))
    elif field_type == "dateTime":
        result.setdefault("timeZone", "utc")
        result.setdefault("dateFormat", dict(_ISO_DATE))
        result.setdefault("timeFormat", {"format": "HH:mm", "name": "24hour"})
    elif field_type in SELECT_TYPES:
        result.setdefault("choices", [])
    elif field_type == "multipleRecordLinks":
        result.setdefault("isReversed", False)
        result.setdefault("prefersSingleRecordLink", False)
    elif field_type in ("formula", "rollup", "count", "lookup", "multipleLookupValues"):
        result.setdefault("isValid", True)
    elif field_type == "lastModifiedTime":
        result.setdefault("isValid", True)
        result.setdefault("referencedFieldIds", [])
    elif field_type == "multipleAttachments":
        result.setdefault("isReversed", False)
    return result


def choice_color(index: int) -> str:
    return _SELECT_COLORS[index % len(_SELECT_COLORS)]


@dataclass
class Field:
    id: str
    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)
    description: str | None = None

    @property
    def computed(self) -> bool:
        return self.type in COMPUTED_TYPES

    def choice_names(self) -> list[str]:
        return [choice["name"] for choice in self.options.get("choices", [])]

    def to_schema(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.description is not None:
            data["description"] = self.description
        if self.options:
            data["options"] = self.options
        return data


@dataclass
class View:
    id: str
    name: str
    type: str = "grid"
    filter_formula: str | None = None  # emulator extension: records the view shows
    sort: list[dict[str, str]] = field(default_factory=list)  # emulator extension: view order


@dataclass
class Record:
    id: str
    created_time: datetime
    cells: dict[str, Any] = field(default_factory=dict)  # field id -> stored value
    modified: dict[str, datetime] = field(default_factory=dict)  # field id -> last write
    auto_number: int = 0


@dataclass
class Table:
    id: str
    name: str
    fields: list[Field]
    primary_field_id: str
    views: list[View] = field(default_factory=list)
    description: str | None = None
    records: dict[str, Record] = field(default_factory=dict)  # insertion order = default order
    next_auto_number: int = 1

    def field(self, key: str) -> Field | None:
        """A field by ID or by name (IDs win, as names may not look like IDs in practice)."""
        for candidate in self.fields:
            if candidate.id == key:
                return candidate
        for candidate in self.fields:
            if candidate.name == key:
                return candidate
        return None

    def view(self, key: str) -> View | None:
        for candidate in self.views:
            if key in (candidate.id, candidate.name):
                return candidate
        return None

    @property
    def primary_field(self) -> Field:
        found = self.field(self.primary_field_id)
        assert found is not None
        return found


@dataclass
class Base:
    id: str
    name: str
    tables: list[Table] = field(default_factory=list)

    def table(self, key: str) -> Table | None:
        """A table by ID or by (already URL-decoded) name (reference §0)."""
        for candidate in self.tables:
            if candidate.id == key:
                return candidate
        for candidate in self.tables:
            if candidate.name == key:
                return candidate
        return None


@dataclass(frozen=True)
class Token:
    value: str
    scopes: frozenset[str]
    bases: frozenset[str] | None  # None = every base
    user_id: str
    email: str | None = None
    permission_level: str = "create"

    def grants(self, base_id: str) -> bool:
        return self.bases is None or base_id in self.bases

    def can_write(self) -> bool:
        return PERMISSION_LEVELS.index(self.permission_level) >= PERMISSION_LEVELS.index("edit")
