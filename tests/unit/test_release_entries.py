"""Commits -> changelog entries: reverts, Bitbucket merges, squash merges, keys (pure, no git)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pipe.model import Commit, ReferenceKind, ReferenceSource
from pipe.release.entries import build_entries

ID = "recAbCdEfGhIjKlMn"


def sha(name: str) -> str:
    return hashlib.sha1(name.encode()).hexdigest()


class History:
    """A tiny DAG builder; `commits()` lists newest first like `git log`."""

    def __init__(self) -> None:
        self.items: list[Commit] = []

    def add(self, name: str, message: str, *parents: str) -> str:
        stamp = 1_700_000_000 + 60 * len(self.items)
        parent_shas = tuple(sha(p) for p in parents)
        self.items.append(Commit(sha(name), parent_shas, "Ada", "ada@example.com", stamp, message))
        return sha(name)

    def commits(self, exclude: Sequence[str] = ()) -> list[Commit]:
        skip = {sha(n) for n in exclude}
        return [c for c in reversed(self.items) if c.sha not in skip]


def linear(*messages: str) -> tuple[History, list[str]]:
    history = History()
    names = []
    for index, message in enumerate(messages):
        name = f"c{index}"
        history.add(name, message, *([names[-1]] if names else []))
        names.append(name)
    return history, names


def descriptions(commits: list[Commit]) -> list[str]:
    return [e.description for e in build_entries(commits).entries]


def test_entries_keep_log_order_and_key_by_sha() -> None:
    history, _ = linear("feat: a", "fix(ui): b", "Update README")
    result = build_entries(history.commits())
    assert [e.description for e in result.entries] == ["Update README", "b", "a"]
    assert [e.key for e in result.entries] == [c.sha[:12] for c in history.commits()]
    assert result.entries[0].type is None and not result.entries[0].conventional
    assert result.entries[1].scope == "ui"


def test_git_revert_and_reverted_commit_cancel_out() -> None:
    history, _ = linear("feat: keep", "feat: oops")
    oops = history.commits()[0].sha
    history.add("r", f'Revert "feat: oops"\n\nThis reverts commit {oops}.', "c1")
    result = build_entries(history.commits())
    assert [e.description for e in result.entries] == ["keep"]
    assert result.cancelled == ((sha("r"), oops),)


def test_conventional_revert_with_abbreviated_refs_cancels() -> None:
    history, _ = linear("fix: a", "feat: b", "feat: c")
    b, c = sha("c1"), sha("c2")
    history.add("r", f"revert: let us never again speak of b and c\n\nRefs: {b[:7]}, {c[:10]}", "c2")
    assert descriptions(history.commits()) == ["a"]


def test_revert_of_a_commit_outside_the_range_stays_as_a_revert_entry() -> None:
    history, _ = linear("feat(api): old feature")
    old = sha("c0")
    history.add("r", f'Revert "feat(api): old feature"\n\nThis reverts commit {old}.', "c0")
    entries = build_entries(history.commits(exclude=["c0"])).entries
    assert len(entries) == 1
    assert (entries[0].type, entries[0].scope, entries[0].description) == ("revert", "api", "old feature")
    assert entries[0].reverts == (old,)


def test_revert_of_a_revert_brings_the_original_back() -> None:
    history, _ = linear("feat: x")
    x = sha("c0")
    history.add("r1", f'Revert "feat: x"\n\nThis reverts commit {x}.', "c0")
    history.add("r2", f'Revert "Revert "feat: x""\n\nThis reverts commit {sha("r1")}.', "r1")
    assert descriptions(history.commits()) == ["x"]


def test_bitbucket_merge_gives_its_pr_and_references_and_no_entry_of_its_own() -> None:
    history = History()
    history.add("base", "chore: start")
    history.add("main1", "fix: on main", "base")
    history.add("f1", "feat: login form", "base")
    history.add("f2", "fix: login typo", "f1")
    history.add("m", f"Merged in feature/{ID}-login (pull request #5)\n\nLogin", "main1", "f2")
    history.add("after", "docs: readme", "m")
    result = build_entries(history.commits(exclude=["base"]))
    by_description = {e.description: e for e in result.entries}
    assert sorted(by_description) == ["login form", "login typo", "on main", "readme"]
    assert by_description["login form"].pr_number == 5
    assert by_description["login typo"].pr_number == 5
    assert by_description["on main"].pr_number is None
    assert by_description["readme"].pr_number is None
    refs = by_description["login form"].references
    assert [(r.kind, r.value, r.source) for r in refs] == [(ReferenceKind.RECORD_ID, ID, ReferenceSource.MERGE_COMMIT)]
    assert [r.id_or_key for r in by_description["login form"].records] == [ID]
    assert result.merges == 1


def test_nested_bitbucket_merges_give_the_innermost_pr() -> None:
    history = History()
    history.add("base", "chore: start")
    history.add("e1", "feat: epic part", "base")
    history.add("s1", "feat: sub part", "e1")
    history.add("em", "Merged in sub (pull request #7)", "e1", "s1")
    history.add("m", "Merged in epic (pull request #8)", "base", "em")
    entries = {e.description: e.pr_number for e in build_entries(history.commits(exclude=["base"])).entries}
    assert entries == {"epic part": 8, "sub part": 7}


def test_merge_whose_commits_are_all_reverted_produces_nothing() -> None:
    history = History()
    history.add("base", "chore: start")
    history.add("f1", "feat: doomed", "base")
    history.add("m", "Merged in feature/doomed (pull request #9)", "base", "f1")
    history.add("r", f'Revert "feat: doomed"\n\nThis reverts commit {sha("f1")}.', "m")
    assert build_entries(history.commits(exclude=["base"])).entries == []


def test_reverting_a_merge_commit_cancels_what_it_merged() -> None:
    history = History()
    history.add("base", "chore: start")
    history.add("f1", "feat: one", "base")
    history.add("f2", "feat: two", "f1")
    history.add("m", "Merged in feature/x (pull request #3)", "base", "f2")
    history.add(
        "r",
        f'Revert "Merged in feature/x (pull request #3)"\n\nThis reverts commit {sha("m")}, reversing\n'
        f"changes made to {sha('base')}.",
        "m",
    )
    history.add("after", "fix: after", "r")
    assert descriptions(history.commits(exclude=["base"])) == ["after"]


def test_merge_bringing_only_commits_outside_the_range_produces_nothing() -> None:
    history = History()
    history.add("base", "chore: start")
    history.add("f1", "feat: released earlier", "base")
    history.add("m", "Merged in feature/x (pull request #4)", "base", "f1")
    assert build_entries(history.commits(exclude=["base", "f1"])).entries == []


def test_squash_merge_is_one_entry_keyed_by_pr() -> None:
    history, _ = linear("feat(api): export (pull request #12)", "fix: typo")
    entries = build_entries(history.commits()).entries
    squash = entries[1]
    assert (squash.key, squash.pr_number, squash.description) == ("pr-12", 12, "export")
    assert squash.headline == "feat(api): export"
    assert entries[0].key == sha("c1")[:12]


def test_duplicate_squash_keys_are_made_unique() -> None:
    history, _ = linear("fix: a (pull request #3)", "fix: a again (pull request #3)")
    keys = [e.key for e in build_entries(history.commits()).entries]
    assert keys == ["pr-3", f"pr-3-{sha('c0')[:12]}"]


def test_keys_are_stable_across_runs() -> None:
    history, _ = linear("feat: a", "fix: b (pull request #2)", "Update docs")
    first = [e.key for e in build_entries(history.commits()).entries]
    second = [e.key for e in build_entries(list(history.commits())).entries]
    assert first == second


def test_record_references_in_messages() -> None:
    history, _ = linear(f"feat: a\n\nCloses: {ID}", "fix: b\n\nRefs FEAT-7")
    import re

    entries = build_entries(history.commits(), key_pattern=re.compile(r"FEAT-\d+")).entries
    assert [[r.id_or_key for r in e.records] for e in entries] == [["FEAT-7"], [ID]]
    assert all(r.title is None and r.url is None for e in entries for r in e.records)


def test_empty_range() -> None:
    result = build_entries([])
    assert result.entries == [] and result.merges == 0
