"""One HTTP policy for both services: pace, time out, retry safely, respect a time budget.

requests/urllib3 retries cannot pace requests ahead of time, cannot wait out Airtable's 30-second
429 penalty while still backing off with jitter on 5xx, and cannot tell a replay-safe POST (a read
or a keyed upsert) from one that could duplicate a record. So the policy lives in a small
`HTTPAdapter` subclass that both the pyairtable session and the Coda session mount.

Every attempt, from connecting to the last byte of the body, is bounded by the wall clock: by the time
left in the run's budget (TIME_BUDGET) and by a maximum per request (pipe.clients.wallclock), so a
server that answers one byte a second cannot keep the run alive.
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
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3 import ProxyManager

from pipe.clients.crowd import SharedBasePacer
from pipe.clients.wallclock import WATCHED_POOL_CLASSES, WallClockLimit
from pipe.errors import SyncError

log = logging.getLogger("pipe.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
REPLAY_SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})


class BudgetExceeded(SyncError):
    """The run's time budget (TIME_BUDGET) ran out before a request could be sent or retried, or while
    its answer was still coming."""


class RequestTooSlow(requests.exceptions.Timeout):
    """One attempt (connecting, sending, the headers and the whole body) took longer than the policy's
    `max_request_seconds`; retried like any timeout when the request is replay-safe."""


# Errors of one attempt that leave the request unanswered; replay-safe requests are tried again.
UNANSWERED = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


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
    read_timeout: float = 60.0  # longest silence while reading
    max_request_seconds: float = 120.0  # longest attempt, from connecting to the last byte of the body
    max_attempts: int = 6  # attempts of a request answered with 5xx or not at all
    max_refusals: int = 6  # 429s one request may get (each waited out, not a failed attempt; TIME_BUDGET bounds them)
    pacer: SharedBasePacer | None = None  # a base shared with other pipelines (pipe.clients.crowd)
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    rate_limit_wait: float = 30.0  # wait after a 429 without Retry-After (Airtable: 30 s penalty)
    replay_safe: Callable[[requests.PreparedRequest], bool] = lambda r: (r.method or "").upper() in REPLAY_SAFE_METHODS
    deadline: float | None = None  # `clock()` value after which nothing more is sent (TIME_BUDGET)
    stats: dict[str, int] = field(
        default_factory=lambda: {"requests": 0, "retries": 0, "429": 0, "5xx": 0, "dropped": 0}
    )
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
        return self.rng.uniform(0, min(self.backoff_cap, self.backoff_base * (2**attempt)))

    def time_allowed(self) -> tuple[float, bool]:
        """Seconds the next attempt may take, and whether the budget (rather than the maximum per request)
        is what bounds it."""
        if self.deadline is None:
            return self.max_request_seconds, False
        left = self.deadline - self.clock()
        return (left, True) if left <= self.max_request_seconds else (self.max_request_seconds, False)


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

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = WATCHED_POOL_CLASSES

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # a SOCKS proxy keeps its own pools (and only socket timeouts)
            manager.pool_classes_by_scheme = WATCHED_POOL_CLASSES
        return manager

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        """Send with the policy's pace, timeouts and retries; the body is always read here, within the time
        allowed (`stream` is ignored: both services answer JSON)."""
        policy = self.policy
        safe = policy.replay_safe(request)
        attempt = refusals = 0
        while True:
            self._check_budget(0.0)
            if policy.pacer is not None:
                try:
                    policy.pacer.acquire(policy.deadline)
                except TimeoutError as exc:
                    raise BudgetExceeded(f"{policy.service}: {exc}") from None
            limiters = policy.limiters(request)
            for limiter in limiters:
                limiter.acquire(policy.deadline)
            policy.stats["requests"] += 1
            try:
                response = self._attempt(request, verify, cert, proxies)
            except UNANSWERED as exc:
                for limiter in limiters:
                    limiter.done()
                policy.stats["dropped"] += 1
                attempt += 1
                if not safe or attempt >= policy.max_attempts:
                    raise
                delay = policy.backoff(attempt - 1)
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
                asked = retry_after_seconds(response)
                if status == 429:
                    # Refused before it was processed: always safe to replay, and a lockout waited out is not a
                    # failed attempt (a crowd of pipelines on one base may cause several).
                    policy.stats["429"] += 1
                    refusals += 1
                    if refusals >= policy.max_refusals:
                        return response
                    delay = policy.rate_limit_wait if asked is None else asked
                    if policy.pacer is not None:
                        delay = policy.pacer.locked_out(delay)
                else:
                    policy.stats["5xx"] += 1
                    attempt += 1
                    if not safe or attempt >= policy.max_attempts:
                        return response
                    delay = policy.backoff(attempt - 1) if asked is None else asked
                log.warning(
                    "%s: %s %s answered %s; retrying in %.1fs (attempt %d of %d)",
                    policy.service,
                    request.method,
                    _path(request),
                    status,
                    delay,
                    attempt + refusals + 1,
                    policy.max_attempts + policy.max_refusals - 1,
                )
                response.close()
            self._check_budget(delay)
            policy.sleep(delay)
            policy.stats["retries"] += 1

    def _attempt(self, request: requests.PreparedRequest, verify, cert, proxies) -> requests.Response:
        """One attempt, from connecting to the last byte of the body, within the time allowed."""
        seconds, budget_bounds = self.policy.time_allowed()
        if seconds <= 0:
            raise BudgetExceeded(f"{self.policy.service}: the time budget (TIME_BUDGET) ran out")
        socket_timeouts = (min(self.policy.connect_timeout, seconds), min(self.policy.read_timeout, seconds))
        with WallClockLimit(seconds) as limit:
            try:
                response = super().send(request, True, socket_timeouts, verify, cert, proxies)
                _read_body(response)
            except Exception:
                if limit.expired:
                    raise self._too_slow(request, seconds, budget_bounds) from None
                raise
        return response

    def _too_slow(self, request: requests.PreparedRequest, seconds: float, budget_bounds: bool) -> Exception:
        what = f"{self.policy.service}: {request.method} {_path(request)}"
        if budget_bounds:
            return BudgetExceeded(
                f"{what} was still unanswered when the time budget (TIME_BUDGET) ran out ({seconds:.1f}s left "
                "for it); the server is too slow or sends its answer a little at a time"
            )
        return RequestTooSlow(
            f"{what} took longer than {self.policy.max_request_seconds:g}s (connecting, sending and reading the "
            "whole answer)"
        )

    def _check_budget(self, upcoming_wait: float) -> None:
        deadline = self.policy.deadline
        if deadline is not None and self.policy.clock() + upcoming_wait > deadline:
            raise BudgetExceeded(f"{self.policy.service}: the time budget ran out")


def _read_body(response: requests.Response) -> None:
    """Read the whole body now (requests caches it: `response.content` later returns it)."""
    response.content  # noqa: B018 (the attribute reads the body)


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
