"""Grouping, config from a plain dict, breaking section, stats, record resolution, history walk."""

from __future__ import annotations

import pytest

from pipe.errors import ConfigError
from pipe.model import Commit, Tag
from pipe.release.config import ReleaseConfig
from pipe.release.entries import RecordRef, build_entries
from pipe.release.history import assign_commits
from pipe.release.notes import build_notes, resolve_records
from pipe.release.range import release_tags
from pipe.release.version import Version

ID = "recAbCdEfGhIjKlMn"


def commits(*messages: str) -> list[Commit]:
    made: list[Commit] = []
    for index, message in enumerate(messages):
        parents = (made[-1].sha,) if made else ()
        made.append(Commit(f"{index + 1:040x}", parents, "Ada", "a@x", 1_700_000_000 + index * 86_400, message))
    return list(reversed(made))


MIX = commits(
    "feat(api): export",
    "fix: crash",
    "perf: faster",
    "docs: guide",
    "chore: deps",
    "chore!: drop node 14",
    "refactor: tidy",
    "Update README",
    "wip: half",
    "ci: cache",
)


def notes_for(config: ReleaseConfig, history: list[Commit] = MIX):
    result = build_entries(history)
    return build_notes(
        result,
        config,
        version=Version(1, 3, 0, prefix="v"),
        previous=Version(1, 2, 0, prefix="v"),
        tag=None,
        previous_tag="v1.2.0",
        head=history[0].sha,
        timestamp=history[0].timestamp,
        commits=len(history),
    )


def test_default_groups_order_hidden_types_and_other() -> None:
    notes = notes_for(ReleaseConfig())
    assert [(g.title, [e.description for e in g.entries]) for g in notes.groups] == [
        ("Features", ["export"]),
        ("Bug Fixes", ["crash"]),
        ("Performance", ["faster"]),
        ("Documentation", ["guide"]),
        ("Refactoring", ["tidy"]),
        ("Other", ["half", "Update README"]),
    ]
    assert [e.description for e in notes.breaking] == ["drop node 14"]  # hidden type, still listed
    assert notes.stats.hidden == 3 and notes.stats.entries == 7 and notes.stats.commits == 10
    assert notes.stats.breaking == 1 and notes.stats.conventional == 9
    assert (notes.version, notes.tag_name, notes.tag, notes.released) == ("1.3.0", "v1.3.0", None, False)
    assert notes.compare_from == "v1.2.0" and notes.compare_to == MIX[0].sha[:7]


def test_config_from_dict() -> None:
    config = ReleaseConfig.from_dict(
        {
            "groups": [{"title": "New", "types": ["Feat", "perf"]}, {"title": "Fixed", "types": "fix"}],
            "hidden_types": ["docs", "refactor", "chore", "ci"],
            "other_title": None,
            "tag_pattern": r"^api-v\d+\.\d+\.\d+$",
        }
    )
    notes = notes_for(config)
    assert [(g.title, len(g.entries)) for g in notes.groups] == [("New", 2), ("Fixed", 1)]
    assert config.tag_pattern.search("api-v1.0.0") and not config.tag_pattern.search("v1.0.0")


def test_unconventional_commits_can_be_left_out() -> None:
    notes = notes_for(ReleaseConfig.from_dict({"include_unconventional": False}))
    assert [e.description for e in notes.groups[-1].entries] == ["half"]  # unknown type still in Other


def test_config_problems_are_all_listed() -> None:
    with pytest.raises(ConfigError) as caught:
        ReleaseConfig.from_dict(
            {
                "groups": [
                    {"title": "", "types": ["feat"]},
                    {"title": "A", "types": ["fix"]},
                    {"title": "B", "types": ["fix"]},
                ],
                "hidden_types": ["fix"],
                "tag_pattern": "(",
                "include_prereleases": "yes",
                "colour": "red",
            },
            where="release_notes",
        )
    problems = caught.value.problems
    assert any(p.startswith("release_notes: unknown key(s) colour") for p in problems)
    assert any("release_notes.groups[0].title" in p for p in problems)
    assert any("release_notes.tag_pattern" in p for p in problems)
    assert any("release_notes.include_prereleases" in p for p in problems)
    assert any("fix appear in more than one group" in p for p in problems)
    assert any("both in a group and in hidden_types" in p for p in problems)


def test_resolve_records_fills_titles_and_drops_unknown_records() -> None:
    notes = notes_for(
        ReleaseConfig(), commits(f"feat: a\n\nCloses: {ID}", f"feat!: b\n\nRefs: recZZZZZZZZZZZZZZ, {ID}")
    )
    assert [[r.id_or_key for r in e.records] for e in notes.entries] == [["recZZZZZZZZZZZZZZ", ID], [ID]]

    def lookup(record: RecordRef) -> RecordRef | None:
        if record.id_or_key != ID:
            return None  # not in Airtable
        return RecordRef(ID, "Login page", f"https://airtable.com/app/tbl/{ID}")

    resolved = resolve_records(notes, lookup)
    expected = RecordRef(ID, "Login page", f"https://airtable.com/app/tbl/{ID}")
    assert [list(e.records) for e in resolved.entries] == [[expected], [expected]]
    assert [list(e.records) for e in resolved.breaking] == [[expected]]
    assert notes.entries[0].records[0].title is None  # the original is unchanged


def test_assign_commits_to_releases_by_walking() -> None:
    history = commits("feat: 1", "fix: 2", "feat: 3", "fix: 4", "feat: 5")  # newest first: 5..1
    by_message = {c.message: c.sha for c in history}
    tags = release_tags(
        [
            Tag("v1.0.0", by_message["fix: 2"], 1),
            Tag("v1.1.0-rc.1", by_message["fix: 4"], 2),
            Tag("v1.1.0", by_message["fix: 4"], 3),  # same commit: one release, the highest
            Tag("v10", by_message["fix: 4"], 3),  # floating tag: not a release
            Tag("v9.9.9", "f" * 40, 4),  # not in this history
        ]
    )
    releases = assign_commits(history, tags, history[0].sha)
    assert [(r.tag.name if r.tag else None, [c.message for c in r.commits]) for r in releases] == [
        (None, ["feat: 5"]),
        ("v1.1.0", ["fix: 4", "feat: 3"]),
        ("v1.0.0", ["fix: 2", "feat: 1"]),
    ]


def test_date_of_gives_the_utc_day_as_datetime_does() -> None:
    import datetime as dt

    from pipe.release.notes import date_of

    stamps = [0, -1, 86_399, 86_400, 951_782_400, 2**31, 1_700_000_000, -62_135_596_800, 253_402_300_799]
    stamps += range(-(10**10), 10**10, 7_777_777)  # every few months over about 600 years
    for stamp in stamps:
        assert date_of(stamp) == dt.datetime.fromtimestamp(stamp, tz=dt.UTC).date().isoformat(), stamp
