"""The config file comes from the clone: load_file_config refuses what would hang, crash or exhaust the
run (deep nesting, alias bombs, huge files, FIFOs, devices) and links out of the clone, as problems."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipe.config.file import DEFAULT_CONFIG_FILE, MAX_YAML_DEPTH, load_file_config

NAME = DEFAULT_CONFIG_FILE


def _load(root: Path, text: str | bytes, name: str = NAME):
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return load_file_config(path, name)


def _billion_laughs(levels: int = 9) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return "release:\n  bomb:\n" + "\n".join("    " + line for line in lines) + "\n"


def test_a_file_nested_5000_levels_deep_is_a_problem_not_a_crash(tmp_path):
    config, problems = _load(tmp_path, "workflow:\n  statuses: " + "[" * 5000 + "]" * 5000 + "\n")
    assert problems == [f"{NAME}: nested more than {MAX_YAML_DEPTH} levels deep (line 2)"]


def test_block_nesting_is_bounded_too(tmp_path):
    text = "".join("  " * depth + f"k{depth}:\n" for depth in range(200))
    _config, problems = _load(tmp_path, text)
    assert problems and "nested more than" in problems[0]


def test_an_alias_bomb_is_a_problem_before_anything_expands_it(tmp_path):
    _config, problems = _load(tmp_path, _billion_laughs())
    assert len(problems) == 1
    assert problems[0].startswith(f"{NAME}: expands to more than 100,000 values (line ")
    assert "anchors and aliases (&name, *name) repeat what they name" in problems[0]


def test_ordinary_anchors_and_aliases_still_work(tmp_path):
    text = (
        "workflow:\n"
        "  statuses: &s [Planned, Doing, Done]\n"
        "  stages: {build: Doing, review: Doing, merge: Done, deploy: Done}\n"
        "  environments: {staging: Done}\n"
        "  human_owned: []\n"
        "release:\n"
        "  extra: *s\n"
    )
    config, problems = _load(tmp_path, text)
    assert problems == []
    assert config.workflow.statuses == ["Planned", "Doing", "Done"]


def test_a_huge_file_is_refused_unread(tmp_path):
    _config, problems = _load(tmp_path, "# " + "x" * (2 * 1024 * 1024) + "\n")
    assert problems == [f"{NAME}: is larger than 1.0 MiB (2.0 MiB)"]


def test_a_default_file_linked_out_of_the_clone_is_refused(tmp_path):
    clone = tmp_path / "clone"
    clone.mkdir()
    outside = tmp_path / "secret.yml"
    outside.write_text("workflow:\n  statuses: [A]\n")
    (clone / NAME).symlink_to(outside)
    _config, problems = load_file_config(clone / NAME, NAME)
    assert problems == [f"{NAME}: is a link to {str(outside)!r}, outside the repository; give a file inside it"]


def test_a_link_inside_the_clone_is_followed(tmp_path):
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "sync.yml").write_text("workflow:\n  human_owned: [Parked]\n")
    (tmp_path / NAME).symlink_to("ci/sync.yml")
    config, problems = load_file_config(tmp_path / NAME, NAME)
    assert problems == [] and config.workflow.human_owned == ["Parked"]


def test_the_root_can_be_given_for_a_file_in_a_subfolder(tmp_path):
    clone = tmp_path / "clone"
    (clone / "ci").mkdir(parents=True)
    (tmp_path / "elsewhere.yml").write_text("{}\n")
    (clone / "ci" / "sync.yml").symlink_to("../../elsewhere.yml")
    _config, problems = load_file_config(clone / "ci" / "sync.yml", "ci/sync.yml", root=clone)
    assert problems and "outside the repository" in problems[0]


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    os.mkfifo(tmp_path / NAME)
    _config, problems = load_file_config(tmp_path / NAME, NAME)
    assert problems == [f"{NAME}: is a FIFO (named pipe), not a regular file"]


@pytest.mark.parametrize("text", [b"workflow:\n  statuses: [\xff]\n"])
def test_a_file_that_is_not_utf8_still_says_so(tmp_path, text):
    _config, problems = _load(tmp_path, text)
    assert problems[0].startswith(f"{NAME}: cannot be read ('utf-8' codec can't decode")
