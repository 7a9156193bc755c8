"""What the Coda client returns: plain, immutable values (never raw JSON)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CodaUser:
    name: str
    login_id: str
    scoped: bool
    token_name: str


@dataclass(frozen=True)
class CodaTable:
    id: str
    name: str
    table_type: str  # "table" or "view"


@dataclass(frozen=True)
class CodaColumn:
    id: str
    name: str
    type: str  # Coda's ColumnFormatType: text, select, checkbox, date, link, ...
    calculated: bool = False
    is_array: bool = False
    options: tuple[str, ...] | None = None  # a fixed option list (select columns), None when there is none


@dataclass(frozen=True)
class CodaRow:
    id: str
    values: dict[str, Any]  # by column ID


@dataclass(frozen=True)
class CodaPage:
    id: str
    name: str
    content_type: str


@dataclass(frozen=True)
class PageLine:
    id: str
    style: str
    content: str


@dataclass(frozen=True)
class MutationStatus:
    request_id: str
    completed: bool
    warning: str | None = None


@dataclass(frozen=True)
class MutationPolling:
    """How long and how often to poll `/mutationStatus` (reference §8: writes land in seconds to minutes).

    A 404 during the first `not_found_grace` seconds means "not known yet" (replication lag); later it
    means the status is gone. When `timeout` runs out, mutations are reported as queued, not confirmed.
    """

    timeout: float = 120.0
    first_delay: float = 2.0
    interval: float = 1.0
    max_interval: float = 10.0
    backoff: float = 1.5
    not_found_grace: float = 15.0
