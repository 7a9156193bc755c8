"""Request handling independent of HTTP plumbing: faults, auth, rate limits, routing, logging."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

from . import errors, listing, records
from .faults import Fault, FaultInjector
from .model import SCOPE_EMAIL, SCOPE_READ, SCOPE_SCHEMA_READ, SCOPE_WRITE, Base, Table, Token
from .ratelimit import RateLimiter
from .requestlog import LoggedRequest, RequestLog
from .state import State

WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # request target as sent: path?query
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class Response:
    status: int | None  # None: close the connection without answering
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    kind: str  # whoami | bases | schema | table | list_post | record
    base_id: str | None = None
    table_key: str | None = None
    record_id: str | None = None


def path_segments(raw_path: str) -> list[str]:
    """URL-decoded segments after the leading slash; one trailing slash is ignored.

    airtable.js sends every write to `/v0/{base}/{table}/` (and the real API answers it).
    """
    segments = [unquote(part) for part in raw_path.split("/")[1:]]
    if len(segments) > 1 and segments[-1] == "":
        segments.pop()
    return segments


def parse_route(method: str, segments: list[str]) -> Route | None:
    if len(segments) < 2 or segments[0] != "v0":
        return None
    if segments[1] == "meta":
        rest = segments[2:]
        if rest == ["whoami"] and method == "GET":
            return Route("whoami")
        if rest == ["bases"] and method == "GET":
            return Route("bases")
        if len(rest) == 3 and rest[0] == "bases" and rest[2] == "tables" and method == "GET":
            return Route("schema", base_id=rest[1])
        return None
    if len(segments) == 3:
        return Route("table", segments[1], segments[2])
    if len(segments) == 4:
        if segments[3] == "listRecords" and method == "POST":
            return Route("list_post", segments[1], segments[2])
        return Route("record", segments[1], segments[2], segments[3])
    return None


class App:
    def __init__(
        self,
        lock: threading.RLock,
        state: State,
        limiter: RateLimiter,
        faults: FaultInjector,
        log: RequestLog,
        iterators: listing.Iterators,
        clock: Callable[[], float],
        stopping: threading.Event,
        latency: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.lock = lock
        self.state = state
        self.limiter = limiter
        self.faults = faults
        self.log = log
        self.iterators = iterators
        self.clock = clock
        self.stopping = stopping
        self.latency = latency  # seconds a request travels before it is handled (and an upsert's pause)
        self._carried_out = 0

    def handle(self, request: Request) -> Response:
        arrival = self.clock()
        raw_path, _, raw_query = request.target.partition("?")
        query = parse_qs(raw_query, keep_blank_values=True)
        route = parse_route(request.method, path_segments(raw_path))
        body = _json_or_none(request.body)
        has_offset = bool((query.get("offset") or [""])[0]) or (isinstance(body, dict) and bool(body.get("offset")))
        with self.lock:
            fault = self.faults.take(request.method, raw_path, unquote(raw_path), has_offset)
        if fault is not None and fault.kind == "delay":
            self.stopping.wait(fault.seconds)
        travel = self.latency()
        if travel > 0:
            self.stopping.wait(travel)
        applied = False
        order = None
        if fault is not None and fault.kind != "delay" and not fault.after_apply:
            response = _fault_response(fault)
        else:
            with self.lock:
                try:
                    result = self._process(request, route, query, arrival)
                    response = Response(200, result)
                    applied = True
                    self._carried_out += 1
                    order = self._carried_out
                except errors.ApiError as exc:
                    response = Response(exc.status, exc.body, exc.headers)
            if fault is not None and fault.after_apply:
                response = Response(None)
        with self.lock:
            self.log.add(
                LoggedRequest(
                    method=request.method,
                    path=raw_path,
                    query=query,
                    body=body,
                    status=response.status,
                    arrival=arrival,
                    base_id=route.base_id if route else None,
                    headers=dict(request.headers),
                    fault=fault.kind if fault else None,
                    applied=applied,
                    order=order,
                )
            )
        return response

    # ------------------------------------------------------------------ pipeline

    def _process(self, request: Request, route: Route | None, query: dict[str, list[str]], arrival: float) -> Any:
        quirks = self.state.quirks
        if route is None:
            raise errors.not_found()  # "The path is not valid." (§3.2)
        url_length = len("http://" + request.headers.get("host", "") + request.target)
        if quirks.max_url_length is not None and url_length >= quirks.max_url_length:
            raise errors.url_too_long(url_length)
        if quirks.max_body_bytes is not None and len(request.body) > quirks.max_body_bytes:
            raise errors.payload_too_large()
        token = self._authenticate(request)
        remaining = self.limiter.check(route.base_id, token.user_id, arrival)
        if remaining is not None:
            exc = errors.rate_limited()
            exc.headers.update(self.limiter.retry_after_header(remaining))
            raise exc
        if route.kind == "whoami":  # no scope needed; never `scopes` for PATs (§5.3)
            me = {"id": token.user_id}
            if SCOPE_EMAIL in token.scopes and token.email:
                me["email"] = token.email
            return me
        if route.kind == "bases":
            _require(token, SCOPE_SCHEMA_READ)
            return {
                "bases": [
                    {"id": b.id, "name": b.name, "permissionLevel": token.permission_level}
                    for b in self.state.bases.values()
                    if token.grants(b.id)
                ]
            }
        base = self._base(route.base_id or "", token)
        if route.kind == "schema":
            _require(token, SCOPE_SCHEMA_READ)
            include = query.get("include", []) + query.get("include[]", [])
            return self.state.schema(base, include_visible_fields="visibleFieldIds" in include)
        writes = request.method in WRITE_METHODS and route.kind != "list_post"
        _require(token, SCOPE_WRITE if writes else SCOPE_READ)
        table = base.table(route.table_key or "")
        if table is None:
            raise errors.invalid_permissions() if quirks.unknown_table == "403" else errors.not_found()
        if writes and not token.can_write():
            if request.method == "POST":
                raise errors.not_permitted(
                    f"You are not permitted to create records in table {table.name} ({table.id})"
                )
            raise errors.not_permitted("You are not permitted to perform this operation")
        return self._dispatch(request, route, query, base, table)

    def _authenticate(self, request: Request) -> Token:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        token = self.state.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
        if token is None:
            raise errors.authentication_required()
        return token

    def _base(self, base_id: str, token: Token) -> Base:
        base = self.state.bases.get(base_id)
        if base is None:
            style = self.state.quirks.unknown_base
            raise (
                errors.invalid_permissions()
                if style == "403"
                else errors.not_found("bare" if style == "bare404" else "typed")
            )
        if not token.grants(base.id):
            raise errors.invalid_permissions()
        return base

    def _dispatch(
        self,
        request: Request,
        route: Route,
        query: dict[str, list[str]],
        base: Base,
        table: Table,
    ) -> Any:
        state, method = self.state, request.method
        if route.kind == "list_post":
            raw = listing.raw_from_body(_body(request), query, state.quirks.strict_body_keys)
            params = listing.resolve(state, table, raw)
            return listing.list_records(state, self.iterators, table, params)
        if route.kind == "table":
            if method == "GET":
                params = listing.resolve(state, table, listing.raw_from_query(query))
                return listing.list_records(state, self.iterators, table, params)
            if method == "POST":
                return records.create(state, table, _body(request))
            if method in ("PATCH", "PUT"):
                between = None if state.quirks.upsert_atomic else self._pause_upsert
                return records.update_batch(state, table, _body(request), replace=method == "PUT", between=between)
            if method == "DELETE":
                ids = query.get("records[]", []) + query.get("records", [])
                return records.delete_batch(state, table, ids)
        if route.kind == "record" and route.record_id is not None:
            if method == "GET":
                return self._get_record(base, table, route.record_id, query)
            if method in ("PATCH", "PUT"):
                return records.update_one(state, table, route.record_id, _body(request), replace=method == "PUT")
            if method == "DELETE":
                return records.delete_one(state, table, route.record_id)
        raise errors.not_found()

    def _pause_upsert(self) -> None:
        """Between an upsert's matching and its writes: let other requests run (the caller holds the lock once)."""
        self.lock.release()
        try:
            self.stopping.wait(self.latency())
        finally:
            self.lock.acquire()

    def _get_record(self, base: Base, table: Table, record_id: str, query: dict[str, list[str]]) -> dict[str, Any]:
        owner = table if record_id in table.records else None
        if owner is None and self.state.quirks.get_record_base_fallback:
            owner = next((t for t in base.tables if record_id in t.records), None)  # §1.3 quirk
        if owner is None:
            raise errors.record_not_found()
        by_id = (query.get("returnFieldsByFieldId") or [None])[0]
        cell_format = (query.get("cellFormat") or ["json"])[0]
        if cell_format not in ("json", "string"):
            raise errors.invalid_request()
        return self.state.render_record(
            owner,
            owner.records[record_id],
            by_id=False if by_id is None else listing.parse_bool(by_id),
            cell_format=cell_format,
            time_zone=(query.get("timeZone") or [None])[0],
        )


def _require(token: Token, scope: str) -> None:
    if scope not in token.scopes:
        raise errors.invalid_permissions()


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _body(request: Request) -> dict[str, Any]:
    if not request.body.strip():
        return {}
    try:
        body = json.loads(request.body)
    except ValueError:
        raise errors.invalid_json() from None
    if not isinstance(body, dict):
        raise errors.invalid_request()
    return body


def _fault_response(fault: Fault) -> Response:
    if fault.kind == "drop":
        return Response(None)
    if fault.kind == "iterator_expired":
        exc = errors.iterator_not_available()
    else:
        exc = errors.server_error(fault.status or 500)
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    body = fault.body if fault.body is not None else exc.body
    return Response(exc.status, body, headers)
