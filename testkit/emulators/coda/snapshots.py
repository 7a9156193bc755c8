"""Stale reads (reference §8): a completed mutation may stay out of Coda's read snapshot for a while.

With `lag` > 0, each time a mutation is applied to a doc the doc is copied as it was just before. A read
at time `now` sees every mutation applied at or before `now - lag` and none after: it is served the
oldest copy taken after that moment, or the applied state when there is none. With `lag` = 0 nothing
is copied and reads see every applied mutation (the emulator's behaviour without this option).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from .state import Doc


@dataclass(frozen=True)
class Snapshot:
    taken_at: float  # when the mutation that this copy predates was applied
    doc: Doc  # the doc just before that mutation
    seq: int  # `World.seq` at that moment, so sync tokens minted from this read stay consistent


class ReadSnapshots:
    """Not thread-safe by itself: the backend calls it under its lock."""

    def __init__(self, lag: float):
        self.lag = lag
        self._by_doc: dict[str, list[Snapshot]] = {}

    def before_apply(self, doc: Doc, seq: int, at: float) -> None:
        if self.lag > 0:
            self._by_doc.setdefault(doc.id, []).append(Snapshot(at, copy.deepcopy(doc), seq))

    def stale_view(self, doc_id: str, now: float) -> Snapshot | None:
        """What reads of `doc_id` see now, or None when they see the applied state."""
        self.prune(now)
        snapshots = self._by_doc.get(doc_id)
        return snapshots[0] if snapshots else None

    def prune(self, now: float) -> None:
        """Forget copies that no read can be served any more (their mutation is visible)."""
        cutoff = now - self.lag
        for doc_id, snapshots in list(self._by_doc.items()):
            while snapshots and snapshots[0].taken_at <= cutoff:
                snapshots.pop(0)
            if not snapshots:
                del self._by_doc[doc_id]
