"""The request log tests inspect: one entry per request, including rejected and dropped ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # as sent, still URL-encoded, without the query string
    query: dict[str, list[str]]  # parse_qs form: every value is a list
    body: Any  # parsed JSON body, None when absent or not JSON
    status: int | None  # what the client received; None = connection dropped
    arrival: float  # time.monotonic() (or the emulator's clock) when the request arrived
    base_id: str | None
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    fault: str | None = None  # kind of the injected fault that applied, if any
    applied: bool = False  # True when the request reached state and was carried out
    order: int | None = None  # position among carried-out requests, in the order they changed state (1, 2, …)

    def param(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


class RequestLog:
    """Not thread-safe on its own; callers hold the emulator lock."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()

    def status_counts(self) -> Counter[int | None]:
        return Counter(entry.status for entry in self._entries)
