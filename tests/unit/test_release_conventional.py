"""Conventional Commits parsing edge cases (changelog-and-linking.md §1.2 and §4.4)."""

from __future__ import annotations

import pytest

from pipe.release.conventional import Footer, parse


def test_type_scope_description() -> None:
    parsed = parse("feat(api): add the export endpoint")
    assert parsed is not None
    assert (parsed.type, parsed.scope, parsed.description) == ("feat", "api", "add the export endpoint")
    assert not parsed.breaking and parsed.breaking_description is None
    assert parsed.body == "" and parsed.footers == ()


@pytest.mark.parametrize(
    "message",
    [
        "feat:x",  # the spec requires colon + space
        "feat:",
        "feat: ",
        "feat(): empty scope",
        "Update README",
        "Merged in feature/x (pull request #5)",
        'Revert "feat: plain"',
        "feat : space before colon",
        "",
    ],
)
def test_not_conventional(message: str) -> None:
    assert parse(message) is None


def test_types_are_case_insensitive_and_normalised() -> None:
    parsed = parse("Feat(API): uppercase type")
    assert parsed is not None
    assert parsed.type == "feat"
    assert parsed.scope == "API"  # the scope keeps its case


def test_scope_with_spaces_and_unknown_types() -> None:
    assert parse("feat(scope with space): x").scope == "scope with space"
    assert parse("wip: half done").type == "wip"
    assert parse("build-system: tweak").type == "build-system"


def test_bang_is_breaking_with_the_description() -> None:
    parsed = parse("feat(api)!: drop v1 endpoints")
    assert parsed.breaking
    assert parsed.breaking_description == "drop v1 endpoints"


@pytest.mark.parametrize("token", ["BREAKING CHANGE", "BREAKING-CHANGE"])
def test_breaking_footer_spellings(token: str) -> None:
    parsed = parse(f"feat: new config\n\nSome body.\n\n{token}: the `extends` key is gone")
    assert parsed.breaking
    assert parsed.breaking_description == "the `extends` key is gone"
    assert parsed.body == "Some body."
    assert parsed.footers == (Footer(token, ": ", "the `extends` key is gone"),)


def test_lower_case_breaking_change_is_not_breaking() -> None:
    parsed = parse("fix: x\n\nbreaking change: nope")
    assert not parsed.breaking
    assert parsed.body == "breaking change: nope"
    parsed = parse("fix: x\n\nBreaking-Change: nope")
    assert not parsed.breaking
    assert parsed.footers[0].token == "Breaking-Change"


def test_bang_and_footer_prefers_the_footer_text() -> None:
    parsed = parse("refactor!: rename\n\nBREAKING CHANGE: `foo` is now `bar`")
    assert parsed.breaking_description == "`foo` is now `bar`"


def test_footer_values_span_lines_until_the_next_token() -> None:
    parsed = parse(
        "feat: x\n\nBREAKING CHANGE: isolate scope bindings changed and\n"
        "the inject option was removed.\nRefs: 676104e, a215868\nReviewed-by: Z"
    )
    assert [(f.token, f.value) for f in parsed.footers] == [
        ("BREAKING CHANGE", "isolate scope bindings changed and\nthe inject option was removed."),
        ("Refs", "676104e, a215868"),
        ("Reviewed-by", "Z"),
    ]


def test_hash_separator() -> None:
    parsed = parse("fix: x\n\nRefs #133")
    assert parsed.footers == (Footer("Refs", " #", "133"),)


def test_prose_paragraph_that_looks_like_a_footer_stays_in_the_body() -> None:
    message = (
        "feat: thing\n\nFirst paragraph.\n\nNote: this is prose that explains\nand wraps onto a second line.\n\n"
        "Another paragraph of prose.\n\nRefs #133"
    )
    parsed = parse(message)
    assert parsed.body == (
        "First paragraph.\n\nNote: this is prose that explains\nand wraps onto a second line.\n\n"
        "Another paragraph of prose."
    )
    assert parsed.footers == (Footer("Refs", " #", "133"),)


def test_trailing_run_of_footer_paragraphs() -> None:
    parsed = parse("fix: x\n\nBody.\n\nReviewed-by: Z\n\nRefs #133")
    assert parsed.body == "Body."
    assert [f.token for f in parsed.footers] == ["Reviewed-by", "Refs"]


def test_breaking_change_paragraph_in_the_middle_starts_the_footers() -> None:
    parsed = parse("feat: x\n\nIntro.\n\nBREAKING CHANGE: config moved.\n\nMigrate like so.\n\nRefs: 12")
    assert parsed.breaking
    assert parsed.body == "Intro."
    assert parsed.breaking_description == "config moved.\n\nMigrate like so."
    assert parsed.footers[-1] == Footer("Refs", ": ", "12")


def test_breaking_change_value_on_the_next_line() -> None:
    parsed = parse("feat: x\n\nBREAKING CHANGE:\n  the old flag is gone")
    assert parsed.breaking_description == "the old flag is gone"


def test_crlf_and_surrounding_whitespace() -> None:
    parsed = parse("  fix(ui): align buttons  \r\n\r\nBody line.\r\n\r\nCloses: recAbCdEfGhIjKlMn\r\n\r\n")
    assert (parsed.type, parsed.scope, parsed.description) == ("fix", "ui", "align buttons")
    assert parsed.body == "Body line."
    assert parsed.footers == (Footer("Closes", ": ", "recAbCdEfGhIjKlMn"),)


def test_emoji() -> None:
    assert parse("✨ feat: sparkle").type == "feat"
    assert parse(":bug: fix(ui): y").scope == "ui"
    parsed = parse("feat: add 🚀 launch button")
    assert parsed.description == "add 🚀 launch button"


def test_multiple_spaces_after_colon_and_unicode_description() -> None:
    assert parse("docs:   Übersicht ergänzt").description == "Übersicht ergänzt"


def test_footer_lookup_is_case_insensitive() -> None:
    parsed = parse("revert: undo\n\nrefs: abc1234")
    assert parsed.footer_values("Refs") == ["abc1234"]
