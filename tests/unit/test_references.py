"""Record IDs and keys in branch names and commit messages (pipe.references)."""

from __future__ import annotations

import re

import pytest

from pipe.model import Commit, Reference, ReferenceKind, ReferenceSource
from pipe.references import (
    compile_key_pattern,
    find_references,
    parse_bitbucket_merge,
    parse_squash_pr_number,
    scan_text,
    token_pattern,
    unique_values,
)

ID = "recAbCdEfGhIjKlMn"
ID2 = "rec0123456789abcd"
KIND_ID = ReferenceKind.RECORD_ID
KIND_KEY = ReferenceKind.KEY


def commit(sha: str, message: str, parents: tuple[str, ...] = ("p",)) -> Commit:
    return Commit(sha=sha, parents=parents, author_name="A", author_email="a@x", timestamp=0, message=message)


def ids(text: str) -> list[str]:
    return [value for kind, value in scan_text(text) if kind is KIND_ID]


# -- record IDs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        ID,
        f"feature/{ID}-login",
        f"({ID})",
        f"Closes: {ID},",
        f"[{ID}]",
        f"{ID}_login",  # underscore is not a letter or digit
        f"https://airtable.com/appXXXXXXXXXXXXXX/tblYYYYYYYYYYYYYY/viwZZZZZZZZZZZZZZ/{ID}?blocks=hide",
        f"https://airtable.com/appXXXXXXXXXXXXXX/tblYYYYYYYYYYYYYY/{ID}",
        f"fix: login\r\n\r\nCloses {ID}\r\n",
        f"🚀{ID}🚀",
        f"\u05e9\u05dc\u05d5\u05dd {ID} \u05e2\u05d5\u05dc\u05dd",  # Hebrew around it
        f"\u202e{ID}\u202c",  # right-to-left override characters
        f"é{ID}é",  # non-ASCII letters are boundaries
    ],
)
def test_record_id_is_found_as_a_whole_token(text: str) -> None:
    assert ids(text) == [ID]


@pytest.mark.parametrize(
    "text",
    [
        f"x{ID}",
        f"{ID}O",  # 15 characters after rec
        f"9{ID}",
        ID[:-1],  # 13 characters after rec
        "RECAbCdEfGhIjKlMn",
        "RecAbCdEfGhIjKlMn",
        "recAbCdEfGh-IjKlMn",
        "recAbCdEfGhIjKl\u00e9n",  # non-ASCII letter inside
        "rec" + "\uff21" * 14,  # full-width letters are not ASCII
        "",
    ],
)
def test_record_id_non_matches(text: str) -> None:
    assert ids(text) == []


def test_record_id_case_is_kept_verbatim() -> None:
    assert ids("feature/recABCDEFGHIJKLMN and recabcdefghijklmn") == ["recABCDEFGHIJKLMN", "recabcdefghijklmn"]


def test_several_ids_in_reading_order_with_repeats() -> None:
    assert ids(f"{ID2} {ID},{ID2}") == [ID2, ID, ID2]


# -- keys -------------------------------------------------------------------------------------


def test_key_pattern_matches_whole_tokens_only() -> None:
    key = compile_key_pattern(r"FEAT-\d+")
    found = scan_text("FEAT-12 (FEAT-3) feature/FEAT-45-login XFEAT-6 FEAT-7a FEAT-8_x feat-9", key)
    assert found == [(KIND_KEY, "FEAT-12"), (KIND_KEY, "FEAT-3"), (KIND_KEY, "FEAT-45"), (KIND_KEY, "FEAT-8")]


def test_key_pattern_is_case_sensitive_and_ascii() -> None:
    key = compile_key_pattern(r"FEAT-\d+")
    assert scan_text("Feat-1 FEAT-\u0663 FEAT-\uff11", key) == []  # Arabic-Indic and full-width digits


