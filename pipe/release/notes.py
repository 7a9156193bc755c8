"""The release-notes model: a release's entries grouped for humans, with its version and stats.

Groups come in the configured order (`ReleaseConfig.groups`), then the "other" group; empty groups
are left out. Breaking changes are listed in `breaking` (even those of hidden types such as
`chore!:`) and also stay in their group. Entries keep the order of `git log` (newest first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from pipe.commits import CommitRange
from pipe.release.config import ReleaseConfig
from pipe.release.entries import EntriesResult, Entry, RecordRef
from pipe.release.version import Version

if TYPE_CHECKING:
    from pipe.release.links import Links


class Group(NamedTuple):
    title: str
    types: tuple[str, ...]  # the types the group collects; () for the "other" group
    entries: tuple[Entry, ...]


class Stats(NamedTuple):
    commits: int  # commits in the release, merges included
    merges: int
    entries: int  # entries shown in groups
    conventional: int  # non-merge commits (cancelled ones included) that are conventional
    breaking: int
    cancelled: int  # revert + reverted pairs that cancelled out
    hidden: int  # entries left out (hidden types, non-conventional when excluded, empty messages)
    contributors: tuple[str, ...]  # author names, first appearance order


class ReleaseNotes(NamedTuple):
    version: str  # without prefix, e.g. "1.4.0"
    tag_name: str  # the release's tag: the existing one, or the one proposed for unreleased commits
    tag: str | None  # the existing tag, None for unreleased commits
    previous_version: str | None
    previous_tag: str | None
    date: str  # YYYY-MM-DD (UTC) of the tag, or of the newest commit when unreleased
    timestamp: int
    head: str  # sha of the release's newest commit
    compare_from: str | None  # previous tag (None: the whole history)
    compare_to: str  # tag, or the short sha of head when unreleased
    groups: tuple[Group, ...]
    breaking: tuple[Entry, ...]
    stats: Stats
    warnings: tuple[str, ...] = ()
    commit_range: CommitRange | None = None

    @property
    def released(self) -> bool:
        return self.tag is not None

    def compare_url(self, links: Links) -> str | None:
        """The web page comparing the previous release with this one (with head's full sha when unreleased)."""
        return links.compare(self.compare_from, self.compare_to if self.tag else self.head)

    @property
    def has_entries(self) -> bool:
        """Whether the notes show anything: an entry in a group or a breaking change. Releases
        without (only hidden types, or nothing but merges) are left out of CHANGELOG.md and the Coda
        page unless `release.show_empty_releases` is true (`ReleaseConfig.publishes`)."""
        return bool(self.groups or self.breaking)

    @property
    def entries(self) -> list[Entry]:
        """Every entry shown, group by group."""
        return [e for g in self.groups for e in g.entries]


def build_notes(
    result: EntriesResult,
    config: ReleaseConfig,
    *,
    version: Version,
    previous: Version | None,
    tag: str | None,
    previous_tag: str | None,
    head: str,
    timestamp: int,
    commits: int,
    warnings: Iterable[str] = (),
    commit_range: CommitRange | None = None,
) -> ReleaseNotes:
    grouped: dict[str, list[Entry]] = {}
    hidden = result.empty
    for entry in result.entries:
        title = config.group_title(entry.type, entry.conventional)
        if title is None:
            hidden += 1
        else:
            grouped.setdefault(title, []).append(entry)
    groups = [Group(g.title, g.types, tuple(grouped.pop(g.title))) for g in config.groups if g.title in grouped]
    if config.other_title and config.other_title in grouped:
        groups.append(Group(config.other_title, (), tuple(grouped.pop(config.other_title))))
    breaking = tuple(e for e in result.entries if e.breaking)
    stats = Stats(
        commits=commits,
        merges=result.merges,
        entries=sum(len(g.entries) for g in groups),
        conventional=result.conventional,
        breaking=len(breaking),
        cancelled=len(result.cancelled),
        hidden=hidden,
        contributors=tuple(dict.fromkeys(e.author_name for e in result.entries)),
    )
    return ReleaseNotes(
        version=version.semver,
        tag_name=str(version) if tag is None else tag,
        tag=tag,
        previous_version=previous.semver if previous else None,
        previous_tag=previous_tag,
        date=date_of(timestamp),
        timestamp=timestamp,
        head=head,
        compare_from=previous_tag,
        compare_to=tag or head[:7],
        groups=tuple(groups),
        breaking=breaking,
        stats=stats,
        warnings=tuple(warnings),
        commit_range=commit_range,
    )


def bump_flags(entries: Sequence[Entry]) -> tuple[bool, bool]:
    """(any breaking change, any feature) among `entries`, for `version.next_version`."""
    return any(e.breaking for e in entries), any(e.type == "feat" for e in entries)


def date_of(timestamp: int) -> str:
    """YYYY-MM-DD (UTC) of a git timestamp, as `datetime...date().isoformat()` gives it, through the
    built-in `time` module: importing datetime costs ~2 ms of the latest release's start-up."""
    day = time.gmtime(timestamp)
    return f"{day.tm_year:04d}-{day.tm_mon:02d}-{day.tm_mday:02d}"


def resolve_records(notes: ReleaseNotes, resolve: Callable[[RecordRef], RecordRef | None]) -> ReleaseNotes:
    """The notes with every entry's records passed through `resolve` (which fills title and url;
    returning None drops a record, e.g. one that does not exist in Airtable)."""

    def fix(entry: Entry) -> Entry:
        records = tuple(r for r in (resolve(record) for record in entry.records) if r is not None)
        return entry._replace(records=records)

    cache: dict[str, Entry] = {}

    def fixed(entry: Entry) -> Entry:
        if entry.sha not in cache:
            cache[entry.sha] = fix(entry)
        return cache[entry.sha]

    return notes._replace(
        groups=tuple(g._replace(entries=tuple(fixed(e) for e in g.entries)) for g in notes.groups),
        breaking=tuple(fixed(e) for e in notes.breaking),
    )
