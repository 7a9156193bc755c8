"""A wall-clock limit on one HTTP request: connecting, sending, the headers and the whole body.

Socket timeouts bound each read, and a server that sends one byte a second restarts them with every
byte; urllib3's `Timeout(total=...)` becomes the same per-read timeouts, and neither requests nor
urllib3 offers a limit on a request as a whole. So a timer thread shuts the request's socket down when
its time is up: the read blocked in the calling thread returns at once with an error, and the adapter
(pipe.clients.http) reports the time limit instead of that error.

The socket is found through urllib3's public extension points: connection pools whose `ConnectionCls`
registers each connection with the limit of the request being sent in this thread (`WATCHED_POOL_CLASSES`,
set as a pool manager's `pool_classes_by_scheme`). Name resolution (getaddrinfo) cannot be interrupted
this way; connecting is bounded by the connect timeout, which the adapter caps at the time left.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class WallClockLimit:
    """`with WallClockLimit(seconds) as limit:` send one request in this thread; `limit.expired` tells
    whether the time ran out (its socket was then shut down)."""

    def __init__(self, seconds: float):
        self.seconds = max(0.0, seconds)
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._finished = False
        self._timer = threading.Timer(self.seconds, self._expire)
        self._timer.daemon = True

    @property
    def expired(self) -> bool:
        with self._lock:
            return self._expired

    def __enter__(self) -> WallClockLimit:
        _current.limit = self
        self._timer.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        with self._lock:
            self._finished = True
        self._timer.cancel()
        _current.limit = None

    def attach(self, connection: HTTPConnection) -> None:
        """The request goes out on `connection`: shut its socket down when the time is up (at once if it is).
        The socket is kept, not the connection: http.client lets go of it (`connection.sock = None`) while
        the response is still being read from it, when the server closes the connection after answering."""
        sock = _socket_of(connection)
        if sock is None:
            return  # not connected yet: `connect()` attaches it again
        with self._lock:
            if self._finished:
                return
            self._sockets.append(sock)
            if self._expired:
                _shut_down(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._expired = True
            for sock in self._sockets:
                _shut_down(sock)


def _socket_of(connection: HTTPConnection) -> socket.socket | None:
    sock: Any = connection.sock
    while sock is not None and not isinstance(sock, socket.socket):
        sock = getattr(sock, "socket", None)  # urllib3's SSLTransport (TLS through a TLS proxy) wraps a socket
    return sock


def _shut_down(sock: socket.socket) -> None:
    """Wake up whatever blocks on the socket: shutdown(), unlike close(), makes a read that is already waiting
    in another thread return. The TLS layer is bypassed (socket.socket.shutdown on an SSLSocket), so no TLS
    state is touched from this thread."""
    with contextlib.suppress(OSError):  # already closed: nothing blocks on it
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _attach(connection: HTTPConnection) -> None:
    limit: WallClockLimit | None = getattr(_current, "limit", None)
    if limit is not None:
        limit.attach(connection)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


WATCHED_POOL_CLASSES: dict[str, type[HTTPConnectionPool]] = {
    "http": _WatchedHTTPConnectionPool,
    "https": _WatchedHTTPSConnectionPool,
}
