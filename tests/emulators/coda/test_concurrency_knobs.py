"""Knobs for concurrency tests: random latency per request and random extra delay per mutation."""

from __future__ import annotations

import time

import pytest

from testkit.emulators.coda import Options
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH, EmulatorFactory
from tests.emulators.coda.conftest import DOC, Api, fake_token


def test_latency_delays_every_request_by_a_random_time_within_its_bounds(
    coda_emulator_factory: EmulatorFactory,
) -> None:
    emu = coda_emulator_factory(seed=SAMPLE_SEED_PATH, rate_limits=None, latency=(0.1, 0.2), fault_seed=4)
    token = fake_token()
    emu.add_token(token)
    api = Api(emu.url, token)
    took = []
    for _ in range(3):
        start = time.monotonic()
        assert api.get(f"/docs/{DOC}").status_code == 200
        took.append(time.monotonic() - start)
    assert all(0.1 <= t < 0.6 for t in took), took
    assert len({round(t, 3) for t in took}) > 1


def test_mutation_jitter_spreads_when_writes_land(coda_emulator_factory: EmulatorFactory) -> None:
    emu = coda_emulator_factory(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=5.0, mutation_jitter=10.0)
    token = fake_token()
    emu.add_token(token)
    api = Api(emu.url, token)
    for n in range(4):
        reply = api.upsert([{"Release": "9.9.9", "Entry Key": f"k{n}"}], ["Release", "Entry Key"])
        assert reply.status_code == 202
    delays = [m["due"] - m["queuedAt"] for m in emu.pending_mutations()]
    assert len(delays) == 4 and all(5.0 <= d <= 15.0 for d in delays)
    assert len({round(d, 3) for d in delays}) == 4


@pytest.mark.parametrize("options", [{"latency": (0.3, 0.1)}, {"latency": (-1.0, 1.0)}, {"mutation_jitter": -1.0}])
def test_bad_timing_options_are_refused(options: dict) -> None:
    with pytest.raises(ValueError):
        Options(**options)
