"""The public facade: :class:`AirtableEmulator` starts the server and exposes seeding,
fault injection and introspection to tests."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from . import records as record_ops
from .app import App
from .config import Quirks
from .faults import Fault, FaultInjector
from .ids import IdFactory
from .listing import Iterators
from .model import DEFAULT_SCOPES
from .ratelimit import LockoutKey, RateLimiter, RateLimits
from .requestlog import LoggedRequest, RequestLog
from .server import EmulatorHTTPServer
from .state import State

SeedSource = Mapping[str, Any] | str | Path


class AirtableEmulator:
    """A local Airtable Web API v0 on ``http://127.0.0.1:<port>`` (pyairtable's ``endpoint_url``).

    >>> with AirtableEmulator(rate_limit_per_base=None) as emu:
    ...     token = emu.add_token()
    ...     api = pyairtable.Api(token, endpoint_url=emu.url)
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limit_per_base: int | None = 5,
        rate_limit_per_token: int | None = 50,
        rate_window_seconds: float = 1.0,
        penalty_seconds: float = 30.0,
        retry_after_on_429: bool = False,
        lockout_key: LockoutKey = "base",
        quirks: Quirks | None = None,
        id_seed: int | None = None,
        latency: tuple[float, float] | None = None,
        latency_seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._host, self._port = host, port
        self._latency = _random_latency(latency, latency_seed)
        self._lock = threading.RLock()
        self._clock = clock
        ids = IdFactory(id_seed)
        self.quirks = quirks or Quirks()
        self._state = State(ids, self.quirks)
        self._limiter = RateLimiter(
            RateLimits(
                per_base=rate_limit_per_base,
                per_token=rate_limit_per_token,
                window_seconds=rate_window_seconds,
                penalty_seconds=penalty_seconds,
                lockout_key=lockout_key,
                retry_after=retry_after_on_429,
            )
        )
        self._faults = FaultInjector()
        self._log = RequestLog()
        self._iterators = Iterators(ids, clock, self.quirks.offset_ttl_seconds)
        self._stopping = threading.Event()
        self._server: EmulatorHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def from_seed(cls, seed: SeedSource, **options: Any) -> AirtableEmulator:
        """A new (not yet started) emulator loaded from a seed dict or JSON file."""
        emulator = cls(**options)
        emulator.load_seed(seed)
        return emulator

    def start(self) -> AirtableEmulator:
        if self._server is not None:
            return self
        self._stopping.clear()
        app = App(
            self._lock,
            self._state,
            self._limiter,
            self._faults,
            self._log,
            self._iterators,
            self._clock,
            self._stopping,
            self._latency,
        )
        self._server = EmulatorHTTPServer((self._host, self._port), app)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="airtable-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # wakes delay faults
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server, self._thread = None, None

    def __enter__(self) -> AirtableEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL without a path, e.g. ``http://127.0.0.1:54321`` (pyairtable's endpoint_url)."""
        return f"http://{self._host}:{self.port}"

    # ------------------------------------------------------------------ seeding

    def add_token(
        self,
        token: str | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        bases: Iterable[str] | str | None = "*",
        user_id: str | None = None,
        email: str | None = None,
        permission_level: str = "create",
    ) -> str:
        """Register a bearer token (generated when None) and return it.

        ``bases`` is "*" (every base) or base IDs. Tokens with the same ``user_id`` share the
        per-user rate limit (§4); each token gets its own user by default.
        """
        with self._lock:
            return self._state.add_token(token, scopes, bases, user_id, email, permission_level)

    @property
    def tokens(self) -> list[str]:
        with self._lock:
            return list(self._state.tokens)

    def add_base(self, base_id: str | None = None, name: str = "Base") -> str:
        with self._lock:
            return self._state.add_base(base_id, name).id

    def add_table(self, base_id: str, spec: Mapping[str, Any]) -> str:
        """Add a table ``{"id"?, "name", "fields": [{"id"?, "name", "type", "options"?}],
        "primaryField"?: name or id, "views"?: [...]}``; returns the table ID."""
        with self._lock:
            return self._state.add_table(base_id, spec).id

    def add_records(
        self,
        base_id: str,
        table: str,
        items: Iterable[Mapping[str, Any]],
        typecast: bool = False,
    ) -> list[str]:
        """Insert records given as plain ``{field: value}`` dicts or as ``{"id"?, "fields",
        "createdTime"?}``; validated like API writes (raises ApiError); returns their IDs."""
        normalised = [_record_item(item) for item in items]
        with self._lock:
            target = self._state.table_or_raise(base_id, table)
            created = record_ops.insert_records(self._state, target, normalised, typecast)
            return [record.id for record in created]

    def load_seed(self, seed: SeedSource) -> None:
        """Load tokens, bases, tables and records (format: docs/emulators/airtable.md)."""
        data = _read_seed(seed)
        for token in data.get("tokens", []):
            self.add_token(
                token.get("token"),
                scopes=token.get("scopes", DEFAULT_SCOPES),
                bases=token.get("bases", "*"),
                user_id=token.get("userId"),
                email=token.get("email"),
                permission_level=token.get("permissionLevel", "create"),
            )
        pending: list[tuple[str, str, list[Any], bool]] = []
        for base in data.get("bases", []):
            base_id = self.add_base(base.get("id"), base["name"])
            for table in base.get("tables", []):
                table_id = self.add_table(base_id, table)
                pending.append((base_id, table_id, table.get("records", []), table.get("typecast", False)))
        for base_id, table_id, items, typecast in pending:  # after all tables: links resolve
            self.add_records(base_id, table_id, items, typecast)

    # ------------------------------------------------------------------ state access

    def records(self, base_id: str, table: str) -> list[dict[str, Any]]:
        """Every record as the API renders it: ``{"id", "createdTime", "fields"}`` by name."""
        with self._lock:
            target = self._state.table_or_raise(base_id, table)
            return [self._state.render_record(target, r) for r in target.records.values()]

    def record(self, base_id: str, table: str, record_id: str) -> dict[str, Any] | None:
        with self._lock:
            target = self._state.table_or_raise(base_id, table)
            found = target.records.get(record_id)
            return self._state.render_record(target, found) if found else None

    def schema(self, base_id: str) -> dict[str, Any]:
        """The base schema as ``GET /v0/meta/bases/{base}/tables`` returns it."""
        with self._lock:
            return self._state.schema(self._state.base_or_raise(base_id), True)

    def table_id(self, base_id: str, table: str) -> str:
        with self._lock:
            return self._state.table_or_raise(base_id, table).id

    def field_id(self, base_id: str, table: str, field: str) -> str:
        with self._lock:
            found = self._state.table_or_raise(base_id, table).field(field)
            if found is None:
                raise ValueError(f"unknown field {field!r}")
            return found.id

    # ------------------------------------------------------------------ log, faults, limits

    @property
    def requests(self) -> list[LoggedRequest]:
        """A copy of the request log, oldest first."""
        with self._lock:
            return self._log.entries()

    def reset_log(self) -> None:
        with self._lock:
            self._log.clear()

    def status_counts(self) -> Counter[int | None]:
        """How many requests got each status (None = connection dropped)."""
        with self._lock:
            return self._log.status_counts()

    def inject(self, fault: Fault) -> Fault:
        """Add a fault; faults are tried in the order added. Returns it (see ``fault.fired``)."""
        with self._lock:
            return self._faults.add(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    @property
    def rate_limits(self) -> RateLimits:
        with self._lock:
            return self._limiter.limits

    def configure_rate_limits(self, **changes: Any) -> None:
        """Change rate-limit settings at run time, e.g. ``per_base=5, penalty_seconds=0.5``."""
        with self._lock:
            self._limiter.limits = dataclasses.replace(self._limiter.limits, **changes)

    def wait_until_quiet(self, base_id: str) -> float:
        """Block until no request to the base is left in its rate-limit window (at most one window); returns
        the seconds waited. For scripts that run pipelines back to back, as Pipelines never does: its steps
        start seconds apart, so a run never shares the base's window with the one before it."""
        with self._lock:
            wait = self._limiter.seconds_until_quiet(base_id, self._clock())
        time.sleep(wait)
        return wait

    def lockouts(self) -> list[tuple[float, str]]:
        """Every lockout so far: (the clock's time it started, what it locked: "base appX" or "token …")."""
        with self._lock:
            return list(self._limiter.lockouts)

    def reset_rate_limits(self) -> None:
        """Forget request history and end every lockout."""
        with self._lock:
            self._limiter.reset()

    def expire_offsets(self) -> None:
        """Make every issued list offset stale (next use: 422 LIST_RECORDS_ITERATOR_NOT_AVAILABLE)."""
        with self._lock:
            self._iterators.expire_all()


def _random_latency(bounds: tuple[float, float] | None, seed: int | None) -> Callable[[], float]:
    """Seconds drawn uniformly from `bounds` for each request (0 without bounds), repeatable with `seed`."""
    if bounds is None:
        return lambda: 0.0
    low, high = bounds
    if not 0 <= low <= high:
        raise ValueError("latency must be (low, high) with 0 <= low <= high")
    rng = random.Random(seed)
    lock = threading.Lock()

    def draw() -> float:
        with lock:
            return rng.uniform(low, high)

    return draw


def _record_item(item: Mapping[str, Any]) -> dict[str, Any]:
    structured = isinstance(item.get("fields"), dict) and set(item) <= {"id", "fields", "createdTime"}
    return dict(item) if structured else {"fields": dict(item)}


def _read_seed(seed: SeedSource) -> Mapping[str, Any]:
    if isinstance(seed, (str, Path)):
        return json.loads(Path(seed).read_text(encoding="utf-8"))
    return seed
