"""The HTTP layer: a threaded stdlib server that feeds requests to the backend and applies faults."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .backend import Backend, LoggedRequest
from .errors import error_body
from .faults import Fault

BASE_PATH = "/apis/v1"
_Answer = tuple[int, bytes, dict[str, str]]  # status, body, extra headers


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # idle keep-alive connections must not block shutdown

    def __init__(self, address: tuple[str, int], backend: Backend):
        super().__init__(address, _RequestHandler)
        self.backend = backend

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that closed a kept-alive connection (a process exiting) is not an error worth a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True  # headers and body are separate writes; avoid the 40 ms delayed-ACK stall
    server: EmulatorServer

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._serve()

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve()

    def do_PATCH(self) -> None:  # noqa: N802
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr logging
        return

    def _serve(self) -> None:
        backend = self.server.backend
        arrived, started = time.time(), time.monotonic()
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        inside = url.path.startswith(BASE_PATH + "/")
        path = url.path[len(BASE_PATH) :] if inside else url.path
        fault = backend.faults.pick(self.command, path) if inside else None
        answer: _Answer | None = None  # None: drop the connection
        operation = owner = None
        try:
            if fault is not None and fault.kind == "delay":
                time.sleep(fault.delay)
            if inside:
                time.sleep(backend.travel_time())
            if fault is not None and fault.kind == "status":
                answer = _fault_answer(fault)
            elif fault is not None and fault.kind == "drop":
                answer = None
            elif not inside:
                backend.record(f"{self.command} {url.path} request: outside {BASE_PATH}")
                answer = (404, json.dumps(error_body(404)).encode(), {})
            else:
                outcome = backend.handle(self.command, path, url.query, body, self.headers)
                operation = outcome.operation.operation_id if outcome.operation else None
                owner = outcome.owner
                code, payload = backend.finish(outcome)
                answer = (
                    None
                    if fault is not None and fault.kind == "drop_after_apply"
                    else (code, payload, outcome.reply.headers)
                )
        except Exception as exc:  # an emulator bug: answer 500 and make the test fail
            backend.record(f"{self.command} {path} emulator error: {exc!r}\n{traceback.format_exc()}")
            answer = (500, json.dumps(error_body(500, repr(exc))).encode(), {})
        # Log before answering, so a client that reads the log after its response sees this request.
        with backend.lock:
            backend.requests.append(
                LoggedRequest(
                    method=self.command,
                    path=path,
                    query=parse_qs(url.query, keep_blank_values=True),
                    body=_loggable(body),
                    status=answer[0] if answer else None,
                    time=arrived,
                    duration=time.monotonic() - started,
                    operation=operation,
                    owner=owner,
                    fault=fault.kind if fault else None,
                )
            )
        if answer is None:
            self._drop()
        else:
            self._send(*answer)

    def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


def _fault_answer(fault: Fault) -> _Answer:
    headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    return fault.status, json.dumps(error_body(fault.status, fault.message)).encode(), headers


def _loggable(body: bytes) -> Any:
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text
