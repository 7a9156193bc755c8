"""pipe.clients.process: a child started with posix_spawn, read as subprocess.communicate reads it."""

from __future__ import annotations

import os
import sys
import time

import pytest

from pipe.clients.process import CHUNK, Process


def python(script: str, input: bytes | None = None) -> Process:
    return Process([sys.executable, "-c", script], env=dict(os.environ), input=input)


def test_records_across_chunks_are_those_of_the_whole_output() -> None:
    # records longer than a chunk, a multi-byte character and an invalid byte on chunk boundaries
    expression = f'b"a" * {CHUNK - 1} + "é".encode() + b"\\0" + b"\\xff" * 3 + b"b" * {CHUNK} + b"\\0\\0end"'
    data = eval(expression)  # noqa: S307 (a literal of this test)
    proc = python(f"import sys; sys.stdout.buffer.write({expression})")
    assert list(proc.records("\0")) == data.decode("utf-8", errors="replace").split("\0")
    assert proc.status == 0


def test_stderr_is_read_beside_stdout_and_the_status_kept() -> None:
    # 200,000 bytes of stderr would block a child whose stderr is read only after its stdout
    proc = python("import sys; sys.stdout.write('one\\0two'); sys.stderr.write('x' * 200000); sys.exit(3)")
    assert list(proc.records("\0")) == ["one", "two"]
    assert proc.status == 3 and proc.stderr == b"x" * 200000


def test_input_larger_than_a_pipe_is_fed_while_the_output_is_read() -> None:
    data = os.urandom(CHUNK * 8)
    proc = python("import sys; sys.stdout.buffer.write(sys.stdin.buffer.read() * 2)", input=data)
    assert proc.output() == (0, data * 2)


def test_without_input_the_child_reads_an_empty_stdin() -> None:
    assert python("import sys; print(len(sys.stdin.read()))").output() == (0, b"0\n")


def test_a_timeout_kills_the_child() -> None:
    proc = python("import time; time.sleep(30)")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        proc.output(timeout=0.2)
    assert time.monotonic() - started < 10
    with pytest.raises(ChildProcessError):  # reaped: no zombie left behind
        os.waitpid(proc.pid, os.WNOHANG)


def test_a_reader_that_stops_early_stops_the_child() -> None:
    proc = python("import sys\nwhile True: sys.stdout.write('x\\0')")
    records = proc.records("\0")
    assert next(records) == "x"
    records.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(proc.pid, os.WNOHANG)


def test_a_missing_program_raises_oserror() -> None:
    with pytest.raises(OSError):
        Process(["no-such-program-here"], env=dict(os.environ))


@pytest.mark.parametrize("closed", [(0,), (1,), (2,), (0, 1), (1, 2), (0, 2), (0, 1, 2)])
@pytest.mark.parametrize("given", [None, b"in"])
def test_a_parent_without_standard_streams_still_reads_its_child(tmp_path, closed, given) -> None:
    """This process started with some of stdin, stdout and stderr closed: its pipes take those numbers,
    and the child must still get its own three streams."""
    import subprocess

    result = tmp_path / "result"
    child = "import sys; print('out', sys.stdin.read()); print('err', file=sys.stderr)"
    script = (
        "import os, sys\n"
        "from pipe.clients.process import Process\n"
        f"for fd in {closed!r}: os.close(fd)\n"
        f"proc = Process([sys.executable, '-c', {child!r}], env=dict(os.environ), input={given!r})\n"
        "status, out = proc.output()\n"
        f"open({str(result)!r}, 'w').write(repr((status, out, bytes(proc.stderr))))\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
    expected_in = (given or b"").decode()
    assert result.read_text() == repr((0, f"out {expected_in}\n".encode(), b"err\n"))
