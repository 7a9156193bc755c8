"""Cell values: parsing on write, the three read formats, plain text for queries, row edit size."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import Column

SCHEMA_ORG = "http://schema.org/"
NUMERIC_TYPES = frozenset({"number", "percent", "currency", "slider", "scale", "duration"})
PLAIN_TEXT_TYPES = frozenset({"text", "canvas"})  # rich format wraps these in triple backticks
VALUE_FORMATS = ("simple", "simpleWithArrays", "rich")

# Resolves a lookup cell value (display value or row ID) to (display name, RowValue) or None.
LookupResolver = Callable[["Column", Any], "tuple[str, dict[str, Any]] | None"]


def plain(value: Any) -> str:
    """The plain-text form Coda compares in `query` filters and shows as a row name."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return ",".join(plain(item) for item in value)
    return str(value)


def empty_value(column: Column) -> Any:
    """What an empty cell reads as: unchecked for checkboxes, "" otherwise."""
    return False if column.type == "checkbox" else ""


def edit_size(cells: list[dict[str, Any]]) -> int:
    """Bytes a row edit counts against the 85 KB limit: UTF-8 length, each newline counted twice."""
    total = 0
    for cell in cells:
        value = cell.get("value")
        if isinstance(value, list):
            text = json.dumps(value, ensure_ascii=False)
        else:
            text = value if isinstance(value, str) else plain(value)
        total += len(text.encode("utf-8")) + text.count("\n")
    return total


def parse(column: Column, value: Any, disable_parsing: bool) -> Any:
    """What Coda stores for a written value (a small subset of the UI parser)."""
    if disable_parsing:
        return value
    if isinstance(value, list):
        return [parse(column, item, False) for item in value]
    if not isinstance(value, str):
        return value
    if column.type in NUMERIC_TYPES:
        return _number(value)
    if column.type == "checkbox" and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def _number(text: str) -> Any:
    cleaned = re.sub(r"[\s,$€£¥]", "", text)
    percent = cleaned.endswith("%")
    try:
        number = float(cleaned.rstrip("%"))
    except ValueError:
        return text  # Coda keeps text it cannot parse
    number = number / 100 if percent else number
    return int(number) if number.is_integer() else number


class Renderer:
    """Turns stored values into `simple`, `simpleWithArrays` or `rich` output."""

    def __init__(self, value_format: str, resolve_lookup: LookupResolver):
        if value_format not in VALUE_FORMATS:
            raise ValueError(value_format)
        self.value_format = value_format
        self._resolve = resolve_lookup

    def render(self, column: Column, value: Any) -> Any:
        if value is None:
            value = empty_value(column)
        if self.value_format == "rich":
            return self._rich(column, value)
        shown = self._simple(column, value)
        if self.value_format == "simple" and isinstance(shown, list):
            return ",".join(plain(item) for item in shown)
        return shown

    def _simple(self, column: Column, value: Any) -> Any:
        if isinstance(value, list):
            return [self._simple(column, item) for item in value]
        if column.type in ("lookup", "person") and value != "":
            resolved = self._resolve(column, value)
            return resolved[0] if resolved else value
        return value

    def _rich(self, column: Column, value: Any) -> Any:
        if isinstance(value, list):
            return [self._rich(column, item) for item in value]
        if value == "" or isinstance(value, bool):
            return value
        kind = column.type
        if kind in PLAIN_TEXT_TYPES and isinstance(value, str):
            return f"```{value}```"
        if kind == "currency" and isinstance(value, (int, float)):
            code = column.format.get("currencyCode", "USD")
            return {"@context": SCHEMA_ORG, "@type": "MonetaryAmount", "currency": code, "amount": value}
        if kind == "link" and isinstance(value, str):
            return {"@context": SCHEMA_ORG, "@type": "WebPage", "name": value, "url": value}
        if kind in ("image", "imageReference") and isinstance(value, str):
            return {"@context": SCHEMA_ORG, "@type": "ImageObject", "name": value, "url": value}
        if kind == "person" and isinstance(value, str):
            person = {"@context": SCHEMA_ORG, "@type": "Person", "name": value}
            return {**person, "email": value} if "@" in value else person
        if kind == "lookup":
            resolved = self._resolve(column, value)
            return resolved[1] if resolved else value
        return value
