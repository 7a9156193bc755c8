"""Fault injection: answer chosen requests with an error, a delay or a dropped connection.

A fault is matched and consumed when a request arrives, before it touches state, so a failed
write changed nothing — except ``Fault(kind="drop", after_apply=True)``, which carries the
request out and then closes the connection without an answer (to prove retries cannot
duplicate writes). Callers hold the emulator lock.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal

FaultKind = Literal["status", "delay", "drop", "iterator_expired"]


@dataclass
class Fault:
    """One injected misbehaviour.

    * ``status``: answer ``status`` (429 → RATE_LIMIT_REACHED body, 503 → RETRIABLE_ERROR,
      500/502 → a JSON error body; ``body`` overrides it), with ``Retry-After: retry_after``
      when given. The default kind when ``status`` is set.
    * ``delay``: wait ``seconds`` before handling the request normally.
    * ``drop``: close the connection without an answer (``after_apply=True``: after the write).
    * ``iterator_expired``: 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE for list requests that
      carry an ``offset``.

    ``times`` is how often it fires (None = every time); ``method`` and ``path`` (a regex
    searched in the raw and the URL-decoded path) restrict which requests it applies to;
    ``probability`` fires it at random, reproducibly with ``seed``.
    """

    status: int | None = None
    kind: FaultKind | None = None
    times: int | None = 1
    method: str | None = None
    path: str | None = None
    probability: float | None = None
    seed: int | None = None
    seconds: float = 0.0
    retry_after: float | None = None
    body: Any = None
    after_apply: bool = False
    fired: int = field(default=0, init=False)
    _random: random.Random = field(init=False, repr=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind is None:
            self.kind = "status" if self.status is not None else "drop"
        if self.kind == "status" and self.status is None:
            raise ValueError("a status fault needs status=")
        if self.kind == "delay" and self.seconds <= 0:
            raise ValueError("a delay fault needs seconds= > 0")
        if self.after_apply and self.kind != "drop":
            raise ValueError("after_apply is only for kind='drop'")
        self._random = random.Random(self.seed)
        self._pattern = re.compile(self.path) if self.path else None

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times

    def applies(self, method: str, raw_path: str, decoded_path: str, has_offset: bool) -> bool:
        if self.exhausted:
            return False
        if self.method and self.method.upper() != method:
            return False
        if self._pattern and not (self._pattern.search(raw_path) or self._pattern.search(decoded_path)):
            return False
        if self.kind == "iterator_expired" and not has_offset:
            return False
        return self.probability is None or self._random.random() < self.probability


class FaultInjector:
    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def take(self, method: str, raw_path: str, decoded_path: str, has_offset: bool) -> Fault | None:
        """The first fault that applies to this request, counted as fired."""
        for fault in self._faults:
            if fault.applies(method, raw_path, decoded_path, has_offset):
                fault.fired += 1
                if fault.exhausted:
                    self._faults.remove(fault)
                return fault
        return None

    def pending(self) -> list[Fault]:
        return list(self._faults)
