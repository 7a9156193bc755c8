"""Fault injection: status answers, delays and dropped connections, matched by method and path."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Literal

FaultKind = Literal["status", "delay", "drop", "drop_after_apply"]
FAULT_KINDS = ("status", "delay", "drop", "drop_after_apply")


@dataclass
class Fault:
    """One rule. `method` is a regex matched in full (case-insensitive); `path` a regex searched in the
    path below `/apis/v1` (no query string). `times=None` fires forever; `probability` uses the
    emulator's seeded RNG.

    * status           answer `status` with the standard error body, nothing processed
    * delay            sleep `delay` seconds, then process normally
    * drop             close the connection without an answer, nothing processed
    * drop_after_apply process the request (a write is queued), then close without an answer
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    status: int = 503
    delay: float = 0.0
    times: int | None = 1
    probability: float = 1.0
    message: str | None = None
    retry_after: float | None = None
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and not re.fullmatch(self.method, method, re.IGNORECASE):
            return False
        return not self.path or re.search(self.path, path) is not None


@dataclass
class FaultInjector:
    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    _rng: random.Random = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def pick(self, method: str, path: str) -> Fault | None:
        """The first matching rule that fires (its `hits` counts up), or None."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path) and (fault.probability >= 1.0 or self._rng.random() < fault.probability):
                    fault.hits += 1
                    return fault
        return None
