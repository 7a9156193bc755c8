"""A rolling-window request budget per identity (reference §8) and the headers Bitbucket sends with it."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from .config import RateLimits
from .errors import RATE_LIMITED_TEXT, ApiError


@dataclass
class Admission:
    admitted: bool
    remaining: int  # after this request


class RateLimiter:
    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def admit(self, key: str) -> Admission:
        """Count the request and admit it, or refuse it without counting (only admitted ones count)."""
        with self._lock:
            now = self._clock()
            sent = self._sent.setdefault(key, deque())
            while sent and now - sent[0] >= self.limits.window:
                sent.popleft()
            if len(sent) >= self.limits.limit:
                return Admission(False, 0)
            sent.append(now)
            return Admission(True, self.limits.limit - len(sent))

    def used(self, key: str) -> int:
        with self._lock:
            now = self._clock()
            return sum(1 for t in self._sent.get(key, ()) if now - t < self.limits.window)

    def reset(self) -> None:
        with self._lock:
            self._sent.clear()

    def headers(self, admission: Admission) -> dict[str, str]:
        """`X-RateLimit-*` as the blog describes them (sent for access-token requests)."""
        if not self.limits.headers:
            return {}
        near = admission.remaining < self.limits.limit * self.limits.near_limit_fraction
        return {
            "X-RateLimit-Limit": str(self.limits.limit),
            "X-RateLimit-Resource": self.limits.resource,
            "X-RateLimit-NearLimit": "true" if near else "false",
        }

    def refusal(self, admission: Admission, *, with_headers: bool) -> ApiError:
        headers = self.headers(admission) if with_headers else {}
        if self.limits.retry_after is not None:
            headers["Retry-After"] = str(max(1, math.ceil(self.limits.retry_after)))
        return ApiError(429, RATE_LIMITED_TEXT, undeclared_ok=True, headers=headers, text=RATE_LIMITED_TEXT)
