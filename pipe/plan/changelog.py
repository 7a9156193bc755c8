"""The Coda changelog table as plain data: one row per release-notes entry, cells by logical column.

Logical columns are those of `pipe.config.file.CodaColumns` (release, entry_key, type, scope, description,
breaking, records, pull_request, commit, date); the sink maps them to the doc's columns and leaves out
the ones mapped to null. A row is identified by (release, entry_key): the upsert's key columns.

Which entries: those the rendered notes show, in the same order: every group's entries, then breaking
changes of hidden types (e.g. `chore!:`), which the notes list only under "breaking changes". Values are
plain scalars a Coda cell takes as is:

- `release`: the version without prefix (`1.4.0`), also for unreleased notes (the proposed version);
- `type`: the Conventional Commits type, or `other` for an entry without one (the notes' "Other" group);
- `records`: the work items' titles (their ID or key when the title is unknown), comma separated, as the
  notes show them;
- `pull_request`: the pull request's web link, or `#N` when the repository has no web URL; `""` for none;
- `commit`: the full sha; `date`: the entry's commit date (YYYY-MM-DD, UTC). The commit date, not the
  release date, so the rows of an unreleased version do not all change whenever a commit is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipe.release.entries import Entry
from pipe.release.links import Links
from pipe.release.notes import ReleaseNotes, date_of

LOGICAL_COLUMNS = (
    "release",
    "entry_key",
    "type",
    "scope",
    "description",
    "breaking",
    "records",
    "pull_request",
    "commit",
    "date",
)
KEY_COLUMNS = ("release", "entry_key")
OTHER_TYPE = "other"


@dataclass(frozen=True)
class ChangelogRow:
    release: str
    entry_key: str
    cells: dict[str, Any]  # logical column name -> value (every name of LOGICAL_COLUMNS)

    @property
    def key(self) -> str:
        return f"{self.release}/{self.entry_key}"


def changelog_rows(notes: ReleaseNotes, links: Links) -> list[ChangelogRow]:
    """One row per entry shown in `notes` (group order, then hidden-type breaking changes)."""
    shown: dict[str, Entry] = {}  # by sha: a breaking change of a shown type is in both lists
    for entry in [*notes.entries, *notes.breaking]:
        shown.setdefault(entry.sha, entry)
    return [_row(notes.version, entry, links) for entry in shown.values()]


def _row(release: str, entry: Entry, links: Links) -> ChangelogRow:
    cells: dict[str, Any] = {
        "release": release,
        "entry_key": entry.key,
        "type": entry.type or OTHER_TYPE,
        "scope": entry.scope or "",
        "description": entry.description,
        "breaking": bool(entry.breaking),
        "records": ", ".join(r.title or r.id_or_key for r in entry.records),
        "pull_request": _pull_request(entry.pr_number, links),
        "commit": entry.sha,
        "date": date_of(entry.timestamp),
    }
    return ChangelogRow(release=release, entry_key=entry.key, cells=cells)


def _pull_request(number: int | None, links: Links) -> str:
    if number is None:
        return ""
    return links.pull_request(number) or f"#{number}"
