"""`python -m pipe.release` prints exactly what it printed before the speed work of issue 13, on a
small build of the benchmark's history (testkit/release_history.py: merges, reverts that cancel,
squashes, breaking changes, footers, record IDs, 40 release tags).

The expected outputs were recorded with the code before that work: the Markdown in full
(tests/integration/golden/), the JSON contexts as SHA-256 digests (they are ~400 KB). After a change
that is meant to change the output, record them again with `UPDATE_GOLDEN=1 ./dev test <this file>`
and review the diff of the Markdown.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from testkit.release_history import build_repository
from tests.integration.test_release_notes import cli

GOLDEN = Path(__file__).with_name("golden")
DIGESTS = GOLDEN / "release_history_digests.json"
ROUNDS = 4
URL = "https://bitbucket.org/team/app"

# name -> CLI arguments; `.md` names are compared as text, `.json` ones by digest
CASES = {
    "release_history_all.md": ["--all", "--repo-url", URL],
    "release_history_latest.md": ["--latest"],
    "release_history_tag.md": ["--latest", "--tag", "v0.2.5"],
    "release_history_all_context.json": ["--all", "--context", "--repo-url", URL],
    "release_history_latest_context.json": ["--latest", "--context", "--key-pattern", r"#\d+"],
}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("release-history") / "repo"
    build_repository(path, rounds=ROUNDS)
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_output_is_unchanged(history: Path, name: str) -> None:
    result = cli("--repo", str(history), *CASES[name])
    assert result.returncode == 0, result.stderr
    digests = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    if os.environ.get("UPDATE_GOLDEN"):
        if name.endswith(".md"):
            (GOLDEN / name).write_text(result.stdout)
        digests[name] = hashlib.sha256(result.stdout.encode()).hexdigest()
        DIGESTS.write_text(json.dumps(digests, indent=2, sort_keys=True) + "\n")
    if name.endswith(".md"):
        assert result.stdout == (GOLDEN / name).read_text()
    assert hashlib.sha256(result.stdout.encode()).hexdigest() == digests[name]
