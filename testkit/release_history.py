"""The benchmark's release history (benchmarks/release_notes.py), also built small by the tests.

`build_repository(path, rounds)` writes, with `git fast-import`, `rounds` rounds of 90 mainline
commits, a 9-commit feature branch and a Bitbucket merge commit; a realistic mix of Conventional
Commits (scopes, bodies, footers, breaking changes, squash suffixes, record IDs) and plain
messages; git reverts of commits in the same release (they cancel) and of older releases; a release
tag every 9 mainline commits. Deterministic: the same `rounds` gives the same shas.
"""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path

from testkit.gitrepos import GitRepoBuilder, bitbucket_merge_message

GENERATOR_VERSION = "3"  # bump to rebuild cached repositories after changing the generator
ROUNDS = 100
MAIN_FIRST, MAIN_SECOND, FEATURE = 40, 50, 9  # commits per round: 90 mainline + 9 branch + 1 merge
TAG_EVERY = 9

SCOPES = ["api", "ui", "auth", "db", "cli", "sync", "docs", "build", None, None]
WORDS = ["parser", "cache", "token", "retry", "status", "field", "record", "table", "page", "link", "column"]
WORDS += ["filter", "export", "import"]
RECORD_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def record_id(n: int) -> str:
    body = "".join(RECORD_ALPHABET[(n * 7 + k * 13) % len(RECORD_ALPHABET)] for k in range(14))
    return "rec" + body


def message(n: int) -> str:
    """A deterministic, realistic commit message for global commit number n."""
    pick = (n * 2654435761) % 100
    scope = SCOPES[n % len(SCOPES)]
    head_scope = f"({scope})" if scope else ""
    what = f"{WORDS[n % len(WORDS)]} {WORDS[(n // 3) % len(WORDS)]} handling #{n}"
    body = ""
    if n % 4 == 0:
        body = f"\n\nThe {WORDS[n % len(WORDS)]} code path now checks its input first.\nSecond line of the body."
    footer = ""
    if n % 5 == 0:
        footer = f"\n\nCloses: {record_id(n)}"
    elif n % 7 == 0:
        footer = f"\n\nRefs #{n % 500}"
    if pick < 33:
        return f"feat{head_scope}: add {what}{body}{footer}"
    if pick < 56:
        return f"fix{head_scope}: correct {what}{body}{footer}"
    if pick < 60:
        return f"perf{head_scope}: speed up {what}{body}"
    if pick < 65:
        return f"docs: document {what}"
    if pick < 70:
        return f"refactor{head_scope}: simplify {what}{body}"
    if pick < 78:
        kind = ("chore", "ci", "test", "build", "style")[n % 5]
        return f"{kind}: update {what}"
    if pick < 80:
        gone = f"BREAKING CHANGE: the old {WORDS[n % len(WORDS)]} option is gone"
        return f"feat{head_scope}!: replace {what}\n\n{gone}{footer}"
    if pick < 84:
        return f"fix{head_scope}: {what} (pull request #{1000 + n})"
    if pick < 86:
        return f"Feat({scope or 'core'}): capitalised type for {what}"
    return ("Update README", "WIP", "Fix typo", f"Bump dependencies for {what}", "Merge fixes from review")[n % 5]


def revert_message(subject: str, sha: str) -> str:
    return f'Revert "{subject}"\n\nThis reverts commit {sha}.'


def second_batch_message(
    i: int, *, start: int, first: list[tuple[str, str]], previous_round: list[tuple[str, str]]
) -> str:
    """Message i of a round's second batch; `first` is the round's first batch (sha, message)."""
    if i in (1, 2):  # revert commits 38 and 39 of this round: same release, they cancel
        sha, text = first[36 + i]
        return revert_message(text.splitlines()[0], sha)
    if i == 20 and previous_round:  # revert a commit of an older release: stays
        sha, subject = previous_round[5]
        return revert_message(subject, sha)
    return message(start + i)


def tag_name(k: int) -> str:
    return f"v{k // 100}.{(k // 10) % 10}.{k % 10}"


def build_repository(path: Path, rounds: int = ROUNDS) -> None:
    """The benchmark repository (100 rounds: about 15 s on 2 cores)."""
    if path.exists():
        subprocess.run(["rm", "-rf", str(path)], check=True)
    repo = GitRepoBuilder.init(path)
    counter = 0
    mainline: list[str] = []
    previous_round: list[tuple[str, str]] = []  # (sha, subject) of the last round's first batch
    for r in range(1, rounds + 1):
        start = counter
        first_messages = [message(start + i) for i in range(1, MAIN_FIRST + 1)]
        first = repo.fast_import(MAIN_FIRST, lambda i, m=first_messages: m[i - 1])
        counter += MAIN_FIRST

        batch = partial(second_batch_message, start=counter, first=list(zip(first, first_messages, strict=True)))
        second = repo.fast_import(MAIN_SECOND, partial(batch, previous_round=previous_round))
        counter += MAIN_SECOND
        mainline += first + second
        previous_round = [(sha, m.splitlines()[0]) for sha, m in zip(first, first_messages, strict=True)]

        branch = f"feature/{record_id(r)}-round-{r}"
        repo.fast_import(FEATURE, lambda i, s=counter: message(s + i), branch=branch, start="main")
        counter += FEATURE
        repo.merge(branch, message=bitbucket_merge_message(branch, r, f"Round {r} feature"))
        counter += 1
    tags = "".join(
        f"create refs/tags/{tag_name(k)} {mainline[k * TAG_EVERY - 1]}\n"
        for k in range(1, len(mainline) // TAG_EVERY + 1)
    )
    repo.git("update-ref", "--stdin", input=tags)
    repo.git("gc", "--quiet")
    (path / ".git" / "bench-generator").write_text(GENERATOR_VERSION)
