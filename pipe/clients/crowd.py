"""A run's pace on an Airtable base that other pipelines write to at the same time (docs/many-pipelines.md).

Airtable allows 5 requests per second per base, counted over every client of the base, and answers an
overflow with 429 and a 30-second lockout of the whole base. Pipelines of different repositories cannot see
each other, and Airtable sends no signal before the 429 (no rate-limit headers; Retry-After on 429 is not
documented), so a run learns of a crowd only from a lockout. What it can do then, and what this module does:

- never retry in lockstep: every run that was locked out waits the lockout (Retry-After when the server sends
  one) and then a random part of a spread (one lockout long, doubling with each lockout the run has seen, up
  to three lockouts), so the crowd comes back one run after another instead of all at once;
- come back slower: after each lockout the run halves its own rate for the rest of the run, spacing its
  requests evenly instead of in bursts (it does not climb back: with a 30-second price on every overflow,
  probing for more did not pay in runs that last seconds to minutes; docs/many-pipelines.md);
- a run that has seen no lockout and has the whole base is paced by the base's window alone (pipe.clients.http),
  which lets a short run's few requests go at once;
- take a share when told: AIRTABLE_REQUESTS_PER_SECOND caps the run's rate from its first request, and a run
  with a share starts at a random point of its first interval, so runs started together do not send their
  first requests in the same window.

What no client can do alone is avoid the first lockout of a crowd that starts at once, or share the base
evenly after it: that needs a signal before the 429 or a coordinator, and Airtable offers neither.
docs/many-pipelines.md has the figures and the reasoning.

No library does this: urllib3's Retry and the usual rate-limit packages pace one client to a known limit;
this is the client's half of a limit shared with unknown others, priced in lockouts.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

BASE_LIMIT = 5  # requests per second per base (Airtable), whoever sends them


@dataclass
class SharedBasePacer:
    ceiling: float = BASE_LIMIT  # requests per second this run may use (AIRTABLE_REQUESTS_PER_SECOND)
    window: float = 1.0  # the base's window in seconds (scaled in tests, with everything below)
    decrease: float = 0.5  # the rate is multiplied by this after each lockout
    min_rate: float = 0.05  # requests per second the run never goes below
    spread: float = 1.0  # the random part of the first wait after a lockout, as a fraction of the lockout
    max_spread: float = 3.0  # ... which doubles with each lockout, up to this fraction
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)
    lockouts: int = field(default=0, init=False)
    rate: float = field(init=False)
    _next: float | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 < self.ceiling <= BASE_LIMIT:
            raise ValueError(f"the rate must be in (0, {BASE_LIMIT:g}] requests per second")
        self.rate = self.ceiling

    @property
    def interval(self) -> float:
        """Seconds between two of this run's requests at its current rate."""
        return self.window / self.rate

    def acquire(self, deadline: float | None = None) -> float:
        """Wait until this run's pace allows its next request; returns the seconds waited. Raises
        TimeoutError when the wait would end after `deadline` (the caller turns it into its budget error)."""
        with self._lock:
            now = self.clock()
            if self.rate >= BASE_LIMIT:
                return 0.0  # the whole base, no crowd seen: the sliding window alone paces (bursts of 5 allowed)
            if self._next is None:
                # A run with a share starts at a random point of its first interval: runs started together
                # do not all send their first request in the same window.
                self._next = now + self.rng.uniform(0, self.interval)
            send_at = max(now, self._next)
            if deadline is not None and send_at > deadline:
                raise TimeoutError("the time budget ends before this run's pace allows another request")
            self._next = send_at + self.interval
        delay = send_at - now
        if delay > 0:
            self.sleep(delay)
        return delay

    def locked_out(self, wait: float) -> float:
        """The base answered 429: it is locked out for about `wait` seconds (Retry-After, or the lockout).
        Returns how long this run waits before its next request: the lockout, then a random part of a
        spread that doubles with every lockout this run has seen; the run goes on at a lower rate."""
        with self._lock:
            self.lockouts += 1
            now = self.clock()
            self.rate = max(self.min_rate, self.rate * self.decrease)
            spread = min(self.max_spread, self.spread * 2 ** (self.lockouts - 1)) * wait
            delay = wait + self.rng.uniform(0, spread)
            self._next = now + delay
            return delay
