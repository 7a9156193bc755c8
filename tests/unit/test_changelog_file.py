"""CHANGELOG_FILE: only ever a file inside the repository (pipe.sinks.changelog_file)."""

from __future__ import annotations

import pytest

from pipe.sinks.changelog_file import ChangelogFileTarget, ChangelogPathError, changelog_path
from pipe.sinks.journal import Journal


@pytest.fixture
def root(tmp_path):
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    return repo


def test_a_path_inside_the_repository_is_the_file(root):
    assert changelog_path(root, "docs/CHANGELOG.md") == (root / "docs" / "CHANGELOG.md").resolve()


@pytest.mark.parametrize("given", ["../CHANGELOG.md", "/etc/CHANGELOG.md", "docs/../../x.md", "."])
def test_a_path_leaving_the_repository_is_refused(root, given):
    with pytest.raises(ChangelogPathError, match="expected a file path inside the repository"):
        changelog_path(root, given)


def test_a_symlink_pointing_out_of_the_repository_is_refused(root, tmp_path):
    (root / "CHANGELOG.md").symlink_to(tmp_path / "elsewhere.md")
    with pytest.raises(ChangelogPathError, match="inside the repository"):
        changelog_path(root, "CHANGELOG.md")


def test_a_directory_is_refused_with_a_file_path_to_use(root):
    with pytest.raises(ChangelogPathError, match="is a directory; .* such as docs/CHANGELOG.md"):
        changelog_path(root, "docs")


def test_a_refused_path_stops_the_run_while_preparing_so_nothing_is_written(root, tmp_path):
    with pytest.raises(ChangelogPathError, match="CHANGELOG_FILE"):
        ChangelogFileTarget(root, "../CHANGELOG.md", "1.0.0", "## 1.0.0\n").prepare()
    assert not (tmp_path / "CHANGELOG.md").exists()


def test_the_target_reports_an_unreadable_file_as_failed(root):
    (root / "CHANGELOG.md").write_bytes(b"# Changelog \xff\xfe\n")
    change = ChangelogFileTarget(root, "CHANGELOG.md", "1.0.0", "## 1.0.0\n").prepare()
    result = change.apply(Journal(None, None), [])
    assert result.status == "failed" and "CHANGELOG_FILE" in result.detail
    assert (root / "CHANGELOG.md").read_bytes() == b"# Changelog \xff\xfe\n"
