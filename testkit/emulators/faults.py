"""Fault injection shared by the Coda and Bitbucket emulators: error answers, slow answers and dropped
connections, matched by method, path and (Bitbucket) listener. What a status answer's body is, is each
emulator's own (see its faults module)."""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "delay", "drop", "drop_after_apply"]
FAULT_KINDS = ("status", "delay", "drop", "drop_after_apply")
Listener = Literal["api", "proxy"]


@dataclass
class Fault:
    """One rule. `method` is a regex matched in full (case-insensitive); `path` a regex searched in the
    path below the API's base (`/apis/v1`, `/2.0`; no query string); `listener` (Bitbucket) limits it to the API
    or the proxy listener. `times=None` fires forever; `probability` draws from the emulator's seeded RNG.

    * status           answer `status` with the service's error body before anything is processed;
                       `retry_after` adds that header, `body` replaces the body
    * delay            sleep `delay` seconds, then process normally
    * drop             close the connection without an answer; nothing is processed
    * drop_after_apply process the request (a write is applied), then close without an answer
    """

    kind: FaultKind
    method: str | None = None
    path: str | None = None
    listener: Listener | None = None
    status: int = 503
    delay: float = 0.0
    times: int | None = 1
    probability: float = 1.0
    message: str | None = None
    retry_after: float | None = None
    body: Any = None
    hits: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if self.kind == "delay" and self.delay <= 0:
            raise ValueError("a delay fault needs delay= > 0")

    def matches(self, method: str, path: str, listener: str | None = None) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.listener and self.listener != listener:
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

    def pick(self, method: str, path: str, listener: str | None = None) -> Fault | None:
        """The first matching rule that fires (its `hits` counts up), or None."""
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path, listener) and (
                    fault.probability >= 1.0 or self._rng.random() < fault.probability
                ):
                    fault.hits += 1
                    return fault
        return None
