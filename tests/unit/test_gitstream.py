"""pipe.clients.gitstream: records as they arrive, the same as decoding and splitting the whole output."""

from __future__ import annotations

import os
import sys

import pytest

from pipe.clients import gitstream


class Failed(Exception):
    pass


def run(script: str, into: list[str] | None = None) -> list[str]:
    """The records of a Python script's stdout (appended to `into` as they come, when given)."""
    got = [] if into is None else into
    command = [sys.executable, "-c", script]
    got.extend(gitstream.records(command, cwd=None, env=dict(os.environ), separator="\0", failed=Failed))
    return got


def test_records_across_chunks_are_those_of_the_whole_output() -> None:
    # records longer than a chunk, a multi-byte character and an invalid byte on chunk boundaries
    expression = (
        f'b"a" * {gitstream.CHUNK - 1} + "é".encode() + b"\\0" + b"\\xff" * 3 + b"b" * {gitstream.CHUNK} + b"\\0\\0end"'
    )
    data = eval(expression)  # noqa: S307 (a literal of this test)
    script = f"import sys; sys.stdout.buffer.write({expression})"
    assert run(script) == data.decode("utf-8", errors="replace").split("\0")


def test_a_failure_is_raised_after_the_records_with_stderr() -> None:
    script = "import sys; sys.stdout.write('one\\0two'); sys.stderr.write('x' * 200000); sys.exit(3)"
    got: list[str] = []
    with pytest.raises(Failed) as caught:
        run(script, into=got)
    assert got == ["one", "two"]
    assert caught.value.args == (3, b"x" * 200000)
