"""The emulator without HTTP: one `handle()` that answers a request as Bitbucket would.

Order of checks for every request: body size (400) → operation lookup in the spec (404/405) → route
implemented (404) → caller: a Bearer token (401) or, on the proxy listener, the proxy's allow-list
(403) → rate limit (429) → scopes (403) → request validation against the spec (400, or 404 for a
mistyped path parameter) → repository exists (404) and the caller reaches it (403) → the handler,
under the one state lock.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from . import auth
from .config import Limits, ProxyConfig, RateLimits, Readings
from .errors import ApiError, bad_request, not_found
from .ids import IdFactory
from .ratelimit import RateLimiter
from .render import Links
from .spec import Operation, SpecContract
from .state import Account, Repository, World


@dataclass
class Call:
    """One authenticated, validated request as a handler sees it."""

    route: Route
    principal: auth.Principal
    repo: Repository
    params: dict[str, Any]  # typed path parameters
    query: dict[str, Any]  # declared, valid query parameters with their JSON types
    raw_query: dict[str, list[str]]
    body: Any
    links: Links
    url: str  # absolute URL of this resource on the listener that received it (no query)


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    undeclared_ok: bool = False  # a real-API status the spec does not declare for this operation
    text: str | None = None  # a plain-text body instead of JSON
    applied: bool = False  # the request changed the state

    @classmethod
    def error(cls, exc: ApiError) -> Reply:
        return cls(exc.status, exc.body(), dict(exc.headers), undeclared_ok=exc.undeclared_ok, text=exc.text)


Handler = Callable[["Backend", Call], Reply]
ResponseHook = Callable[[str, int, Any], Any]


@dataclass(frozen=True)
class Route:
    name: str  # stable name used in the request log
    method: str
    template: str  # exactly as in the spec
    family: str  # config.FAMILIES
    handler: Handler


@dataclass
class Outcome:
    reply: Reply
    operation: Operation | None = None
    route: Route | None = None
    identity: str | None = None
    request_valid: bool = True


class Backend:
    def __init__(
        self,
        contract: SpecContract,
        routes: Mapping[tuple[str, str], Route],
        *,
        limits: Limits,
        readings: Readings,
        rate_limits: RateLimits | None,
        proxy: ProxyConfig | None,
        clock: Callable[[], float] = time.time,
        id_seed: int | None = None,
    ):
        self.contract = contract
        self.limits = limits
        self.readings = readings
        self.proxy = proxy
        self.clock = clock
        self.world = World()
        self.ids = IdFactory(id_seed)
        self.limiter = RateLimiter(rate_limits, clock) if rate_limits else None
        self.lock = threading.RLock()
        self.spec_violations: list[str] = []
        self.response_hooks: list[ResponseHook] = []
        self.proxy_account = Account(self.ids.uuid(), proxy.identity if proxy else "", "pipelines", "pipelines")
        self._routes = routes

    # -- request handling --------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        query_string: str,
        body: bytes,
        headers: Mapping[str, str],  # lower-case names
        *,
        listener: str,
        api_base: str,
    ) -> Outcome:
        outcome = Outcome(Reply(500))
        try:
            self._handle(method, path, query_string, body, headers, listener, api_base, outcome)
        except ApiError as exc:
            outcome.reply = Reply.error(exc)
        return outcome

    def _handle(
        self,
        method: str,
        path: str,
        query_string: str,
        body: bytes,
        headers: Mapping[str, str],
        listener: str,
        api_base: str,
        outcome: Outcome,
    ) -> None:
        if len(body) > self.limits.max_body_bytes:
            raise bad_request(f"The request body is larger than {self.limits.max_body_bytes} bytes.")
        match = self.contract.match(method, path)
        if match is None:
            exists = self.contract.path_exists(path)
            what = "method" if exists else "path"
            self.record(f"{method} {path} request: no operation in the spec matches this {what}")
            outcome.request_valid = False
            raise ApiError(405 if exists else 404, "Method not allowed" if exists else "Resource not found")
        outcome.operation = op = match.operation
        route = self._routes.get((op.method, op.template))
        if route is None:
            self.record(f"{op.key} is in the spec but not emulated")
            raise not_found(f"The Bitbucket emulator does not implement {op.key}.")
        outcome.route = route
        if listener == "proxy" and self.proxy is not None:
            principal = auth.proxy_principal(self.proxy, self.proxy_account)
            outcome.identity = principal.name
            auth.check_proxy(principal, route.family, match.path_params)
        else:
            principal = auth.authenticate(self.world, headers.get("authorization"))
            outcome.identity = principal.name
        rate_headers = self._rate_limit(principal)
        required = self.readings.scope_overrides.get(op.key, op.oauth_scopes)
        auth.check_scopes(principal, tuple(required))
        raw_query = parse_qs(query_string, keep_blank_values=True)
        check = self.contract.check_request(match, raw_query, body, headers.get("content-type", ""))
        if check.problems or check.notes:
            outcome.request_valid = not check.problems
            self.record(*check.problems, *check.notes)
            if check.problems:
                if check.not_found:
                    raise not_found("Resource not found", detail="; ".join(check.problems))
                raise bad_request("Bad request", detail="; ".join(check.problems))
        links = Links(api_base)
        with self.lock:
            repo = self.world.repository(str(check.path["workspace"]), str(check.path["repo_slug"]))
            auth.check_repository(principal, repo.workspace, repo.slug)
            call = Call(route, principal, repo, check.path, check.query, raw_query, check.body, links, api_base + path)
            outcome.reply = route.handler(self, call)
        outcome.reply.headers.update(rate_headers)

    def _rate_limit(self, principal: auth.Principal) -> dict[str, str]:
        if self.limiter is None:
            return {}
        admission = self.limiter.admit(principal.key)
        with_headers = principal.token is not None  # the blog: sent to access-token requests
        if not admission.admitted:
            raise self.limiter.refusal(admission, with_headers=with_headers)
        return self.limiter.headers(admission) if with_headers else {}

    # -- helpers for handlers ----------------------------------------------------------------------

    def now(self) -> float:
        return self.clock()

    def record(self, *violations: str) -> None:
        with self.lock:
            self.spec_violations.extend(violations)

    def finish(self, outcome: Outcome) -> tuple[int, bytes, str]:
        """Run response hooks, serialise, and validate the answer against the spec."""
        reply, op = outcome.reply, outcome.operation
        if reply.text is not None:
            return reply.status, reply.text.encode("utf-8"), "text/plain; charset=utf-8"
        body = reply.body
        for hook in list(self.response_hooks):
            body = hook(outcome.route.name if outcome.route else "", reply.status, body)
        payload = b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
        if op is not None:
            problems = self.contract.check_response(op, reply.status, payload, reply.headers)
            if reply.undeclared_ok or not outcome.request_valid:
                problems = [p for p in problems if not p.endswith("is not declared for this operation")]
            self.record(*problems)
        return reply.status, payload, "application/json; charset=utf-8"
