"""Rate limits (reference §4): N requests per sliding window per base and per token, then a lockout.

A request is admitted when fewer than ``limit`` admitted requests to the same key arrived in
the last ``window`` seconds (arrival time > now - window). Otherwise it gets 429 and the key is
locked for ``penalty`` seconds, during which every request to it gets 429. Rejected requests do
not count towards the window. Callers hold the emulator lock.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Literal

LockoutKey = Literal["base", "token"]


@dataclass(frozen=True)
class RateLimits:
    per_base: int | None = 5  # §4: 5 requests per second per base
    per_token: int | None = 50  # §4: 50 per second per user / token
    window_seconds: float = 1.0
    penalty_seconds: float = 30.0  # §4: "wait 30 seconds"
    #: what a per-base overflow locks: the base (everyone) or only the offending token.
    lockout_key: LockoutKey = "base"
    retry_after: bool = False  # §4: Retry-After on 429 is undocumented, so off by default


class RateLimiter:
    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._locked_until: dict[tuple[str, str], float] = {}
        self.lockouts: list[tuple[float, str]] = []  # (start, "base appX" or "token …"), in order

    def check(self, base_id: str | None, token_key: str, now: float) -> float | None:
        """Admit the request (None) or return the seconds until the lockout ends."""
        keys = [("token", token_key)] + ([("base", base_id)] if base_id else [])
        remaining = max((self._locked_until.get(k, 0.0) - now for k in keys), default=0.0)
        if remaining > 0:
            return remaining
        limits = self.limits
        for key, limit in (("token", token_key), limits.per_token), (("base", base_id), limits.per_base):
            if limit is None or key[1] is None:
                continue
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - limits.window_seconds:
                hits.popleft()
            if len(hits) >= limit:
                locked = key if key[0] == "token" or limits.lockout_key == "base" else ("token", token_key)
                self._locked_until[locked] = now + limits.penalty_seconds
                self.lockouts.append((now, f"{locked[0]} {locked[1]}"))
                return limits.penalty_seconds
        for key in keys:
            self._hits.setdefault(key, deque()).append(now)
        return None

    def seconds_until_quiet(self, base_id: str, now: float) -> float:
        """How long until the base's window holds no admitted request (0 when it holds none now)."""
        hits = self._hits.get(("base", base_id))
        return max(0.0, hits[-1] + self.limits.window_seconds - now) if hits else 0.0

    def reset(self) -> None:
        self._hits.clear()
        self._locked_until.clear()
        self.lockouts.clear()

    def retry_after_header(self, remaining: float) -> dict[str, str]:
        if not self.limits.retry_after:
            return {}
        return {"Retry-After": str(max(1, math.ceil(remaining)))}
