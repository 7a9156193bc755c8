"""The `pipelines` fixture of the Bitbucket tests (see harness.py)."""

from __future__ import annotations

import pytest

from testkit.bitbucket_repo import pipe_proxy

from .harness import SLUG, WS, Pipelines, airtable_seed


@pytest.fixture
def pipelines(airtable_emulator_factory, bitbucket_emulator_factory, git_repo_builder, capsys) -> Pipelines:
    """The Airtable sample base (with PR State, Sync Error and FEAT-109 Blocked), an empty Bitbucket emulator with
    the auth proxy for acme/product, and a token with the `pullrequest` scope."""
    airtable = airtable_emulator_factory(seed=airtable_seed())
    bitbucket = bitbucket_emulator_factory(seed=None, proxy=pipe_proxy(WS, SLUG))
    return Pipelines(airtable, bitbucket, git_repo_builder, capsys)
