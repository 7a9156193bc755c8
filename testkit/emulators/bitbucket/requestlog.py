"""The request log tests assert on: one entry per request, including refused, faulted and dropped ones."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # below /2.0, as sent (percent-encoded), without the query string
    query: dict[str, list[str]]  # parse_qs form
    body: Any  # parsed JSON, raw text, or None
    status: int | None  # what the client received; None = connection dropped
    time: float  # wall clock at arrival
    duration: float  # seconds until the answer (or the drop)
    operation: str | None  # the route name (routes.py), None when no route matched
    identity: str | None  # token name, the proxy's identity, or None when unauthenticated
    listener: str  # "api" or "proxy"
    fault: str | None = None  # kind of the injected fault, if one fired
    applied: bool = False  # True when a write reached the state
    headers: dict[str, str] = field(default_factory=dict)  # request headers, lower-case names

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def status_counts(self) -> Counter[int | None]:
        with self._lock:
            return Counter(entry.status for entry in self._entries)
