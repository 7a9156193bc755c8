"""Release notes from real repositories: Bitbucket merges, squash merges, reverts, the full
history, idempotent keys, and the `python -m pipe.release` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipe.clients.git import GitRepo
from pipe.references import compile_key_pattern
from pipe.release.compose import latest_release, release_history
from pipe.release.links import Links
from pipe.release.render import render_notes
from testkit.gitrepos import GitRepoBuilder, GitRepoFactory, bitbucket_merge_message
from tests.integration.test_release_range import counting

ROOT = Path(__file__).resolve().parents[2]
ID = "recAbCdEfGhIjKlMn"
LOGIN = f"feature/{ID}-login"


@pytest.fixture
def project(git_repo_builder: GitRepoFactory) -> GitRepoBuilder:
    """v1.0.0, then: a Bitbucket PR merge of two commits (one reverted inside the release), a
    squash merge, a plain commit, a git revert of a v1.0.0 commit, a merge whose only commit is
    reverted, and a non-conventional commit."""
    repo = git_repo_builder("origin")
    repo.commit("feat: first")
    old = repo.commit("feat(api): old endpoint")
    repo.tag("v1.0.0", annotated=True)

    repo.branch(LOGIN)
    repo.commit("feat(auth): login form\n\nRefs FEAT-7")
    oops = repo.commit("feat(auth): remember me")
    repo.checkout("main")
    repo.commit("fix: on main meanwhile")
    repo.merge(LOGIN, message=bitbucket_merge_message(LOGIN, 5, "Login"))
    repo.revert(oops)

    repo.branch("feature/export")
    repo.commit("feat: export part 1")
    repo.commit("feat: export part 2")
    repo.checkout("main")
    repo.squash_merge("feature/export", "feat(export): CSV export (pull request #12)")

    repo.revert(old)

    repo.branch("feature/doomed")
    doomed = repo.commit("feat: doomed idea")
    repo.checkout("main")
    repo.merge("feature/doomed", message=bitbucket_merge_message("feature/doomed", 6))
    repo.revert(doomed)

    repo.commit("Update README")
    return repo


def lines(notes) -> list[tuple[str, str, int | None]]:
    return [(g.title, e.description, e.pr_number) for g in notes.groups for e in g.entries]


def test_merges_squashes_and_reverts(project: GitRepoBuilder) -> None:
    found, notes = latest_release(GitRepo.open(project.path), key_pattern=compile_key_pattern(r"FEAT-\d+"))
    assert found.previous_tag.name == "v1.0.0"
    assert lines(notes) == [
        ("Features", "CSV export", 12),
        ("Features", "login form", 5),
        ("Bug Fixes", "on main meanwhile", None),
        ("Reverts", "old endpoint", None),
        ("Other", "Update README", None),
    ]
    by_description = {e.description: e for e in notes.entries}
    assert [r.id_or_key for r in by_description["login form"].records] == ["FEAT-7", ID]
    assert by_description["CSV export"].key == "pr-12"
    assert by_description["old endpoint"].reverts == (project.rev_parse("v1.0.0"),)
    assert notes.stats.cancelled == 2 and notes.stats.merges == 2
    assert notes.version == "1.1.0"

    text = render_notes([notes], links=Links("https://bitbucket.org/team/app"))
    assert text.count("login form") == 1
    assert "Merged in" not in text and "doomed" not in text and "remember me" not in text
    assert "([#5](https://bitbucket.org/team/app/pull-requests/5)) — FEAT-7, recAbCdEfGhIjKlMn" in text


def test_keys_are_identical_across_runs_and_clones(project: GitRepoBuilder, tmp_path: Path) -> None:
    _, first = latest_release(GitRepo.open(project.path))
    clone = project.pipelines_branch_checkout(tmp_path / "build", "main", depth=3)
    _, second = latest_release(GitRepo.open(clone.path))
    assert [e.key for e in second.entries] == [e.key for e in first.entries]
    assert second.version == first.version and second.previous_tag == "v1.0.0"
    project.commit("fix: one more")
    _, third = latest_release(GitRepo.open(project.path))
    assert [e.key for e in third.entries if e.description != "one more"] == [e.key for e in first.entries]


def test_release_history_in_two_git_calls(project: GitRepoBuilder) -> None:
    project.tag("v1.1.0")
    project.commit("feat: next")
    repo = counting(project.path)
    releases = release_history(repo)
    assert [c[0] for c in repo.calls] == ["rev-parse", "log", "for-each-ref", "rev-parse"]  # + is-shallow
    assert [(r.version, r.tag, r.previous_tag) for r in releases] == [
        ("1.2.0", None, "v1.1.0"),
        ("1.1.0", "v1.1.0", "v1.0.0"),
        ("1.0.0", "v1.0.0", None),
    ]
    assert [e.description for e in releases[0].entries] == ["next"]
    assert lines(releases[1]) == lines(latest_release(GitRepo.open(project.path), tag="v1.1.0")[1])
    assert [e.description for e in releases[2].entries] == ["old endpoint", "first"]
    assert all(r.warnings == () for r in releases)


def test_release_history_of_a_shallow_clone_warns(project: GitRepoBuilder, tmp_path: Path) -> None:
    clone = project.pipelines_branch_checkout(tmp_path / "build", "main", depth=4)
    releases = release_history(GitRepo.open(clone.path))
    assert [r.tag for r in releases] == [None]
    assert releases[-1].warnings[0].startswith(f"this clone is shallow ({clone.count()} commits)")


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "pipe.release", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_cli(project: GitRepoBuilder) -> None:
    latest = cli("--repo", str(project.path), "--latest", "--repo-url", "https://bitbucket.org/team/app")
    assert latest.returncode == 0, latest.stderr
    assert latest.stdout.startswith("## [1.1.0](https://bitbucket.org/team/app/branches/compare/")
    full = cli("--repo", str(project.path), "--all")
    assert full.returncode == 0 and full.stdout.startswith("# Changelog\n\n## 1.1.0 (")
    assert "## 1.0.0 (" in full.stdout
    context = cli("--repo", str(project.path), "--latest", "--context")
    assert json.loads(context.stdout)["release"]["tag_name"] == "v1.1.0"


def test_cli_template_errors_exit_2(project: GitRepoBuilder) -> None:
    (project.path / "notes.j2").write_text("{% for r in releases %}\n{{ r.verison }}\n{% endfor %}\n")
    result = cli("--repo", str(project.path), "--template", "notes.j2")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip() == (
        "error: changelog template notes.j2, line 2: undefined: 'dict object' has no attribute 'verison'"
    )
    outside = cli("--repo", str(project.path), "--template", "../secret.j2")
    assert outside.returncode == 2 and "leaves the repository" in outside.stderr
    bad_version = cli("--repo", str(project.path), "--latest", "--version", "one")
    assert bad_version.returncode == 2 and "VERSION: 'one' is not a semantic version" in bad_version.stderr


def test_cli_does_not_import_http_or_pydantic() -> None:
    code = (
        "import sys, pipe.release.cli, pipe.release.render;"
        "print(sorted(m for m in ('requests', 'pydantic', 'pyairtable', 'urllib3') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.strip() == "[]"


def test_cli_stops_template_attacks_before_printing(project: GitRepoBuilder) -> None:
    (project.path / "big.j2").write_text("{{ 'x'|center(2**33) }}\n")
    result = cli("--repo", str(project.path), "--template", "big.j2")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: changelog template big.j2, line 1: not allowed in the sandbox: center")


def test_cli_latest_release_imports_neither_gitpython_nor_jinja(project: GitRepoBuilder) -> None:
    """The latest release is what every merge step runs: it loads only what it uses."""
    code = (
        "import sys; sys.argv = ['pipe.release', '--repo', sys.argv[1], '--latest'];"
        "import pipe.release.cli as cli; cli.main();"
        "print(sorted(m for m in ('git', 'jinja2', 'pydantic', 'requests', 'yaml', 'pipe.release.history') "
        "if m in sys.modules), file=sys.stderr)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(project.path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.startswith("## 1.1.0 (") and result.stderr.strip().endswith("[]")
