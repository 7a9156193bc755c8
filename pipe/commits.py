"""Commits, tags and the record references found in them: what `pipe.clients.git` reads and the
release notes (`pipe.release`) work on. Plain, immutable data.

Apart from `pipe.model` (which re-exports these names for the rest of the pipe) so that
`python -m pipe.release` does not build the pipeline's other classes at start-up.

These, and the release notes' own values (`pipe.release`), are `typing.NamedTuple`s rather than
dataclasses: `python -m pipe.release --latest` is what every merge step runs, and importing
`dataclasses` (it imports `inspect`, ~10 ms) and building each class (~1 ms each, eighteen of them)
cost about a third of its time; a NamedTuple class costs ~0.2 ms and builds its instances three times
faster. They are immutable like frozen dataclasses; change one with `._replace(...)`.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from typing import Any


class Commit(NamedTuple):
    """One commit as read from `git log` (never a GitPython object: see pipe.clients.git)."""

    sha: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    timestamp: int  # committer time, seconds since the epoch
    message: str  # full raw message, line endings as stored

    @property
    def subject(self) -> str:
        return self.message.splitlines()[0].strip() if self.message.strip() else ""

    @property
    def body(self) -> str:
        lines = self.message.splitlines()
        return "\n".join(lines[1:]).strip("\r\n ")

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def short_sha(self) -> str:
        return self.sha[:7]


class Tag(NamedTuple):
    name: str
    sha: str  # the commit the tag points at (peeled)
    timestamp: int  # tagger date for annotated tags, else committer date


class CommitRange(NamedTuple):
    """The commits a run looks at: reachable from `head` and not from `base`."""

    head: str
    base: str | None  # exclusive; None means the whole history
    commits: tuple[Commit, ...]
    description: str  # human readable, e.g. "merge-base(origin/main)..3f2a1bc"
    warnings: tuple[str, ...] = ()
    fetched: tuple[str, ...] = ()  # what had to be fetched (deepen, refs), for the log


class ReferenceKind(enum.StrEnum):
    RECORD_ID = "record_id"
    KEY = "key"


class ReferenceSource(enum.StrEnum):
    BRANCH = "branch"
    COMMIT = "commit"
    MERGE_COMMIT = "merge_commit"  # Bitbucket's "Merged in <branch> (pull request #N)"


class Reference(NamedTuple):
    """A mention of an Airtable record (by record ID or human key) somewhere in the code."""

    kind: ReferenceKind
    value: str
    source: ReferenceSource
    commit: str | None = None  # sha, when found in a commit message

    def as_dict(self) -> dict[str, Any]:
        return {
            # `_value_`, not `.value`: in Python 3.11 `.value` is a descriptor call costing ~1 µs (a
            # changelog's context reads ~4,000)
            "kind": self.kind._value_,
            "value": self.value,
            "source": self.source._value_,
            "commit": self.commit,
        }
