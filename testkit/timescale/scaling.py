"""`scale_pipe_waits(scale)`: the pipe's own waits multiplied by `scale` while the block runs (see
sitecustomize.py in this folder, which applies it to whole processes). It imports only the pipe, so a process
starts as fast as without it (testkit.fault_scenario.pipe_pacing does the same in-process, with counters)."""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pipe.modes.sync as sync
import pipe.sinks.coda_page as coda_page
import pipe.sinks.coda_rows as coda_rows
from pipe.clients.airtable import airtable_policy
from pipe.clients.coda import CodaLimits, MutationPolling, coda_policy
from pipe.clients.http import HttpPolicy


def _scaled_sink(sink: type[Any], scale: float) -> type[Any]:
    """`sink` (CodaPageSink or CodaRowSink) with its waits for a busy doc scaled: its defaults times `scale`."""
    defaults = inspect.signature(sink).parameters
    waits = {n: defaults[n].default * scale for n in ("fresh_read_interval", "fresh_read_timeout") if n in defaults}

    class Scaled(sink):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **{**waits, **kwargs})

    Scaled.__name__ = Scaled.__qualname__ = sink.__name__
    return Scaled


@contextlib.contextmanager
def scale_pipe_waits(scale: float) -> Iterator[None]:
    if not 0 < scale <= 1:
        raise ValueError(f"PIPE_TEST_TIME_SCALE must be in (0, 1], not {scale}")

    def backoff(policy: HttpPolicy) -> HttpPolicy:
        policy.backoff_base *= scale
        policy.backoff_cap *= scale
        return policy

    def airtable(rate_limit_wait: float, deadline: float | None = None, **pace: Any) -> HttpPolicy:
        # AIRTABLE_RATE_LIMIT_WAIT is the caller's already
        return backoff(airtable_policy(rate_limit_wait, deadline, **{**pace, "window": 1.0 * scale}))

    def coda(deadline: float | None = None, *, limits: CodaLimits | None = None, rate_limit_wait: float = 10.0):
        limits = (limits or CodaLimits()).scaled(scale)
        return backoff(coda_policy(deadline, limits=limits, rate_limit_wait=rate_limit_wait * scale))

    def polling() -> MutationPolling:
        base = MutationPolling()
        return dataclasses.replace(
            base,
            first_delay=base.first_delay * scale,
            interval=base.interval * scale,
            max_interval=base.max_interval * scale,
        )

    with (
        mock.patch.object(sync, "airtable_policy", airtable),
        mock.patch.object(sync, "coda_policy", coda),
        mock.patch.object(coda_rows, "MutationPolling", polling),
        mock.patch.object(coda_page, "MutationPolling", polling),
        mock.patch.object(coda_page, "CodaPageSink", _scaled_sink(coda_page.CodaPageSink, scale)),
        mock.patch.object(coda_rows, "CodaRowSink", _scaled_sink(coda_rows.CodaRowSink, scale)),
    ):
        yield
