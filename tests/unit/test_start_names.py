"""Branch names of `STAGE: start` (pipe.start.names): ASCII, bounded, a valid git ref whatever the title holds
(checked with `git check-ref-format`), and found again by the build as exactly the one record."""

from __future__ import annotations

import subprocess

import pytest

from pipe.model import ReferenceKind, ReferenceSource
from pipe.references import compile_key_pattern, find_references, near_miss_record_ids
from pipe.start.names import SLUG_LIMIT, belongs_to, branch_name, other_records

REC = "recAbC123dEf456Gh"
NASTY = {
    "emoji": "🚀 Launch 🎉 the rocket 🔥",
    "only emoji": "🚀🎉🔥",
    "dot dot": "Fix ../../etc/passwd .. traversal",
    "at brace": "Reflog @{-1} and @{upstream} HEAD@{0}",
    "lock": "Remove stale index.lock",
    "ends with .lock": "config.lock",
    "slashes": "a/b//c/ /d/",
    "backslashes": "C:\\Users\\x\\y",
    "control characters": "tab\there\nnew line\x00nul\x07bell\x1besc\x7fdel",
    "git specials": "what? * [ ] ~ ^ : \\ all of them",
    "leading dot and dash": ".hidden -dash --flag",
    "trailing dot": "ends with a dot.",
    "very long": "word " * 500,
    "one very long word": "x" * 500,
    "right to left": "\u202eevil\u202c name",
    "zero width": "zero\u200bwidth\u200djoin",
    "cjk": "日本語のタイトル",
    "greek and cyrillic": "Αλφα Бета",
    "quotes": "\"double\" 'single' `back`",
    "record id": f"See {REC} and recZZZZZZZZZZZZZZ too",
    "near miss": "REC12345678901234 rec1234567890",
    "spaces only": "   ",
}


def _check_ref_format(name: str) -> bool:
    done = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True, check=False)
    return done.returncode == 0 and done.stdout.decode().strip() == name


@pytest.mark.parametrize("title", list(NASTY.values()), ids=list(NASTY))
def test_the_name_is_an_ascii_git_ref_of_bounded_length_that_names_only_the_record(title):
    name = branch_name(REC, title)

    assert name.isascii() and name.startswith(f"feature/{REC}")
    assert len(name) <= len(f"feature/{REC}-") + SLUG_LIMIT
    assert _check_ref_format(name), name
    references = find_references(name, [], None)
    assert [(r.kind, r.value, r.source) for r in references] == [(ReferenceKind.RECORD_ID, REC, ReferenceSource.BRANCH)]
    assert near_miss_record_ids([name]) == []


def test_git_check_ref_format_refuses_what_the_titles_hold():  # the check above can fail
    for raw in ("feature/a..b", "feature/x@{1}", "feature/index.lock", "feature/a b", "feature/tab\t", "feature/"):
        assert not _check_ref_format(raw), raw


def test_examples():
    assert branch_name(REC, "API rate limit docs") == f"feature/{REC}-api-rate-limit-docs"
    assert branch_name(REC, "Straße über Café") == f"feature/{REC}-strasse-uber-cafe"
    assert branch_name(REC, "🚀🎉") == f"feature/{REC}"
    assert branch_name(REC, "Remove stale index.lock") == f"feature/{REC}-remove-stale-index-lock"
    assert branch_name(REC, f"Follow-up of {REC}") == f"feature/{REC}-follow-up-of"


def test_a_long_title_is_cut_on_a_word_boundary():
    name = branch_name(REC, "Document every rate limit of the public API with examples and the retry rules")

    assert name == f"feature/{REC}-document-every-rate-limit-of-the-public-api-with"
    assert len(name.split("-", 1)[1]) <= SLUG_LIMIT


def test_keys_of_other_records_are_left_out():
    pattern = compile_key_pattern(r"(?i)FEAT-\d+")

    name = branch_name(REC, "Follow-up to FEAT-12 and feat-3, see FEAT-12", pattern)

    assert name == f"feature/{REC}-follow-up-to-and-see"
    assert [r.value for r in find_references(name, [], pattern)] == [REC]


def test_which_branches_belong_to_a_record():
    assert belongs_to(f"feature/{REC}", REC)
    assert belongs_to(f"feature/{REC}-login", REC)
    assert belongs_to(f"feature/{REC}_login", REC)
    assert belongs_to(f"feature/{REC}/login", REC)
    assert not belongs_to(f"feature/{REC}x-login", REC)  # a longer word: another ID, or none
    assert not belongs_to(f"bugfix/{REC}-login", REC)
    assert not belongs_to(f"feature/x-{REC}", REC)


def test_another_records_branch():
    other = "recZyX987wVu654Ts"
    assert other_records(f"feature/{other}-login", REC) == [other]
    assert other_records(f"feature/{REC}-login", REC) == []
    assert other_records(f"feature/{other}-and-{REC}", REC) == []  # names this record too
    assert other_records("feature/FEAT-106-build-image", REC) == []
