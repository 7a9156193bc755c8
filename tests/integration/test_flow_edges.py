"""Edges of a run: the kill switch and an unexpected error."""

from __future__ import annotations

import pipe.flow
import pipe.modes.sync
from pipe.flow import run
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN


def env_for(emulator, **extra):
    return {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": emulator.url,
        "BITBUCKET_BRANCH": "feature/recWorkItem000107-docs",
        **extra,
    }


def test_enabled_false_pauses_without_reading_anything(airtable_emulator, tmp_path, capsys):
    # Not even a git repository or a valid configuration is needed: nothing is looked at.
    assert run(env_for(airtable_emulator, ENABLED="False", STAGE="bogus"), tmp_path) == 0
    assert "ENABLED is false: the pipe is paused" in capsys.readouterr().out
    assert airtable_emulator.requests == []


def test_an_unexpected_error_is_reported_plainly_with_exit_1_and_no_token(
    airtable_emulator, git_repo_builder, monkeypatch, capsys
):
    repo = git_repo_builder("product")
    repo.commit("chore: base", {"a": "1"})
    repo.branch("feature/recWorkItem000107-docs")
    repo.commit("docs: more", {"b": "1"})

    def broken(*_args):
        raise RuntimeError(f"boom with {SAMPLE_READWRITE_TOKEN} inside")

    monkeypatch.setattr(pipe.modes.sync, "plan_run", broken)
    assert run(env_for(airtable_emulator, DEBUG="true"), repo.path) == 1
    out = capsys.readouterr().out
    assert "Internal error of the pipe (RuntimeError: boom with" in out
    assert "Traceback" in out and SAMPLE_READWRITE_TOKEN not in out
