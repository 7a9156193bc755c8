"""Assign every commit of HEAD's history to a release, from one `git log` and one tag listing.

Release tags reachable from HEAD are taken in ascending version order; each release owns the
commits reachable from its tag that no lower release owns (a depth-first walk over parent links,
each commit visited once), and what is left reachable from HEAD is unreleased. For a linear
release history this is exactly `previous..tag` for every tag. Several release tags on one commit
make one release, named by the highest (e.g. `v1.1.0` over `v1.1.0-rc.1`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from pipe.commits import Commit
from pipe.release.range import ReleaseTag


class ReleaseCommits(NamedTuple):
    tag: ReleaseTag | None  # None: unreleased
    head: str  # the tag's commit, or HEAD
    commits: list[Commit]  # newest first (log order)


def assign_commits(commits: Sequence[Commit], tags: Sequence[ReleaseTag], head: str) -> list[ReleaseCommits]:
    """Releases newest (highest version) first, the unreleased one on top when it has commits.

    `commits` is the whole history of `head` as `git log` lists it; `tags` are release tags in
    any order (those not in the history are ignored).
    """
    by_sha = {c.sha: c for c in commits}
    per_commit: dict[str, ReleaseTag] = {}
    for tag in sorted(tags, key=lambda t: t.version.sort_key(), reverse=True):
        if tag.sha in by_sha:
            per_commit.setdefault(tag.sha, tag)  # the highest version on each commit
    ordered = sorted(per_commit.values(), key=lambda t: t.version.sort_key())

    owner: dict[str, int] = {}
    for index, tag in enumerate(ordered):
        _claim(tag.sha, index, by_sha, owner)
    unreleased = len(ordered)
    _claim(head, unreleased, by_sha, owner)

    buckets: list[list[Commit]] = [[] for _ in range(unreleased + 1)]
    for commit in commits:
        bucket = owner.get(commit.sha)
        if bucket is not None:
            buckets[bucket].append(commit)
    releases = [ReleaseCommits(tag, tag.sha, buckets[i]) for i, tag in enumerate(ordered) if buckets[i]]
    if buckets[unreleased]:
        releases.append(ReleaseCommits(None, head, buckets[unreleased]))
    releases.reverse()
    return releases


def _claim(start: str, index: int, by_sha: dict[str, Commit], owner: dict[str, int]) -> None:
    stack = [start]
    while stack:
        sha = stack.pop()
        if sha in owner or sha not in by_sha:
            continue
        owner[sha] = index
        stack.extend(by_sha[sha].parents)