def test_keys_and_ids_interleave_in_reading_order() -> None:
    key = compile_key_pattern(r"[A-Z]{2,5}-\d+")
    found = scan_text(f"OPS-1 then {ID} then FEAT-2", key)
    assert found == [(KIND_KEY, "OPS-1"), (KIND_ID, ID), (KIND_KEY, "FEAT-2")]


def test_key_pattern_group_zero_is_the_key() -> None:
    key = compile_key_pattern(r"(FEAT)-(\d+)")
    assert scan_text("see FEAT-10.", key) == [(KIND_KEY, "FEAT-10")]


def test_key_pattern_alternation_is_wrapped_as_a_whole() -> None:
    key = compile_key_pattern(r"FEAT-\d+|OPS-\d+")
    assert scan_text("XFEAT-1 OPS-2x OPS-3", key) == [(KIND_KEY, "OPS-3")]


def test_key_pattern_keeps_leading_inline_flags_and_verbose_comments() -> None:
    insensitive = compile_key_pattern(r"(?i)feat-\d+")
    assert scan_text("feat-1 FEAT-2", insensitive) == [(KIND_KEY, "feat-1"), (KIND_KEY, "FEAT-2")]
    verbose = compile_key_pattern("(?x) FEAT - \\d+   # the key")
    assert scan_text("FEAT-7", verbose) == [(KIND_KEY, "FEAT-7")]


def test_compile_key_pattern_is_idempotent() -> None:
    key = compile_key_pattern(r"FEAT-\d+")
    assert compile_key_pattern(key.pattern).pattern == key.pattern
    assert token_pattern(key).pattern == key.pattern


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("FEAT-(\\d+", "not a valid regular expression"),
        ("[", "not a valid regular expression"),
        ("\\d*", "matches the empty string"),
        ("(FEAT-\\d+)?", "matches the empty string"),
        ("", "empty"),
        ("   ", "empty"),
        ("(?u)FEAT-\\d+", "not a valid regular expression"),
    ],
)
def test_compile_key_pattern_rejects_bad_patterns(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        compile_key_pattern(text)


def test_find_references_wraps_a_plainly_compiled_pattern() -> None:
    refs = find_references("feature/XFEAT-1-FEAT-2", [], re.compile(r"FEAT-\d+"))
    assert [r.value for r in refs] == ["FEAT-2"]


# -- merge subjects ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        (f"Merged in feature/{ID}-login (pull request #5)", (f"feature/{ID}-login", 5)),
        ("Merged in bugfix/x (pull request #123)  ", ("bugfix/x", 123)),
        ("Merged in main (pull request #1)\r", ("main", 1)),
        ("Merged feature/x (pull request #5)", None),
        ("Merged in feature/x", None),
        ("feat: x (pull request #6)", None),
        ("Merge branch 'feature/x'", None),
        ("", None),
    ],
)
def test_parse_bitbucket_merge(subject: str, expected: tuple[str, int] | None) -> None:
    assert parse_bitbucket_merge(subject) == expected


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("feat: login (pull request #6)", 6),
        ("feat: login (pull request #6) ", 6),
        ("Merged in feature/x (pull request #5)", 5),
        ("feat: login (pull request #6) and more", None),
        ("feat: login (#6)", None),
        ("feat: login (pull request 6)", None),
    ],
)
def test_parse_squash_pr_number(subject: str, expected: int | None) -> None:
    assert parse_squash_pr_number(subject) == expected


# -- find_references --------------------------------------------------------------------------


def test_branch_first_then_commits_oldest_to_newest() -> None:
    newest_first = [commit("c3", f"feat: c {ID}"), commit("c2", f"feat: b {ID2}"), commit("c1", "chore: nothing")]
    refs = find_references(f"feature/{ID2}", newest_first, None)
    assert refs == [
        Reference(KIND_ID, ID2, ReferenceSource.BRANCH),
        Reference(KIND_ID, ID2, ReferenceSource.COMMIT, "c2"),
        Reference(KIND_ID, ID, ReferenceSource.COMMIT, "c3"),
    ]


