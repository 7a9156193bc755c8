"""A whole run with a KEY_PATTERN that backtracks catastrophically against a commit message ends quickly
with exit 2 and a clear message (before the fix it searched for hours). A subprocess, so that a regression
fails on the timeout instead of hanging the test session."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_run_with_a_backtracking_key_pattern_ends_with_a_clear_message(git_repo_builder):
    repo = git_repo_builder("product")
    repo.commit("chore: base", {"a": "1"})
    repo.branch("feature/docs")
    repo.commit("a" * 100_000 + "!", {"b": "1"})
    env = {
        **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
        "PYTHONPATH": str(ROOT),
        "DRY_RUN": "true",
        "KEY_PATTERN": "(a+)+$",
        "KEY_FIELD": "Key",
        "BITBUCKET_BRANCH": "feature/docs",
        "BITBUCKET_COMMIT": repo.head(),
    }
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pipe"], cwd=repo.path, env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stdout + done.stderr
    assert "KEY_PATTERN: searching the message of commit " in done.stdout
    assert "for '(a+)+$' took longer than 2s: the pattern backtracks" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert elapsed < 15, f"{elapsed:.1f}s"
