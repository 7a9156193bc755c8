"""The emulator without HTTP: options, state, and one `handle()` that answers a request as Coda would.

Order of checks for every request: body size (400) → operation lookup (404/405) → token (401) →
token restrictions (403) → rate limit (429) → request validation against the spec (400) →
`X-Coda-Doc-Version` (400) → the operation handler. Queued mutations that are due are applied first;
a GET of a doc is then answered from the state its reads see (`read_lag`, snapshots.py).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import parse_qs

from . import auth
from .errors import DOC_NOT_UP_TO_DATE, ENTITY_TOO_LARGE, ApiError, bad_request
from .faults import FaultInjector
from .ids import IdFactory
from .mutations import Apply, Mutation, MutationQueue
from .ratelimit import RateLimiter, RateLimits
from .render import Links
from .snapshots import ReadSnapshots
from .spec import Operation, SpecContract
from .state import Token, World

UnknownColumnMode = Literal["400", "warning"]
MissingElementMode = Literal["400", "whole_page"]
QueryBooleans = Literal["lenient", "strict"]
RuleOffMode = Literal["422", "accepted"]


@dataclass(frozen=True)
class Options:
    """Behaviour switches. See docs/emulators/coda.md for what each one models."""

    mutation_delay: float = 0.05  # seconds between the 202 and the write being applied (status completed)
    mutation_jitter: float = 0.0  # up to this many seconds more, drawn at random for each mutation
    latency: tuple[float, float] | None = None  # (low, high): random seconds each request travels before handling
    read_lag: float = 0.0  # seconds an applied write then stays invisible to reads (stale snapshot)
    mutation_status_404_for: float = 0.0  # getMutationStatus answers 404 this long after the write
    mutation_status_ttl: float = 86400.0  # completed statuses are forgotten after this long
    rate_limits: RateLimits | None = field(default_factory=RateLimits)
    unknown_column: UnknownColumnMode = "400"  # unknown cell column / keyColumn: sync 400 or a warning
    missing_element: MissingElementMode = "400"  # updatePage elementId not on the page: 400 or whole page
    query_booleans: QueryBooleans = "lenient"  # "strict": only `true`/`false`; "lenient": any case, `1`/`0`
    rule_off: RuleOffMode = "422"  # a webhook to a rule that is off: 422, or "accepted" (202, the rule never runs)
    max_page_size: int = 200  # hidden clamp for `limit` on lists without a documented maximum
    max_row_bytes: int = 85 * 1024
    max_body_bytes: int = 2 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.unknown_column not in ("400", "warning"):
            raise ValueError("unknown_column must be '400' or 'warning'")
        if self.missing_element not in ("400", "whole_page"):
            raise ValueError("missing_element must be '400' or 'whole_page'")
        if self.query_booleans not in ("lenient", "strict"):
            raise ValueError("query_booleans must be 'lenient' or 'strict'")
        if self.rule_off not in ("422", "accepted"):
            raise ValueError("rule_off must be '422' or 'accepted'")
        if self.mutation_delay < 0 or self.read_lag < 0 or self.mutation_jitter < 0 or self.max_page_size < 1:
            raise ValueError("mutation_delay, mutation_jitter and read_lag must be >= 0, max_page_size >= 1")
        if self.latency is not None and not 0 <= self.latency[0] <= self.latency[1]:
            raise ValueError("latency must be (low, high) with 0 <= low <= high")


@dataclass
class Call:
    """One authenticated, validated request as a handler sees it."""

    operation_id: str
    method: str
    params: dict[str, str]
    query: dict[str, Any]  # declared, valid query parameters with their JSON types
    body: Any
    token: Token
    path: str  # below the base URL, as sent
    query_string: str
    world: World  # the applied state, or for a GET of a doc the (possibly stale) state its reads see
    content_type: str = ""  # the request's Content-Type header, as sent


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    undeclared_ok: bool = False  # a real-API status the spec does not declare for this operation

    @classmethod
    def error(cls, exc: ApiError) -> Reply:
        return cls(exc.status, exc.body(), dict(exc.headers), undeclared_ok=exc.undeclared_ok)


@dataclass
class Outcome:
    reply: Reply
    operation: Operation | None
    owner: str | None
    request_body: Any
    request_valid: bool


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # below the base URL
    query: dict[str, list[str]]
    body: Any  # parsed JSON, raw text, or None
    status: int | None  # None when the connection was dropped before an answer
    time: float  # wall clock when the request arrived
    duration: float
    operation: str | None
    owner: str | None
    fault: str | None


Handler = Callable[["Backend", Call], Reply]
ResponseHook = Callable[[str, int, Any], Any]


class Backend:
    def __init__(
        self,
        options: Options,
        contract: SpecContract,
        handlers: Mapping[str, Handler],
        *,
        clock: Callable[[], float] = time.time,
        id_seed: int | None = None,
        fault_seed: int = 0,
    ):
        self.options = options
        self.contract = contract
        self.clock = clock
        self.world = World()
        self.ids = IdFactory(id_seed)
        self.queue = MutationQueue(options.mutation_status_ttl)
        self.snapshots = ReadSnapshots(options.read_lag)
        self.limiter = RateLimiter(options.rate_limits, clock) if options.rate_limits else None
        self.faults = FaultInjector(fault_seed)
        self._timing = random.Random(fault_seed)  # latency and mutation jitter, repeatable with fault_seed
        self.links = Links("http://127.0.0.1/apis/v1")  # replaced once the server has a port
        self.lock = threading.RLock()
        self.spec_violations: list[str] = []
        self.requests: list[LoggedRequest] = []
        self.response_hooks: list[ResponseHook] = []
        self._handlers = handlers

    # -- request handling --------------------------------------------------------------------------

    def handle(self, method: str, path: str, query_string: str, body: bytes, headers: Mapping[str, str]) -> Outcome:
        outcome = Outcome(Reply(500), None, None, None, True)
        try:
            self._handle(method, path, query_string, body, headers, outcome)
        except ApiError as exc:
            outcome.reply = Reply.error(exc)
        return outcome

    def _handle(
        self, method: str, path: str, query_string: str, body: bytes, headers: Mapping[str, str], outcome: Outcome
    ) -> None:
        if len(body) > self.options.max_body_bytes:
            raise bad_request(ENTITY_TOO_LARGE, undeclared_ok=True)
        match = self.contract.match(method, path)
        if match is None:
            exists = self.contract.path_exists(path)
            self.record(
                f"{method} {path} request: no operation in the spec matches this {'method' if exists else 'path'}"
            )
            outcome.request_valid = False
            raise ApiError(405 if exists else 404, "Method not allowed." if exists else "Not found.")
        outcome.operation = op = match.operation
        token = auth.authenticate(self.world, headers)
        outcome.owner = token.owner
        auth.check_operation(token, op.operation_id, method, match.path_params)
        self._rate_limit(token.owner, op.operation_id, method)
        check = self.contract.check_request(
            op,
            parse_qs(query_string, keep_blank_values=True),
            body,
            headers.get("Content-Type", ""),
            lenient_booleans=self.options.query_booleans == "lenient",
        )
        outcome.request_body = check.body
        if check.problems or check.notes:
            outcome.request_valid = False
            self.record(*check.problems, *check.notes)
            if check.problems:
                raise bad_request("Request validation failed: " + "; ".join(check.problems), undeclared_ok=True)
        handler = self._handlers.get(op.operation_id)
        if handler is None:
            raise ApiError(404, f"The Coda emulator does not implement {op.operation_id}.", undeclared_ok=True)
        with self.lock:
            self.apply_due()
            world = self._world_for(method, match.path_params.get("docId"))
            call = Call(
                op.operation_id,
                method,
                match.path_params,
                check.query,
                check.body,
                token,
                path,
                query_string,
                world,
                headers.get("Content-Type", ""),
            )
            self._check_doc_version(call, headers)
            outcome.reply = handler(self, call)

    def _rate_limit(self, owner: str, operation_id: str, method: str) -> None:
        if self.limiter is None or self.limiter.admit(owner, operation_id, method):
            return
        retry_after = self.limiter.limits.retry_after
        raise ApiError(429, headers={"Retry-After": f"{retry_after:g}"} if retry_after is not None else None)

    def _world_for(self, method: str, doc_id: str | None) -> World:
        """The applied state; for a GET of a doc whose latest writes reads cannot see yet, a stale copy."""
        snapshot = self.snapshots.stale_view(doc_id, self.clock()) if method == "GET" and doc_id else None
        if snapshot is None or doc_id is None:
            return self.world
        return replace(self.world, docs={**self.world.docs, doc_id: snapshot.doc}, seq=snapshot.seq)

    def _check_doc_version(self, call: Call, headers: Mapping[str, str]) -> None:
        value = (headers.get("X-Coda-Doc-Version") or "").strip()
        doc_id = call.params.get("docId")
        if not value or doc_id is None or doc_id not in self.world.docs:
            return
        stale = self.snapshots.stale_view(doc_id, self.clock()) is not None
        if value != "latest" or self.queue.pending(doc_id) or stale:
            raise bad_request(DOC_NOT_UP_TO_DATE, undeclared_ok=True)

    # -- helpers for handlers ----------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def travel_time(self) -> float:
        """Seconds the request about to be handled spends on its way (`Options.latency`), 0 without latency."""
        if self.options.latency is None:
            return 0.0
        with self.lock:
            return self._timing.uniform(*self.options.latency)

    def apply_due(self) -> None:
        with self.lock:
            now = self.clock()
            self.queue.apply_due(now)
            self.snapshots.prune(now)

    def mutate(self, call: Call, doc_id: str, apply: Apply, request_id: str | None = None, **result: Any) -> Reply:
        """Queue a write and answer 202 `{requestId, **result}` (a new request ID unless one is given)."""
        now = self.clock()
        request_id = request_id or self.ids.request_id()

        def keep_a_copy_then_apply(at: float) -> str | None:
            doc = self.world.docs.get(doc_id)
            if doc is not None:
                self.snapshots.before_apply(doc, self.world.seq, at)
            return apply(at)

        self.queue.enqueue(
            Mutation(
                request_id,
                doc_id,
                call.operation_id,
                call.token.owner,
                now,
                now + self.options.mutation_delay + self._jitter(),
                keep_a_copy_then_apply,
            )
        )
        return Reply(202, {"requestId": request_id, **result})

    def _jitter(self) -> float:
        jitter = self.options.mutation_jitter
        return self._timing.uniform(0.0, jitter) if jitter > 0 else 0.0

    def record(self, *violations: str) -> None:
        with self.lock:
            self.spec_violations.extend(violations)

    def finish(self, outcome: Outcome) -> tuple[int, bytes]:
        """Run response hooks, serialise, and validate the answer against the spec."""
        reply, op = outcome.reply, outcome.operation
        body = reply.body
        for hook in list(self.response_hooks):
            body = hook(op.operation_id if op else "", reply.status, body)
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        if op is not None:
            problems = self.contract.check_response(op, reply.status, payload)
            if reply.undeclared_ok or not outcome.request_valid:
                problems = [p for p in problems if not p.endswith("is not declared for this operation")]
            self.record(*problems)
        return reply.status, payload
