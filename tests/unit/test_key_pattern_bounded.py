"""KEY_PATTERN is matched against text anyone who can push writes: searching it is bounded in time (the
`regex` package's timeout), so a pattern that backtracks catastrophically ends the run with a clear message
instead of hanging it."""

from __future__ import annotations

import re
import time

import pytest

from pipe import references
from pipe.errors import EXIT_BAD_INPUT
from pipe.model import Commit, ReferenceKind
from pipe.references import KeyPatternTooSlow, compile_key_pattern, find_references, scan_text


def commit(sha: str, message: str) -> Commit:
    return Commit(sha=sha, parents=("p",), author_name="A", author_email="a@x", timestamp=0, message=message)


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"(a|aa)+$", r"(\w+\s?)+$"])
def test_a_backtracking_pattern_is_stopped_within_its_time(pattern):
    key = compile_key_pattern(pattern)
    started = time.monotonic()
    with pytest.raises(KeyPatternTooSlow) as caught:
        scan_text("a" * 100_000 + "!", key, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert f"searching a text (100,001 characters) for {pattern!r} took longer than 0.5s" in str(caught.value)
    assert caught.value.exit_code == EXIT_BAD_INPUT


def test_find_references_bounds_all_its_searching_and_names_the_commit(monkeypatch):
    monkeypatch.setattr(references, "KEY_PATTERN_SECONDS", 1.0)
    commits = [commit("f" * 40, "a" * 100_000 + "!"), commit("e" * 40, "fix: FEAT-1")]
    started = time.monotonic()
    with pytest.raises(KeyPatternTooSlow) as caught:
        find_references("feature/x", commits, compile_key_pattern(r"(a+)+$"))
    assert time.monotonic() - started < 2.5
    message = str(caught.value)
    assert message.startswith(
        "KEY_PATTERN: searching the message of commit fffffff (100,001 characters) for '(a+)+$' took longer than 1s"
    )
    assert "Simplify it, e.g. FEAT-\\d+; nothing was written." in message


def test_ordinary_patterns_find_keys_in_a_huge_message_within_the_bound():
    """A 1 MB message with 50,000 keys: an ordinary pattern finds them all within the run's bound
    (KEY_PATTERN_SECONDS, which would raise), with a wide margin (~0.25 s here) for a busy runner."""
    found = scan_text("lorem ipsum FEAT-1 " * 50_000, compile_key_pattern(r"FEAT-\d+"))
    assert len(found) == 50_000


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (r"(?i)feat-\d+", "see Feat-12 and FEAT-3", ["Feat-12", "FEAT-3"]),
        ("(?x) FEAT - \\d+  # a comment", "FEAT-7 x", ["FEAT-7"]),
        (r"[A-Z]{2,5}-\d+", "OPS-1 FEAT-\u0663 ABCDEFG-2", ["OPS-1"]),
    ],
)
def test_flags_and_ascii_classes_mean_what_they_mean_with_re(pattern, text, expected):
    key = compile_key_pattern(pattern)
    assert [v for kind, v in scan_text(text, key) if kind is ReferenceKind.KEY] == expected
    assert [m.group(0) for m in key.finditer(text)] == expected  # the same as the re pattern finds


def test_a_pattern_compiled_by_someone_else_is_searched_with_its_flags():
    refs = find_references(None, [commit("a" * 40, "fix feat-9")], re.compile(r"FEAT-\d+", re.IGNORECASE))
    assert [r.value for r in refs] == ["feat-9"]
