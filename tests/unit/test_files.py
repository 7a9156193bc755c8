"""pipe.files: the attacks a clone can carry (committed links, FIFOs, devices, `.git/`) against the safe
reader and writer."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pipe.files import (
    FileRefused,
    check_output,
    open_for_append,
    output_root,
    read_clone_file,
    read_regular_file,
    write_file,
)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    root = tmp_path / "clone"
    (root / ".git").mkdir(parents=True)
    (root / "docs").mkdir()
    return root


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    target = tmp_path / "outside"
    target.write_text("not yours\n")
    return target


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp") and p.name.startswith("."))


# -- writing --------------------------------------------------------------------------------------


def test_writes_atomically_and_keeps_the_mode_of_the_file_it_replaces(clone):
    target = clone / "CHANGELOG.md"
    target.write_text("old\n")
    target.chmod(0o600)
    write_file(Path("CHANGELOG.md"), "new\n", clone, "CHANGELOG_FILE")
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _leftovers(clone) == []


def test_a_committed_temporary_file_link_is_never_written_through(clone, outside):
    (clone / "CHANGELOG.md.tmp").symlink_to(outside)
    (clone / ".CHANGELOG.md.tmp").symlink_to(outside)
    write_file(clone / "CHANGELOG.md", "## 1.0.0\n", clone, "CHANGELOG_FILE")
    assert (clone / "CHANGELOG.md").read_text() == "## 1.0.0\n"
    assert outside.read_text() == "not yours\n"
    assert (clone / "CHANGELOG.md.tmp").is_symlink()


def test_a_target_that_is_a_link_out_of_the_clone_is_refused(clone, outside):
    (clone / "CHANGELOG.md").symlink_to(outside)
    for call in (
        lambda: check_output(Path("CHANGELOG.md"), clone, "CHANGELOG_FILE"),
        lambda: write_file(Path("CHANGELOG.md"), "x", clone, "CHANGELOG_FILE"),
        lambda: open_for_append(Path("CHANGELOG.md"), clone, "CHANGELOG_FILE"),
    ):
        with pytest.raises(FileRefused, match=r"CHANGELOG_FILE: 'CHANGELOG.md' is a link"):
            call()
    assert outside.read_text() == "not yours\n"
    assert (clone / "CHANGELOG.md").is_symlink()


def test_a_parent_folder_linked_out_of_the_clone_is_refused(clone, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (clone / "notes").symlink_to(elsewhere)
    with pytest.raises(FileRefused, match=r"CHANGELOG_FILE: 'notes' in 'notes/CHANGELOG.md' is a link, not a folder"):
        check_output(Path("notes/CHANGELOG.md"), clone, "CHANGELOG_FILE")
    with pytest.raises(FileRefused, match="is a link, not a folder"):
        write_file(Path("notes/CHANGELOG.md"), "x", clone, "CHANGELOG_FILE", create_parents=True)
    assert list(elsewhere.iterdir()) == []


def test_a_link_deeper_down_is_refused_too(clone, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (clone / "docs" / "out").symlink_to(elsewhere)
    with pytest.raises(FileRefused, match="'docs/out' in 'docs/out/CHANGELOG.md' is a link"):
        write_file(Path("docs/out/CHANGELOG.md"), "x", clone, "CHANGELOG_FILE")
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("path", [".git/hooks/post-checkout", ".git/config", "docs/../.git/HEAD", ".GIT/x"])
def test_nothing_is_written_into_git(clone, path):
    with pytest.raises(FileRefused, match="is inside .git/; the pipe never writes there"):
        check_output(Path(path), clone, "CHANGELOG_FILE")
    with pytest.raises(FileRefused, match="inside .git/"):
        write_file(Path(path), "x", clone, "CHANGELOG_FILE", create_parents=True)


def test_a_root_inside_git_is_refused(clone):
    with pytest.raises(FileRefused, match="inside .git/"):
        write_file(Path("report.json"), "{}", clone / ".git", "REPORT_FILE")


@pytest.mark.parametrize("path", ["../escaped.md", "/etc/passwd", "docs/../../escaped.md"])
def test_paths_outside_the_root_are_refused(clone, path):
    with pytest.raises(FileRefused, match="is outside"):
        check_output(Path(path), clone, "CHANGELOG_FILE")
    assert not (clone.parent / "escaped.md").exists()


def test_a_folder_a_fifo_and_a_device_are_refused_as_targets(clone):
    os.mkfifo(clone / "pipe.md")
    with pytest.raises(FileRefused, match="'docs' is a folder; give the path of a file"):
        check_output(Path("docs"), clone, "CHANGELOG_FILE")
    with pytest.raises(FileRefused, match="'pipe.md' is a FIFO"):
        check_output(Path("pipe.md"), clone, "CHANGELOG_FILE")
    with pytest.raises(FileRefused, match="is a FIFO"):
        open_for_append(Path("pipe.md"), clone, "JOURNAL")
    with pytest.raises(FileRefused, match="'/dev/null' is a character device"):
        check_output(Path("/dev/null"), Path("/dev"), "REPORT_FILE")
    with pytest.raises(FileRefused, match="is a folder"):
        check_output(clone, clone, "REPORT_FILE")


def test_a_missing_folder_is_named_before_writing_unless_it_may_be_made(clone):
    with pytest.raises(FileRefused, match="REPORT_FILE: the folder 'out' of 'out/sub/report.json' does not exist"):
        check_output(Path("out/sub/report.json"), clone, "REPORT_FILE")
    check_output(Path("out/sub/report.json"), clone, "REPORT_FILE", create_parents=True)
    assert not (clone / "out").exists()  # the check writes nothing
    write_file(Path("out/sub/report.json"), "{}", clone, "REPORT_FILE", create_parents=True)
    assert (clone / "out" / "sub" / "report.json").read_text() == "{}"


def test_a_root_that_is_missing_or_read_only_is_refused(tmp_path):
    with pytest.raises(FileRefused, match="REPORT_FILE: the folder .* cannot be opened"):
        check_output(Path("report.json"), tmp_path / "nope", "REPORT_FILE")
    if os.geteuid() == 0:
        pytest.skip("root may write in a read-only folder")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    with pytest.raises(FileRefused, match="cannot create files beside"):
        check_output(Path("report.json"), locked, "REPORT_FILE")


def test_the_check_leaves_nothing_behind(clone):
    check_output(Path("docs/CHANGELOG.md"), clone, "CHANGELOG_FILE")
    assert list((clone / "docs").iterdir()) == []


def test_append_adds_lines_and_creates_the_file(tmp_path):
    for line in ("one\n", "two\n"):
        with open_for_append(Path("journal.jsonl"), tmp_path, "REPORT_FILE") as journal:
            journal.write(line)
    assert (tmp_path / "journal.jsonl").read_text() == "one\ntwo\n"


def test_output_root_is_the_clone_for_paths_inside_it_and_the_folder_otherwise(clone, tmp_path):
    assert output_root(Path("report.json"), clone) == clone
    assert output_root(Path("out/report.json"), clone) == clone
    assert output_root(tmp_path / "storage" / "report.json", clone) == tmp_path / "storage"


def test_a_relative_report_path_through_a_committed_link_is_refused(clone, tmp_path):
    elsewhere = tmp_path / "etc"
    elsewhere.mkdir()
    (clone / "out").symlink_to(elsewhere)
    path = Path("out/report.json")
    with pytest.raises(FileRefused, match="is a link, not a folder"):
        write_file(path, "{}", output_root(path, clone), "REPORT_FILE")
    assert list(elsewhere.iterdir()) == []


# -- reading --------------------------------------------------------------------------------------


def test_reads_a_file_of_the_clone_and_follows_links_that_stay_inside(clone):
    (clone / "docs" / "sync.yml").write_text("a: 1\n")
    (clone / ".airtable-coda-sync.yml").symlink_to("docs/sync.yml")
    assert read_clone_file(Path(".airtable-coda-sync.yml"), clone, "CONFIG_FILE") == b"a: 1\n"


def test_a_clone_file_linked_out_of_the_clone_is_refused(clone, outside):
    (clone / ".airtable-coda-sync.yml").symlink_to(outside)
    with pytest.raises(FileRefused, match=r"CONFIG_FILE: '.airtable-coda-sync.yml' is a link to '.*outside', outside"):
        read_clone_file(Path(".airtable-coda-sync.yml"), clone, "CONFIG_FILE")


def test_a_clone_file_in_a_folder_linked_out_is_refused(clone, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "sync.yml").write_text("a: 1\n")
    (clone / "ci").symlink_to(elsewhere)
    with pytest.raises(FileRefused, match="is a link to .*, outside the repository"):
        read_clone_file(Path("ci/sync.yml"), clone, "CONFIG_FILE")


def test_clone_files_in_git_are_refused(clone):
    (clone / ".git" / "config").write_text("[remote]\n")
    with pytest.raises(FileRefused, match="is inside .git/"):
        read_clone_file(Path(".git/config"), clone, "CONFIG_FILE")


def test_fifo_device_folder_and_size_are_refused_without_blocking(clone):
    os.mkfifo(clone / "fifo.yml")
    (clone / "big.yml").write_bytes(b"x" * 2048)
    with pytest.raises(FileRefused, match="'fifo.yml' is a FIFO \\(named pipe\\), not a regular file"):
        read_clone_file(Path("fifo.yml"), clone, "CONFIG_FILE")
    with pytest.raises(FileRefused, match="'big.yml' is larger than 1024 bytes"):
        read_clone_file(Path("big.yml"), clone, "CONFIG_FILE", limit=1024)
    with pytest.raises(FileRefused, match="'/dev/zero' is a character device"):
        read_regular_file(Path("/dev/zero"), "JOURNAL_FILE", limit=1024)
    with pytest.raises(FileRefused, match="is a folder"):
        read_regular_file(clone, "JOURNAL_FILE", limit=1024)
    with pytest.raises(FileNotFoundError):
        read_regular_file(clone / "missing", "JOURNAL_FILE", limit=1024)