def test_dedupe_per_kind_value_source_and_commit() -> None:
    commits = [commit("c2", f"{ID} {ID}\n\nCloses: {ID}"), commit("c1", f"{ID}")]
    refs = find_references(f"{ID}/{ID}", commits, None)
    assert [(r.source, r.commit) for r in refs] == [
        (ReferenceSource.BRANCH, None),
        (ReferenceSource.COMMIT, "c1"),
        (ReferenceSource.COMMIT, "c2"),
    ]
    assert unique_values(refs) == [ID]


def test_bitbucket_merge_commit_keeps_ids_from_the_branch_name() -> None:
    merge = commit("m", f"Merged in feature/{ID}-login (pull request #5)\n\nLogin page FEAT-9\n", ("a", "b"))
    refs = find_references(None, [merge], compile_key_pattern(r"FEAT-\d+"))
    assert refs == [
        Reference(KIND_ID, ID, ReferenceSource.MERGE_COMMIT, "m"),
        Reference(KIND_KEY, "FEAT-9", ReferenceSource.MERGE_COMMIT, "m"),
    ]


def test_other_merge_commits_are_plain_commits() -> None:
    refs = find_references(None, [commit("m", f"Merge branch 'feature/{ID}'", ("a", "b"))], None)
    assert refs == [Reference(KIND_ID, ID, ReferenceSource.COMMIT, "m")]


def test_no_branch_no_commits() -> None:
    assert find_references(None, [], None) == []
    assert find_references("", [], compile_key_pattern("A-1")) == []


def test_unique_values_by_kind() -> None:
    refs = find_references(f"FEAT-1/{ID}", [commit("c", f"FEAT-2 {ID2} FEAT-1")], compile_key_pattern(r"FEAT-\d+"))
    assert unique_values(refs) == ["FEAT-1", ID, "FEAT-2", ID2]
    assert unique_values(refs, KIND_KEY) == ["FEAT-1", "FEAT-2"]
    assert unique_values(refs, KIND_ID) == [ID, ID2]


# -- awkward text -----------------------------------------------------------------------------


def test_crlf_emoji_rtl_and_binary_messages() -> None:
    messages = [
        f"fix: x\r\n\r\nRefs: {ID}\r\n",
        f"✨ feat: 🎉{ID}🎉 \U0001f468\u200d\U0001f469\u200d\U0001f467",
        f"\u0645\u0631\u062d\u0628\u0627 {ID} \u202b\u05e9\u05dc\u05d5\u05dd\u202c",
        f"\x00\x01\x1e\x1f\ufffd\ufffd{ID}\x7f\udcff",
        "\ufffd" * 1000,
    ]
    commits = [commit(f"c{i}", m) for i, m in enumerate(messages)]
    refs = find_references(None, commits, compile_key_pattern(r"FEAT-\d+"))
    assert [r.commit for r in refs] == ["c3", "c2", "c1", "c0"]
    assert unique_values(refs) == [ID]


def test_very_long_message_is_scanned_in_linear_time() -> None:
    filler = "rec" + "a" * 13 + " "  # near misses everywhere
    message = filler * 50_000 + ID + " " + "FEAT-" * 50_000 + "FEAT-1"
    refs = find_references(None, [commit("c", message)], compile_key_pattern(r"FEAT-\d+"))
    assert [r.value for r in refs] == [ID, "FEAT-1"]


def test_near_miss_record_ids_are_words_almost_shaped_like_a_record_id():
    from pipe.references import near_miss_record_ids

    texts = [
        "feature/recWorkItem00010-docs",  # one character short
        "fixes RECWORKITEM000107, recWorkItem0001077 and recWorkItem000107",  # capitals, one too long, valid
        "recommendations for record2024 and xrecWorkItem00010",  # plain words, glued to a letter
    ]
    assert near_miss_record_ids(texts) == ["recWorkItem00010", "RECWORKITEM000107", "recWorkItem0001077"]
    assert near_miss_record_ids(["recWorkItem00010 again recWorkItem00010"]) == ["recWorkItem00010"]
