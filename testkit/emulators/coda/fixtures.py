"""pytest support: `coda_emulator`, `coda_emulator_factory` and the `coda_emulator` marker.

Enable with ``pytest_plugins = ["testkit.emulators.coda.fixtures"]`` in the root ``conftest.py``, or
import the fixtures and ``pytest_configure`` (which registers the marker) into a conftest.

    @pytest.mark.coda_emulator(seed=SAMPLE_SEED_PATH, mutation_delay=0, rate_limits=None)
    def test_x(coda_emulator): ...

Marker keywords (or an indirect-parametrize dict) are `CodaEmulator` keywords plus ``seed`` (dict or
path) and ``allow_spec_violations=True``. Without that flag the fixture FAILS the test at teardown if
the emulator recorded any spec violation (a request or response that does not match the OpenAPI
contract). Defaults are the emulator's: empty, production rate limits, 0.05 s mutation delay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .emulator import CodaEmulator

MARKER = "coda_emulator"
SAMPLE_SEED_PATH = Path(__file__).with_name("sample_seed.json")
SAMPLE_DOC_ID = "Rn7Q2xWk4T"
SAMPLE_TABLE = "Changelog"
SAMPLE_PAGE = "Release Notes"

EmulatorFactory = Callable[..., CodaEmulator]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for the coda_emulator fixture (CodaEmulator keywords, "
        "seed=<dict or path>, allow_spec_violations=True)",
    )


def marker_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options: dict[str, Any] = {}
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        options.update(param)
    return options


@pytest.fixture
def coda_emulator_factory() -> Iterator[EmulatorFactory]:
    """`make(seed=None, allow_spec_violations=False, **options)` starts an emulator; all stop after the test."""
    started: list[tuple[CodaEmulator, bool]] = []

    def make(seed: Any = None, allow_spec_violations: bool = False, **options: Any) -> CodaEmulator:
        emulator = CodaEmulator.from_seed(seed, **options) if seed is not None else CodaEmulator(**options)
        started.append((emulator.start(), allow_spec_violations))
        return emulator

    yield make
    for emulator, _ in started:
        emulator.stop()
    violations = [v for emulator, allowed in started if not allowed for v in emulator.spec_violations]
    if violations:
        listing = "\n".join(f"  - {v}" for v in violations)
        pytest.fail(f"the Coda emulator recorded {len(violations)} spec violation(s):\n{listing}", pytrace=False)


@pytest.fixture
def coda_emulator(request: pytest.FixtureRequest, coda_emulator_factory: EmulatorFactory) -> CodaEmulator:
    return coda_emulator_factory(**marker_options(request))
