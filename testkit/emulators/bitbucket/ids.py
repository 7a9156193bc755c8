"""Identifiers in Bitbucket's shapes: `{uuid}` in curly braces, 40-hex commit hashes, integer IDs."""

from __future__ import annotations

import random
import uuid


class IdFactory:
    """Seeded, so a run with the same seed produces the same IDs. Callers hold the emulator lock."""

    def __init__(self, seed: int | None = None):
        self._rng = random.Random(seed)
        self._counters: dict[str, int] = {}

    def uuid(self) -> str:
        """`{8-4-4-4-12}` with the braces, as Bitbucket writes UUIDs in JSON and accepts them in paths."""
        return "{" + str(uuid.UUID(int=self._rng.getrandbits(128), version=4)) + "}"

    def commit_hash(self) -> str:
        return f"{self._rng.getrandbits(160):040x}"

    def next(self, counter: str, start: int = 1) -> int:
        """1, 2, 3… per counter (comment IDs are global, PR IDs and build numbers per repository)."""
        value = self._counters.get(counter, start - 1) + 1
        self._counters[counter] = value
        return value

    def bump(self, counter: str, at_least: int) -> None:
        """Make the next value of `counter` greater than a seeded one."""
        self._counters[counter] = max(self._counters.get(counter, 0), at_least)
