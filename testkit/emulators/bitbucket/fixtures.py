"""pytest support: `bitbucket_emulator`, `bitbucket_emulator_factory` and the `bitbucket_emulator` marker.

Enable with ``pytest_plugins = ["testkit.emulators.bitbucket.fixtures"]`` in the root ``conftest.py``.

    @pytest.mark.bitbucket_emulator(proxy=True, rate_limits=RateLimits(limit=5))
    def test_x(bitbucket_emulator): ...

Options (marker keywords, an indirect-parametrize dict, or factory keywords) are `BitbucketEmulator`
keywords plus ``seed`` (dict or path; default the sample seed, ``None`` for an empty emulator),
``proxy=True`` (an auth proxy for the sample repository; or pass a `ProxyConfig`) and
``allow_spec_violations=True``. Without that flag the fixture FAILS the test at teardown if the
emulator recorded any spec violation (a request or response the Swagger file does not allow).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .config import ProxyConfig
from .emulator import BitbucketEmulator

MARKER = "bitbucket_emulator"
SAMPLE_SEED_PATH = Path(__file__).with_name("sample_seed.json")
SAMPLE_WORKSPACE = "acme"
SAMPLE_REPO = "widgets"
SAMPLE_OTHER_REPO = "gadgets"
SAMPLE_MAIN_HEAD = "3f786850e387550fdab836ed7e6dc881de23001b"
SAMPLE_FEATURE_HEAD = "89e6c98d92887913cadf06b2adb97f26cde4849b"
SAMPLE_OPEN_PR = 7
SAMPLE_MERGED_PR = 5
SAMPLE_DECLINED_PR = 6
SAMPLE_DELETED_PR = 4
SAMPLE_CUSTOM_PIPELINE = "sync-release"
#: token values from sample_seed.json (obviously fake, not secrets)
SAMPLE_FULL_TOKEN = "fake-bitbucket-token-full"
SAMPLE_READ_TOKEN = "fake-bitbucket-token-read-only"
SAMPLE_OTHER_REPO_TOKEN = "fake-bitbucket-token-gadgets"

EmulatorFactory = Callable[..., BitbucketEmulator]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options for the bitbucket_emulator fixture (BitbucketEmulator keywords, "
        "seed=<dict, path or None>, proxy=True or a ProxyConfig, allow_spec_violations=True)",
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


def sample_proxy(**overrides: Any) -> ProxyConfig:
    """An auth proxy for the sample repository (Code Insights only unless `allow=` says otherwise)."""
    return ProxyConfig(SAMPLE_WORKSPACE, SAMPLE_REPO, **overrides)


@pytest.fixture
def bitbucket_emulator_factory() -> Iterator[EmulatorFactory]:
    """`make(seed=SAMPLE_SEED_PATH, proxy=None, allow_spec_violations=False, **options)`; all stop after the test."""
    started: list[tuple[BitbucketEmulator, bool]] = []

    def make(
        seed: Any = SAMPLE_SEED_PATH,
        proxy: ProxyConfig | bool | None = None,
        allow_spec_violations: bool = False,
        **options: Any,
    ) -> BitbucketEmulator:
        config = sample_proxy() if proxy is True else proxy or None
        emulator = BitbucketEmulator(proxy=config, **options)
        if seed is not None:
            emulator.load_seed(seed)
        started.append((emulator.start(), allow_spec_violations))
        return emulator

    yield make
    for emulator, _ in started:
        emulator.stop()
    violations = [v for emulator, allowed in started if not allowed for v in emulator.spec_violations]
    if violations:
        listing = "\n".join(f"  - {v}" for v in violations)
        pytest.fail(f"the Bitbucket emulator recorded {len(violations)} spec violation(s):\n{listing}", pytrace=False)


@pytest.fixture
def bitbucket_emulator(
    request: pytest.FixtureRequest, bitbucket_emulator_factory: EmulatorFactory
) -> BitbucketEmulator:
    return bitbucket_emulator_factory(**marker_options(request))
