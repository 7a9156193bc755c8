"""Release notes from a repository: the latest release (merge/deploy stages) or the whole history
(CHANGELOG). These are the functions the pipe calls; everything below them is pure logic."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipe.clients.git import GitError, GitRepo, pathspecs
from pipe.commits import CommitRange, Reference
from pipe.references import find_references
from pipe.release.config import ReleaseConfig
from pipe.release.entries import build_entries
from pipe.release.notes import ReleaseNotes, build_notes, bump_flags
from pipe.release.range import ReleaseRange, ReleaseTag, merged_tags, release_range, release_tags
from pipe.release.version import Version, next_version, parse_prerelease_variable, parse_version_variable

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)

if TYPE_CHECKING:  # imported when used: logging and history are not needed for the latest release
    import logging

    from pipe.release.history import ReleaseCommits


def latest_release(
    repo: GitRepo,
    *,
    config: ReleaseConfig | None = None,
    tag: str | None = None,
    head: str | None = None,
    version: str | Version | None = None,
    key_pattern: re.Pattern[str] | None = None,
    remote: str = "origin",
    logger: logging.Logger | None = None,
    prerelease: str | None = None,
) -> tuple[ReleaseRange, ReleaseNotes]:
    """The release HEAD makes: on a tag build (`tag` = BITBUCKET_TAG, or HEAD at a release tag)
    that tag's release, else the unreleased commits since the previous release, versioned by
    `version` (VERSION) or bumped from the commits (a pre-release with `prerelease`, PRERELEASE,
    or when the previous release is one). `head` is BITBUCKET_COMMIT.

    Fetches tags / deepens a shallow clone when the previous release is not in sight (reported in
    `range.commit_range.fetched` / `.warnings`, also copied to `notes.warnings`).
    """
    config = config or ReleaseConfig()
    requested = parse_version_variable(version) if isinstance(version, str) else version
    if prerelease is not None:
        parse_prerelease_variable(prerelease)
    found = release_range(
        repo,
        tag_pattern=config.tag_pattern,
        tag=tag,
        head=head,
        include_prereleases=config.include_prereleases,
        remote=remote,
        logger=logger,
    )
    commits = found.commit_range.commits
    keep = _path_filter(repo, config, found.commit_range.head, found.commit_range.base)
    result = build_entries(commits, head=found.commit_range.head, key_pattern=key_pattern, keep=keep)
    if found.tag is not None and found.version is not None:
        release_version, tag_name, timestamp = found.version, found.tag.name, found.tag.timestamp
    else:
        breaking, feature = bump_flags(result.entries)
        release_version = next_version(
            found.previous_version,
            breaking=breaking,
            feature=feature,
            requested=requested,
            first=config.first_version,
            first_prefix=config.first_prefix,
            prerelease=prerelease,
            reachable=found.reachable,
        )
        tag_name = None
        timestamp = commits[0].timestamp if commits else _head_timestamp(repo, found.commit_range.head)
    notes = build_notes(
        result,
        config,
        version=release_version,
        previous=found.previous_version,
        tag=tag_name,
        previous_tag=found.previous_tag.name if found.previous_tag else None,
        head=found.commit_range.head,
        timestamp=timestamp,
        commits=len(commits) if keep is None else len(keep),
        warnings=found.commit_range.warnings,
        commit_range=found.commit_range,
    )
    return found, notes


def change_notes(
    repo: GitRepo,
    commit_range: CommitRange,
    *,
    config: ReleaseConfig | None = None,
    version: str | Version | None = None,
    key_pattern: re.Pattern[str] | None = None,
    prerelease: str | None = None,
) -> ReleaseNotes:
    """What a change (a branch's or pull request's own commits) adds to the next release, versioned as that
    release would be if only this change were merged now: on top of the latest release tag its head reaches in
    the clone (nothing fetched), with `version` (VERSION) and `prerelease` (PRERELEASE) as at merge."""
    config = config or ReleaseConfig()
    requested = parse_version_variable(version) if isinstance(version, str) else version
    head = commit_range.head
    reached = [t for t in release_tags(merged_tags(repo, head), config.tag_pattern) if t.sha != head]
    candidates = reached if config.include_prereleases else [t for t in reached if not t.version.is_prerelease]
    previous = candidates[0] if candidates else None
    line = previous.version.line if previous else ""
    commits = commit_range.commits
    keep = _path_filter(repo, config, head, commit_range.base)
    result = build_entries(commits, head=head, key_pattern=key_pattern, keep=keep)
    breaking, feature = bump_flags(result.entries)
    next_one = next_version(
        previous.version if previous else None,
        breaking=breaking,
        feature=feature,
        requested=requested,
        first=config.first_version,
        first_prefix=config.first_prefix,
        prerelease=prerelease,
        reachable=tuple(t.version for t in reached if t.version.line == line),
    )
    return build_notes(
        result,
        config,
        version=next_one,
        previous=previous.version if previous else None,
        tag=None,
        previous_tag=previous.name if previous else None,
        head=head,
        timestamp=commits[0].timestamp if commits else _head_timestamp(repo, head),
        commits=len(commits) if keep is None else len(keep),
        commit_range=commit_range,
    )


def release_history(
    repo: GitRepo,
    *,
    config: ReleaseConfig | None = None,
    head: str | None = None,
    version: str | Version | None = None,
    key_pattern: re.Pattern[str] | None = None,
    prerelease: str | None = None,
) -> list[ReleaseNotes]:
    """Every release of HEAD's history, newest first, with the unreleased commits (if any) on top,
    from one `git log` and one `git for-each-ref`; no git call per tag (one more `git log` with a
    path filter). `version` and `prerelease` name the unreleased release (else it is bumped from the
    latest release).

    Nothing is fetched: in a shallow clone the older releases are missing, which the oldest
    release's `warnings` say (regenerating a CHANGELOG needs `clone: depth: full`).
    """
    config = config or ReleaseConfig()
    requested = parse_version_variable(version) if isinstance(version, str) else version
    if prerelease is not None:
        parse_prerelease_variable(prerelease)
    from pipe.release.history import assign_commits

    head_sha = repo.rev_parse(head or "HEAD")
    if head_sha is None:
        raise GitError(f"{head or 'HEAD'} does not name a commit in {repo.root}")
    commits = repo.log(head_sha)
    tags = release_tags(repo.tags(), config.tag_pattern)
    keep = _path_filter(repo, config, head_sha, None)
    references = find_references(None, commits, key_pattern)
    releases = assign_commits(commits, tags, head_sha)
    notes = history_notes(releases, references, config, requested, prerelease=prerelease, keep=keep)
    if notes and repo.is_shallow():
        warning = (
            f"this clone is shallow ({len(commits)} commits), so older releases are missing from the changelog; "
            "set `clone: depth: full` for this step in bitbucket-pipelines.yml"
        )
        notes[-1] = notes[-1]._replace(warnings=(*notes[-1].warnings, warning))
    return notes


def history_notes(
    releases: Sequence[ReleaseCommits],
    references: Sequence[Reference],
    config: ReleaseConfig,
    requested: Version | None = None,
    *,
    prerelease: str | None = None,
    keep: set[str] | None = None,
) -> list[ReleaseNotes]:
    """Notes for `assign_commits` output (newest first); `references` of all their commits;
    `keep` the commits that pass the path filter (None: all)."""
    refs_of_release: dict[int, list[Reference]] = {}
    index_of: dict[str, int] = {}
    for index, release in enumerate(releases):
        for commit in release.commits:
            index_of[commit.sha] = index
    for ref in references:
        if ref.commit is not None and ref.commit in index_of:
            refs_of_release.setdefault(index_of[ref.commit], []).append(ref)

    notes: list[ReleaseNotes] = []
    for index, release in enumerate(releases):
        previous = _previous_tag(releases, index)
        refs = refs_of_release.get(index, [])
        result = build_entries(release.commits, head=release.head, references=refs, keep=keep)
        if release.tag is not None:
            version, tag_name, timestamp = release.tag.version, release.tag.name, release.tag.tag.timestamp
        else:
            breaking, feature = bump_flags(result.entries)
            version = next_version(
                previous.version if previous else None,
                breaking=breaking,
                feature=feature,
                requested=requested,
                first=config.first_version,
                first_prefix=config.first_prefix,
                prerelease=prerelease,
                reachable=_earlier_versions(releases, index, previous),
            )
            tag_name, timestamp = None, release.commits[0].timestamp
        shown = release.commits if keep is None else [c for c in release.commits if c.sha in keep]
        notes.append(
            build_notes(
                result,
                config,
                version=version,
                previous=previous.version if previous else None,
                tag=tag_name,
                previous_tag=previous.name if previous else None,
                head=release.head,
                timestamp=timestamp,
                commits=len(shown),
            )
        )
    return notes


def _previous_tag(releases: Sequence[ReleaseCommits], index: int) -> ReleaseTag | None:
    for later in releases[index + 1 :]:
        if later.tag is not None:
            return later.tag
    return None


def _earlier_versions(
    releases: Sequence[ReleaseCommits], index: int, previous: ReleaseTag | None
) -> tuple[Version, ...]:
    if previous is None:
        return ()
    line = previous.version.line
    return tuple(r.tag.version for r in releases[index + 1 :] if r.tag is not None and r.tag.version.line == line)


def _path_filter(repo: GitRepo, config: ReleaseConfig, head: str, base: str | None) -> set[str] | None:
    """The commits of head (not of base) that pass `include_paths`/`exclude_paths`; None: no filter."""
    if not config.path_filtered:
        return None
    revisions = [head, f"^{base}"] if base else [head]
    return repo.touching(revisions, pathspecs(config.include_paths, config.exclude_paths))


def _head_timestamp(repo: GitRepo, sha: str) -> int:
    top = repo.log(sha, max_count=1)
    return top[0].timestamp if top else 0
