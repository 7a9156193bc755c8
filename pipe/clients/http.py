"""One HTTP policy for both services: pace, time out, retry safely, respect a time budget.

requests/urllib3 retries cannot pace requests ahead of time, cannot wait out Airtable's 30-second
429 penalty while still backing off with jitter on 5xx, and cannot tell a replay-safe POST (a read
or a keyed upsert) from one that could duplicate a record. So the policy lives in a small
`HTTPAdapter` subclass that both the pyairtable session and the Coda session mount.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter

from pipe.errors import SyncError

log = logging.getLogger("pipe.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REPLAY_SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})


class BudgetExceeded(SyncError):
    """The run's time budget (TIME_BUDGET) ran out before a request could be sent or retried."""


class SlidingWindowLimiter:
    """At most `limit` requests in any `window` seconds.

    The services count requests the same way (a sliding window), so pacing on our side keeps
    429s rare. A request's slot is taken when it is sent and, once its answer is in (`done()`), moved
    to that moment: the service saw the request at some time between the two, so counting from the
    answer can never put six requests in the service's window, even when one request travelled slowly
    (a fresh TLS connection after a drop) and the next quickly. It costs at most one request's latency
    per window. `margin` absorbs clock differences.
    """

    def __init__(self, limit: int, window: float, margin: float = 0.025, clock=time.monotonic, sleep=time.sleep):
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self.margin = margin
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def acquire(self, deadline: float | None = None) -> float:
        """Block until a request may be sent; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and now - self._sent[0] >= self.window + self.margin:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return waited
                delay = self._sent[0] + self.window + self.margin - now
            if deadline is not None and self._clock() + delay > deadline:
                raise BudgetExceeded("the time budget ends before the rate limit allows another request")
            self._sleep(delay)
            waited += delay

    def done(self) -> None:
        """The answer to the newest request arrived (the client sends one request at a time)."""
        with self._lock:
            if self._sent:
                self._sent[-1] = max(self._sent[-1], self._clock())


@dataclass
class HttpPolicy:
    """How requests to one service are paced, timed out and retried."""

    service: str
    limiters: Callable[[requests.PreparedRequest], Sequence[SlidingWindowLimiter]] = lambda _r: ()
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    rate_limit_wait: float = 30.0  # wait after a 429 without Retry-After (Airtable: 30 s penalty)
    replay_safe: Callable[[requests.PreparedRequest], bool] = lambda r: (r.method or "").upper() in REPLAY_SAFE_METHODS
    deadline: float | None = None  # time.monotonic() value after which nothing more is sent
    stats: dict[str, int] = field(
        default_factory=lambda: {"requests": 0, "retries": 0, "429": 0, "5xx": 0, "dropped": 0}
    )
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
        return self.rng.uniform(0, min(self.backoff_cap, self.backoff_base * (2**attempt)))


def retry_after_seconds(response: requests.Response) -> float | None:
    """Seconds a `Retry-After` header asks for (a number or an HTTP date); None when absent or unreadable,
    so the policy's own wait applies instead of the run crashing on a malformed header."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if parsed.tzinfo is None:  # an HTTP date is always GMT
            parsed = parsed.replace(tzinfo=datetime.UTC)
        seconds = parsed.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class PolicyAdapter(HTTPAdapter):
    """An HTTPAdapter that applies an HttpPolicy to every request sent through it."""

    def __init__(self, policy: HttpPolicy):
        super().__init__(max_retries=0)
        self.policy = policy

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        policy = self.policy
        timeout = (policy.connect_timeout, policy.read_timeout)
        safe = policy.replay_safe(request)
        attempt = 0
        while True:
            self._check_budget(0.0)
            limiters = policy.limiters(request)
            for limiter in limiters:
                limiter.acquire(policy.deadline)
            policy.stats["requests"] += 1
            try:
                response = super().send(request, stream, timeout, verify, cert, proxies)
            except (requests.ConnectionError, requests.Timeout) as exc:
                for limiter in limiters:
                    limiter.done()
                policy.stats["dropped"] += 1
                if not safe or attempt + 1 >= policy.max_attempts:
                    raise
                delay = policy.backoff(attempt)
                log.warning(
                    "%s: %s %s failed (%s); retrying in %.1fs",
                    policy.service,
                    request.method,
                    _path(request),
                    type(exc).__name__,
                    delay,
                )
            else:
                for limiter in limiters:
                    limiter.done()
                status = response.status_code
                if status not in RETRY_STATUSES:
                    return response
                if status == 429:
                    policy.stats["429"] += 1
                else:
                    policy.stats["5xx"] += 1
                # A 429 means the request was refused before it was processed: always safe to replay.
                if (status != 429 and not safe) or attempt + 1 >= policy.max_attempts:
                    return response
                delay = retry_after_seconds(response)
                if delay is None:
                    delay = policy.rate_limit_wait if status == 429 else policy.backoff(attempt)
                log.warning(
                    "%s: %s %s answered %s; retrying in %.1fs (attempt %d of %d)",
                    policy.service,
                    request.method,
                    _path(request),
                    status,
                    delay,
                    attempt + 2,
                    policy.max_attempts,
                )
                response.close()
            self._check_budget(delay)
            policy.sleep(delay)
            policy.stats["retries"] += 1
            attempt += 1

    def _check_budget(self, upcoming_wait: float) -> None:
        deadline = self.policy.deadline
        if deadline is not None and time.monotonic() + upcoming_wait > deadline:
            raise BudgetExceeded(f"{self.policy.service}: the time budget ran out")


def _path(request: requests.PreparedRequest) -> str:
    """The URL path without the query string (which may be long); never includes credentials."""
    url = request.path_url or ""
    return url.split("?", 1)[0]


def session_with_policy(policy: HttpPolicy, session: requests.Session | None = None) -> requests.Session:
    session = session or requests.Session()
    adapter = PolicyAdapter(policy)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
