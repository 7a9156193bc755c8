"""pytest fixtures for the Airtable emulator.

Use from any test package with ``pytest_plugins = ["testkit.emulators.airtable.fixtures"]`` in the
root ``conftest.py`` (or import the fixtures into a conftest).

* ``airtable_emulator_factory(seed=SAMPLE_SEED_PATH, **options)`` starts an emulator and returns
  it; every emulator it started is stopped after the test. Rate limits are **off** unless passed
  (``rate_limit_per_base=5, penalty_seconds=0.5``); ``seed=None`` starts empty.
* ``airtable_emulator``: one started emulator loaded with ``sample_seed.json``, rate limits off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .emulator import AirtableEmulator, SeedSource

SAMPLE_SEED_PATH = Path(__file__).with_name("sample_seed.json")
SAMPLE_BASE_ID = "appSampleProduct1"
SAMPLE_WORK_ITEMS_TABLE_ID = "tblWorkItems00001"
SAMPLE_RELEASES_TABLE_ID = "tblReleases000001"
#: token names from sample_seed.json (obviously fake values, not secrets)
SAMPLE_READWRITE_TOKEN = "fake-airtable-token-readwrite"
SAMPLE_READONLY_TOKEN = "fake-airtable-token-readonly"

EmulatorFactory = Callable[..., AirtableEmulator]


@pytest.fixture
def airtable_emulator_factory() -> Iterator[EmulatorFactory]:
    started: list[AirtableEmulator] = []

    def make(seed: SeedSource | None = SAMPLE_SEED_PATH, **options: Any) -> AirtableEmulator:
        options.setdefault("rate_limit_per_base", None)
        options.setdefault("rate_limit_per_token", None)
        emulator = AirtableEmulator(**options)
        if seed is not None:
            emulator.load_seed(seed)
        started.append(emulator.start())
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def airtable_emulator(airtable_emulator_factory: EmulatorFactory) -> AirtableEmulator:
    return airtable_emulator_factory()
