"""Masking gathered text (pipe.facts.masking): commit messages lose their tokens, with a warning each."""

from __future__ import annotations

from pipe.facts.masking import mask_commits, mask_text
from pipe.log import REDACTED, Redactor
from pipe.model import Commit

PAT = "patAbCdEfGhIjKlMn." + "0123456789abcdef" * 4


def commit(sha: str, message: str) -> Commit:
    return Commit(sha=sha, parents=("p",), author_name="A", author_email="a@x", timestamp=0, message=message)


def test_only_commits_with_a_token_are_replaced_and_each_gives_a_warning():
    clean = commit("a" * 40, "feat: login FEAT-1")
    leaky = commit("b" * 40, f"fix: config FEAT-2\n\nAIRTABLE_TOKEN={PAT}\n")
    given = commit("c" * 40, "chore: rotate s3cr3t-value")
    masked, warnings = mask_commits([clean, leaky, given], Redactor(["s3cr3t-value"]))
    assert masked[0] is clean
    assert masked[1].message == f"fix: config FEAT-2\n\nAIRTABLE_TOKEN={REDACTED}\n"
    assert masked[1].sha == leaky.sha and masked[1].subject == "fix: config FEAT-2"
    assert masked[2].message == f"chore: rotate {REDACTED}"
    assert warnings == [
        "The message of commit bbbbbbb holds a secret or a string shaped like a token (an Airtable personal "
        "access token, a Bitbucket or Coda token, a password in a URL): the pipe writes it as [redacted] "
        "everywhere. If it is a real token, revoke it: it stays in the repository's history.",
        warnings[1],
    ]
    assert warnings[1].startswith("The message of commit ccccccc holds a secret")


def test_mask_text_names_where_the_text_came_from():
    assert mask_text("feature/x", Redactor(), "the branch name") == ("feature/x", None)
    text, warning = mask_text(f"feature/{PAT}", Redactor(), "the branch name")
    assert text == f"feature/{REDACTED}" and warning is not None and warning.startswith("The branch name holds")


def test_scrub_keeps_named_tuples_and_dataclasses_their_types():
    """Commits and release notes are named tuples inside dataclass facts: masking one must give back the
    same type (a plain tuple would lose `.message`), and leave untouched values the same objects."""
    from dataclasses import dataclass

    from pipe.commits import CommitRange
    from pipe.facts.scrub import scrub

    @dataclass(frozen=True)
    class Facts:
        commits: CommitRange
        other: tuple[str, ...]

    clean = commit("a" * 40, "feat: login")
    leaky = commit("b" * 40, f"fix: token {PAT}")
    facts = Facts(CommitRange("b" * 40, None, (leaky, clean), "whole history"), ("x", "y"))
    cleaned = scrub(facts, lambda text: text.replace(PAT, REDACTED))
    assert type(cleaned.commits) is CommitRange and type(cleaned.commits.commits[0]) is Commit
    assert cleaned.commits.commits[0].message == f"fix: token {REDACTED}"
    assert cleaned.commits.commits[1] is clean and cleaned.other is facts.other
    assert cleaned.commits.description == "whole history"
