"""Child processes for `python -m pipe.release` (a plain `GitRepo`), started with `os.posix_spawnp`.

Why not `subprocess`: importing it (it brings locale, signal, threading and selectors) costs ~6 ms, a
fifteenth of the latest release's notes, which only start git a handful of times, feed it a few lines
and read what it writes. A `Process` is started when it is made and read when its answer is needed, so
independent git calls run side by side; its stdout can also be read record by record while the child
is still writing (parsing 10,000 commits then overlaps git's own ~100 ms instead of following it).
stdout and stderr are read as they come, as `subprocess.communicate` does, so a child that writes
much to stderr never blocks. The pipe itself (GitPython) never uses this module.
"""

from __future__ import annotations

import codecs
import os
import select
import time
from collections.abc import Iterator, Mapping, Sequence

CHUNK = 1 << 16
_READ = select.POLLIN | select.POLLHUP | select.POLLERR
_KILL = 9  # SIGKILL, without importing signal


class Process:
    """`command` running with `env`, stdin `input` (else /dev/null), stdout and stderr piped.

    Raises OSError when it cannot start (no such program). Read it once: `output()` or `records()`.
    """

    def __init__(self, command: Sequence[str], *, env: Mapping[str, str], input: bytes | None = None) -> None:
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        in_r, in_w = os.pipe() if input is not None else (-1, -1)
        # The pipes are close-on-exec (Python's default); dup2 onto 0, 1 and 2 gives the child its own.
        # Should this process run with a standard stream closed, a pipe takes its number; the pipes are
        # made, and dup2'd, in the order 1, 2, 0, so an end is always dup2'd before its number is reused.
        actions: list[tuple] = [(os.POSIX_SPAWN_DUP2, out_w, 1), (os.POSIX_SPAWN_DUP2, err_w, 2)]
        if input is None:
            actions.append((os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0))
        else:
            actions.append((os.POSIX_SPAWN_DUP2, in_r, 0))
        try:
            self.pid = os.posix_spawnp(command[0], list(command), dict(env), file_actions=actions)
        except BaseException:
            for fd in (out_r, err_r, in_w):
                if fd >= 0:
                    os.close(fd)
            raise
        finally:
            for fd in (out_w, err_w, in_r):
                if fd >= 0:
                    os.close(fd)
        self._out, self._err, self._in = out_r, err_r, in_w
        self._input = memoryview(input or b"")
        self.status: int | None = None
        self.stderr = bytearray()

    def output(self, timeout: float | None = None) -> tuple[int, bytes]:
        """(exit status, stdout) once the child has exited; TimeoutError (the child killed) after
        `timeout` seconds. stderr is in `.stderr`."""
        out = bytearray()
        for chunk in self._chunks(timeout):
            out += chunk
        assert self.status is not None
        return self.status, bytes(out)

    def records(self, separator: str) -> Iterator[str]:
        """stdout's `separator`-separated records, decoded as UTF-8 (invalid bytes replaced), empty
        ones included, as they arrive; `.status` is set once the last one is given."""
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        pending = ""
        for chunk in self._chunks(None):
            *done, pending = (pending + decoder.decode(chunk)).split(separator)
            yield from done
        yield pending + decoder.decode(b"", final=True)

    def _chunks(self, timeout: float | None) -> Iterator[bytes]:
        """stdout as it comes; stderr into `.stderr`; `input` written as the child takes it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        poller = select.poll()
        poller.register(self._out, _READ)
        poller.register(self._err, _READ)
        if self._in >= 0:
            os.set_blocking(self._in, False)
            poller.register(self._in, select.POLLOUT | select.POLLERR)
        open_fds = {self._out, self._err} | ({self._in} if self._in >= 0 else set())
        try:
            while open_fds - {self._in}:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic()) * 1000
                events = poller.poll(wait)
                if not events and deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"still running after {timeout} s")
                for fd, event in events:
                    if fd == self._in:
                        self._feed(event, poller, open_fds)
                        continue
                    chunk = os.read(fd, CHUNK)
                    if not chunk:
                        poller.unregister(fd)
                        open_fds.discard(fd)
                    elif fd == self._err:
                        self.stderr += chunk
                    else:
                        yield chunk
            self.status = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        finally:
            for fd in open_fds:
                os.close(fd)
            if self.status is None:  # timed out, or the reader stopped early: stop the child
                os.kill(self.pid, _KILL)
                os.waitpid(self.pid, 0)

    def _feed(self, event: int, poller: select.poll, open_fds: set[int]) -> None:
        if not event & select.POLLERR:
            try:
                self._input = self._input[os.write(self._in, self._input[:CHUNK]) :]
            except BrokenPipeError:  # the child stopped reading: the rest is not wanted
                self._input = self._input[:0]
        if not self._input or event & select.POLLERR:
            poller.unregister(self._in)
            os.close(self._in)
            open_fds.discard(self._in)
