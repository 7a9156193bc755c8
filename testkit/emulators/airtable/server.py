"""HTTP plumbing: a threaded ``http.server`` that hands every request to :class:`App`."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .app import App, Request
from .errors import JSON_CONTENT_TYPE


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default of 5 makes concurrent clients wait for SYN retries

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app


class _Handler(BaseHTTPRequestHandler):
    server: EmulatorHTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection: simple and drop-friendly
    server_version = "Tengine"  # §3.3: real responses carry Server: Tengine
    sys_version = ""

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            target=self.path,
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        response = self.server.app.handle(request)
        if response.status is None:  # injected drop: close without a byte of answer
            self.close_connection = True
            return
        self._send(response.status, response.body, response.headers)

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", JSON_CONTENT_TYPE)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired during a delay fault)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class name
        """Silence the default stderr access log; the emulator keeps its own log."""
