"""Run git and hand its output over record by record while git is still writing it.

`GitRepo.log` of a plain repository (the release CLI) reads `git log -z` this way: parsing 10,000
commits then overlaps git's own ~100 ms instead of following it. stdout and stderr are read as they
come (as `subprocess.communicate` does), so a git that writes much to stderr never blocks.
"""

from __future__ import annotations

import codecs
import os
import selectors
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence

CHUNK = 1 << 16


def records(
    command: Sequence[str],
    *,
    cwd: str | None,
    env: Mapping[str, str],
    separator: str,
    failed: Callable[[int, bytes], Exception],
) -> Iterator[str]:
    """The `separator`-separated records of `command`'s stdout, decoded as UTF-8 (invalid bytes
    replaced), empty ones included, as they arrive. When the command exits non-zero, raises
    `failed(status, stderr)` after the records it wrote; OSError when it cannot start."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    err = bytearray()
    pending = ""
    with (
        subprocess.Popen(
            command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        ) as proc,
        selectors.DefaultSelector() as selector,
    ):
        assert proc.stdout is not None and proc.stderr is not None
        out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
        selector.register(out_fd, selectors.EVENT_READ)
        selector.register(err_fd, selectors.EVENT_READ)
        open_streams = 2
        while open_streams:
            for key, _ in selector.select():
                chunk = os.read(key.fd, CHUNK)
                if not chunk:
                    selector.unregister(key.fd)
                    open_streams -= 1
                elif key.fd == err_fd:
                    err += chunk
                else:
                    *done, pending = (pending + decoder.decode(chunk)).split(separator)
                    yield from done
        pending += decoder.decode(b"", final=True)
        status = proc.wait()
    yield pending
    if status != 0:
        raise failed(status, bytes(err))
