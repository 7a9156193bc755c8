"""Time scaling for pipe processes started by tests: Python imports `sitecustomize` at start-up from the
first folder on `sys.path` that has one, so a process started with this folder on PYTHONPATH and
PIPE_TEST_TIME_SCALE set (e.g. `0.05`) runs the real pipe with its own waits scaled by that factor: the
pacing of Airtable and Coda requests, the wait after a 429 without Retry-After, the backoff, the polling of
Coda writes and the wait between fresh reads of a busy Coda doc (the pipe has variables for none of these but
AIRTABLE_RATE_LIMIT_WAIT). Tests scale the emulators' windows, lockouts and delays by the same factor, so the
pipe's pacing keeps under the emulators' limits as it keeps under the real ones. Without the variable, or
outside tests, nothing is changed. See testkit/concurrency.py.
"""

from __future__ import annotations

import contextlib
import os

_SCALE = os.environ.get("PIPE_TEST_TIME_SCALE")
_patches = contextlib.ExitStack()  # kept open for the life of the process

if _SCALE:
    from testkit.timescale.scaling import scale_pipe_waits

    _patches.enter_context(scale_pipe_waits(float(_SCALE)))
