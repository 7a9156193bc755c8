"""The HTTP layer: two threaded stdlib listeners (the API and the auth proxy) in front of one backend.

The proxy listener accepts the proxy form of a request (`GET http://api.bitbucket.org/2.0/… HTTP/1.1`,
what an HTTP client sends through `proxies=`) and the origin form (`GET /2.0/…`). It refuses `CONNECT`
and hosts outside `ProxyConfig.upstream_hosts` before anything reaches the backend.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
import traceback
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .backend import Backend
from .config import ProxyConfig
from .errors import RATE_LIMITED_TEXT, error_body
from .faults import Fault, FaultInjector
from .requestlog import LoggedRequest, RequestLog

BASE_PATH = "/2.0"
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass
class _Answer:
    status: int
    payload: bytes
    content_type: str
    headers: dict[str, str]


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not block shutdown
    request_queue_size = 128  # several pipe processes connect at once

    def __init__(
        self,
        address: tuple[str, int],
        backend: Backend,
        faults: FaultInjector,
        log: RequestLog,
        *,
        listener: str,
        proxy: ProxyConfig | None = None,
    ):
        super().__init__(address, _RequestHandler)
        self.backend, self.faults, self.log = backend, faults, log
        self.listener, self.proxy = listener, proxy
        host, port = str(self.server_address[0]), int(self.server_address[1])
        self.base_url = f"http://{host}:{port}{BASE_PATH}"


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True  # headers and body are separate writes; avoid the delayed-ACK stall
    server: EmulatorServer

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET  # noqa: N815

    def do_CONNECT(self) -> None:  # noqa: N802
        """HTTPS through the proxy: refused (the proxy could not add credentials inside TLS)."""
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = self.server.proxy.refusal_status if self.server.proxy else 405
        detail = "The Pipelines auth proxy (emulated) serves plain http://api.bitbucket.org/ requests only."
        answer = _json_answer(status, error_body("Forbidden", detail))
        self._log(time.time(), time.monotonic(), self.path, "", b"", answer, None, None, None, False)
        self.close_connection = True
        self._send(answer)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        return

    def _serve(self) -> None:
        server, backend = self.server, self.server.backend
        arrived, started = time.time(), time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = urlsplit(self.path)
        api_base, refusal = self._api_base(target)
        inside = target.path.startswith(BASE_PATH + "/") or target.path == BASE_PATH
        path = target.path[len(BASE_PATH) :] if inside else target.path
        fault = server.faults.pick(self.command, path, server.listener) if inside and refusal is None else None
        answer: _Answer | None = None  # None: drop the connection
        operation = identity = None
        applied = False
        try:
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.delay)
            if refusal is not None:
                answer = refusal
            elif fault is not None and fault.kind == "status":
                answer = _fault_answer(fault)
            elif fault is not None and fault.kind == "drop":
                answer = None
            elif not inside:
                backend.record(f"{self.command} {target.path} request: outside {BASE_PATH}")
                answer = _json_answer(404, error_body("Resource not found"))
            else:
                outcome = backend.handle(
                    self.command,
                    path,
                    target.query,
                    body,
                    {name.lower(): value for name, value in self.headers.items()},
                    listener=server.listener,
                    api_base=api_base,
                )
                operation = outcome.route.name if outcome.route else None
                identity, applied = outcome.identity, outcome.reply.applied
                status, payload, content_type = backend.finish(outcome)
                dropped = fault is not None and fault.kind == "drop_after_apply"
                answer = None if dropped else _Answer(status, payload, content_type, outcome.reply.headers)
        except Exception as exc:  # an emulator bug: answer 500 and make the test fail
            backend.record(f"{self.command} {path} emulator error: {exc!r}\n{traceback.format_exc()}")
            answer = _json_answer(500, error_body("Internal emulator error", repr(exc)))
        # Log before answering, so a client that reads the log after its response sees this request.
        self._log(arrived, started, path, target.query, body, answer, operation, identity, fault, applied)
        if answer is None:
            self._drop()
        else:
            self._send(answer)

    def _api_base(self, target: Any) -> tuple[str, _Answer | None]:
        """The base URL links should use, and a refusal for a proxy-form request to another host."""
        server = self.server
        if not target.scheme:
            return server.base_url, None
        proxy = server.proxy
        if server.listener != "proxy" or proxy is None:
            return server.base_url, _json_answer(400, error_body("Bad request", "absolute URL on the API listener"))
        if target.scheme != "http" or target.hostname not in proxy.upstream_hosts:
            detail = f"The Pipelines auth proxy (emulated) forwards only to {', '.join(proxy.upstream_hosts)}."
            return server.base_url, _json_answer(proxy.refusal_status, error_body("Forbidden", detail))
        return f"http://{target.netloc}{BASE_PATH}", None

    def _log(
        self,
        arrived: float,
        started: float,
        path: str,
        query: str,
        body: bytes,
        answer: _Answer | None,
        operation: str | None,
        identity: str | None,
        fault: Fault | None,
        applied: bool,
    ) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        if "authorization" in headers:
            headers["authorization"] = headers["authorization"].split(" ", 1)[0] + " <redacted>"
        self.server.log.add(
            LoggedRequest(
                method=self.command,
                path=path,
                query=parse_qs(query, keep_blank_values=True),
                body=_loggable(body),
                status=answer.status if answer else None,
                time=arrived,
                duration=time.monotonic() - started,
                operation=operation,
                identity=identity,
                listener=self.server.listener,
                fault=fault.kind if fault else None,
                applied=applied,
                headers=headers,
            )
        )

    def _send(self, answer: _Answer) -> None:
        try:
            self.send_response(answer.status)
            if answer.payload:
                self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired during a delay fault)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _json_answer(status: int, body: Any, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(body).encode("utf-8"), JSON_TYPE, headers or {})


def _fault_answer(fault: Fault) -> _Answer:
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    if fault.body is not None:
        return _json_answer(fault.status, fault.body, headers)
    if fault.status == 429:
        return _Answer(429, (fault.message or RATE_LIMITED_TEXT).encode("utf-8"), TEXT_TYPE, headers)
    try:
        phrase = HTTPStatus(fault.status).phrase
    except ValueError:
        phrase = "Error"
    return _json_answer(fault.status, error_body(fault.message or phrase), headers)


def _loggable(body: bytes) -> Any:
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
