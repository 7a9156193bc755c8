"""IDs with the real prefixes and 10-character suffixes (`grid-aS3YxcCqqY`, `i-IQNiTjKFCt`, ...)."""

from __future__ import annotations

import random
import uuid

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_SUFFIX_LEN = 10

DOC, TABLE, VIEW, COLUMN, ROW, PAGE, LINE = "", "grid-", "table-", "c-", "i-", "canvas-", "cl-"
WORKSPACE, FOLDER = "ws-", "fl-"
AUTOMATION = "grid-auto-"  # automation rules (the spec's example ruleId: grid-auto-b3Jmey6jBS)


class IdFactory:
    """Makes unique IDs; seeded so a run with the same seed produces the same IDs."""

    def __init__(self, seed: int | None = None):
        self._rng = random.Random(seed)
        self._used: set[str] = set()

    def new(self, prefix: str) -> str:
        while True:
            # A doc ID has no prefix; never start it with "-" so it reads well in URLs.
            first = self._rng.choice(_ALPHABET[:62]) if not prefix else self._rng.choice(_ALPHABET)
            candidate = prefix + first + "".join(self._rng.choice(_ALPHABET) for _ in range(_SUFFIX_LEN - 1))
            if candidate not in self._used:
                self._used.add(candidate)
                return candidate

    def reserve(self, existing: str) -> str:
        """Record a caller-chosen ID so generated IDs never collide with it."""
        self._used.add(existing)
        return existing

    def request_id(self) -> str:
        return f"mutate:{uuid.UUID(int=self._rng.getrandbits(128), version=4)}"


def suffix(resource_id: str) -> str:
    """The part after the prefix: `grid-aS3YxcCqqY` → `aS3YxcCqqY` (used in browser links)."""
    for prefix in (TABLE, VIEW, COLUMN, ROW, PAGE, LINE):
        if resource_id.startswith(prefix):
            return resource_id[len(prefix) :]
    return resource_id
