"""The `start_work` fixture of the STAGE: start tests (see harness.py)."""

from __future__ import annotations

import pytest

from .harness import StartWork, airtable_seed


@pytest.fixture
def start_work(airtable_emulator_factory, bitbucket_emulator_factory, git_repo_builder, capsys, tmp_path) -> StartWork:
    """The Airtable sample base with `Branch URL` and the "Ready for Dev" view; an empty Bitbucket emulator holding
    acme/product (main with one commit) and a repository access token with the scope `repository:write`."""
    airtable = airtable_emulator_factory(seed=airtable_seed())
    bitbucket = bitbucket_emulator_factory(seed=None)
    return StartWork(airtable, bitbucket, git_repo_builder, capsys, tmp_path)
