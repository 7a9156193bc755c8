"""A real HTTP server on 127.0.0.1 that answers slowly: headers at once, then the body one byte at a time
(or the headers themselves one byte at a time), to prove that a request is bounded by the wall clock and
not only by socket timeouts, which every byte restarts.

Bounded by itself: each answer drips at most `body_bytes` bytes, and the server stops after `lifetime`
seconds even if nobody stops it.

    with SlowDripServer(interval=1.0) as server:
        requests.get(server.url + "/v0/meta/whoami")
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from types import TracebackType


class SlowDripServer:
    def __init__(
        self,
        *,
        interval: float = 1.0,
        body_bytes: int = 120,
        drip_headers: bool = False,
        lifetime: float = 180.0,
    ):
        self.interval = interval
        self.body_bytes = body_bytes
        self.drip_headers = drip_headers
        self.lifetime = lifetime
        self.requests: list[str] = []  # request lines, in arrival order
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.drip = self
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SlowDripServer:
        serve = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        serve.start()
        deadline = threading.Timer(self.lifetime, self.stop)
        deadline.daemon = True
        deadline.start()
        self._threads = [serve]
        self._deadline = deadline
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._deadline.cancel()

    def __enter__(self) -> SlowDripServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- what one connection gets ------------------------------------------------------------------

    def answer(self, connection: socket.socket) -> None:
        body = b"{" + b" " * max(0, self.body_bytes - 2) + b"}"
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        )
        if self.drip_headers:
            self._drip(connection, head[:12])  # "HTTP/1.1 200": the status line never ends
            return
        connection.sendall(head)
        self._drip(connection, body)

    def _drip(self, connection: socket.socket, data: bytes) -> None:
        for index in range(len(data)):
            if self._stopping.wait(self.interval):
                return
            try:
                connection.sendall(data[index : index + 1])
            except OSError:
                return  # the client gave up: what the tests want


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    drip: SlowDripServer


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        connection: socket.socket = self.request
        connection.settimeout(10)
        received = b""
        started = time.monotonic()
        try:
            while b"\r\n\r\n" not in received and time.monotonic() - started < 10:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                received += chunk
        except OSError:
            return
        self.server.drip.requests.append(received.split(b"\r\n", 1)[0].decode("latin-1"))
        self.server.drip.answer(connection)
