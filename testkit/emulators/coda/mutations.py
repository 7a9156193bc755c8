"""The asynchronous write queue: every mutation is accepted (202), applied later, in order per doc."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# An apply function returns an optional warning for the mutation status.
Apply = Callable[[float], "str | None"]


@dataclass
class Mutation:
    request_id: str
    doc_id: str
    operation: str
    owner: str
    queued_at: float
    due: float
    apply: Apply
    completed_at: float | None = None
    warning: str | None = None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None

    def describe(self) -> dict[str, Any]:
        return {
            "requestId": self.request_id,
            "docId": self.doc_id,
            "operation": self.operation,
            "queuedAt": self.queued_at,
            "due": self.due,
            "completed": self.completed,
        }


class MutationQueue:
    """Not thread-safe by itself: the backend calls it under its lock."""

    def __init__(self, status_ttl: float):
        self._pending: list[Mutation] = []
        self._known: dict[str, Mutation] = {}
        self._status_ttl = status_ttl

    def enqueue(self, mutation: Mutation) -> None:
        self._pending.append(mutation)
        self._known[mutation.request_id] = mutation

    def apply_due(self, now: float) -> None:
        """Apply every due mutation, keeping per-doc order (a doc blocks behind its first not-due write)."""
        blocked: set[str] = set()
        remaining: list[Mutation] = []
        for mutation in self._pending:
            if mutation.doc_id in blocked or mutation.due > now:
                blocked.add(mutation.doc_id)
                remaining.append(mutation)
            else:
                self._run(mutation, mutation.due)
        self._pending = remaining
        self._expire(now)

    def flush(self, now: float) -> None:
        pending, self._pending = self._pending, []
        for mutation in pending:
            self._run(mutation, min(mutation.due, now))

    def pending(self, doc_id: str | None = None) -> list[Mutation]:
        return [m for m in self._pending if doc_id is None or m.doc_id == doc_id]

    def get(self, request_id: str) -> Mutation | None:
        return self._known.get(request_id)

    @staticmethod
    def _run(mutation: Mutation, at: float) -> None:
        try:
            mutation.warning = mutation.apply(at)
        except LookupError as exc:  # the target vanished while the write was queued
            mutation.warning = str(exc)
        mutation.completed_at = at

    def _expire(self, now: float) -> None:
        ttl = self._status_ttl
        stale = [rid for rid, m in self._known.items() if m.completed_at is not None and now - m.completed_at > ttl]
        for request_id in stale:
            del self._known[request_id]
