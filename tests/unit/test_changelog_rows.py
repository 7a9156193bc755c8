"""changelog_rows: one row per entry the notes show, cells by logical column, keyed by (release, entry key)."""

from __future__ import annotations

import hashlib
from dataclasses import FrozenInstanceError

import pytest

from pipe.config.file import CodaColumns
from pipe.model import Commit
from pipe.plan.changelog import LOGICAL_COLUMNS, ChangelogRow, changelog_rows
from pipe.release.config import ReleaseConfig
from pipe.release.entries import RecordRef, build_entries
from pipe.release.links import Links
from pipe.release.notes import build_notes, resolve_records
from pipe.release.version import Version

ID = "recAbCdEfGhIjKlMn"
REPO = Links("https://bitbucket.org/team/repo")


def commits(*messages: str) -> list[Commit]:
    made: list[Commit] = []
    for index, message in enumerate(messages):
        parents = (made[-1].sha,) if made else ()
        sha = hashlib.sha1(f"{index}:{message}".encode()).hexdigest()
        made.append(Commit(sha, parents, "Ada", "a@x", 1_700_000_000 + index * 86_400, message))
    return list(reversed(made))


def notes_for(history: list[Commit], config: ReleaseConfig | None = None):
    return build_notes(
        build_entries(history),
        config or ReleaseConfig(),
        version=Version(1, 4, 0, prefix="v"),
        previous=Version(1, 3, 0, prefix="v"),
        tag=None,
        previous_tag="v1.3.0",
        head=history[0].sha,
        timestamp=history[0].timestamp,
        commits=len(history),
    )


def by_description(rows: list[ChangelogRow]) -> dict[str, ChangelogRow]:
    return {row.cells["description"]: row for row in rows}


def test_one_row_per_shown_entry_with_every_logical_column() -> None:
    history = commits(
        "feat(api): export to CSV (pull request #12)",
        f"fix: crash on empty input\n\nRefs {ID}",
        "Update README",
    )
    rows = changelog_rows(notes_for(history), REPO)

    assert [r.cells["description"] for r in rows] == ["export to CSV", "crash on empty input", "Update README"]
    assert all(set(r.cells) == set(LOGICAL_COLUMNS) for r in rows)
    assert set(LOGICAL_COLUMNS) == set(CodaColumns().written())  # the config's logical names, all of them
    export = by_description(rows)["export to CSV"]
    assert export.release == "1.4.0" and export.entry_key == "pr-12" and export.key == "1.4.0/pr-12"
    assert export.cells == {
        "release": "1.4.0",
        "entry_key": "pr-12",
        "type": "feat",
        "scope": "api",
        "description": "export to CSV",
        "breaking": False,
        "records": "",
        "pull_request": "https://bitbucket.org/team/repo/pull-requests/12",
        "commit": history[2].sha,
        "date": "2023-11-14",  # the entry's own commit date (the oldest commit here)
    }
    crash = by_description(rows)["crash on empty input"]
    assert crash.entry_key == history[1].sha[:12] and crash.cells["records"] == ID
    assert crash.cells["pull_request"] == "" and crash.cells["scope"] == ""
    # not conventional: the notes' "Other" group, type "other"
    assert by_description(rows)["Update README"].cells["type"] == "other"


def test_values_are_plain_scalars_coda_takes() -> None:
    rows = changelog_rows(notes_for(commits("feat!: drop v1 API", "fix(ui): x (pull request #3)")), REPO)
    for row in rows:
        for value in row.cells.values():
            assert isinstance(value, str | bool), value
    assert by_description(rows)["drop v1 API"].cells["breaking"] is True


def test_hidden_breaking_changes_are_rows_too_and_appear_once() -> None:
    rows = changelog_rows(notes_for(commits("feat: a", "chore!: drop node 14", "chore: deps", "fix!: b")), REPO)
    # chore is a hidden type, but its breaking change is shown in the notes; "chore: deps" is not shown
    assert [r.cells["description"] for r in rows] == ["a", "b", "drop node 14"]  # Features, Bug Fixes, hidden
    assert len({r.entry_key for r in rows}) == len(rows)


def test_records_show_titles_once_resolved() -> None:
    notes = notes_for(commits(f"feat: login\n\nRefs {ID}, {ID}"))
    resolved = resolve_records(notes, lambda r: RecordRef(r.id_or_key, "Login page", "https://airtable.com/x"))
    (row,) = changelog_rows(resolved, REPO)
    assert row.cells["records"] == "Login page"


def test_without_a_web_url_the_pull_request_is_its_number() -> None:
    (row,) = changelog_rows(notes_for(commits("fix: y (pull request #7)")), Links())
    assert row.cells["pull_request"] == "#7"


def test_same_history_same_rows_and_rows_are_frozen() -> None:
    history = commits("feat: a", "fix: b (pull request #9)")
    first, second = changelog_rows(notes_for(history), REPO), changelog_rows(notes_for(history), REPO)
    assert first == second
    with pytest.raises(FrozenInstanceError):
        first[0].release = "2.0.0"  # type: ignore[misc]


def test_empty_notes_make_no_rows() -> None:
    assert changelog_rows(notes_for(commits("chore: deps", "ci: cache")), REPO) == []
