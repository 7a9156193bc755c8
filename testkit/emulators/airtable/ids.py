"""Airtable-shaped identifiers (reference §2): a 3-letter prefix + 14 mixed-case alphanumerics."""

from __future__ import annotations

import random
import string

ID_ALPHABET = string.ascii_letters + string.digits
ID_BODY_LENGTH = 14


class IdFactory:
    """Makes new IDs from a (optionally seeded) random generator.

    Not thread-safe on its own; callers hold the emulator lock.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._random = random.Random(seed)

    def new(self, prefix: str) -> str:
        body = "".join(self._random.choice(ID_ALPHABET) for _ in range(ID_BODY_LENGTH))
        return prefix + body

    def hex(self, length: int) -> str:
        return "".join(self._random.choice("0123456789abcdef") for _ in range(length))
