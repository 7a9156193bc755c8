"""The commits of a release: since the previous release tag reachable from HEAD.

- Release tags are the tags whose name matches the tag pattern (default `TAG_PATTERN`: semantic
  versions with or without `v`) and carries a semantic version at its end; floating tags such as
  `v10` or `v10.6` never match the default pattern, and would be skipped anyway for want of a
  full version.
- The previous release is the highest version (SemVer order, not date) among the release tags
  that are ancestors of HEAD and do not point at HEAD itself. Ancestry costs one git call for all
  tags (`git for-each-ref --merged=<head> refs/tags`).
- Tag build (`tag` given, i.e. BITBUCKET_TAG, or HEAD exactly at a release tag, the highest one if
  several): the range is that tag's release, previous..tag, where previous is taken among the
  ancestor tags of lower version when there are any.
- A version's tag prefix is part of its identity (`Version.line`): the previous release of
  `create-vite@9.1.2` is the highest `create-vite@…` tag below it, never `v7.1.0` or
  `plugin-legacy@7.2.0`. A tag asked for by name (BITBUCKET_TAG) that ends in a version is a release
  of its line even when the tag pattern leaves it out (the default pattern ignores monorepo tags
  such as `create-vite@9.1.2`, until one is built).
- Tags are peeled to their commit, tags of tags too; a tag asked for that points at a tree or a blob
  is reported as such.
- Shallow clone and no previous release in sight: tags are fetched (`git fetch --tags`) and the
  history deepened `deepen_step` commits at a time (at most `max_deepen_steps` times) until a release
  tag becomes reachable or the history is complete; what was fetched, and a warning when the history
  is still cut short, are returned in `CommitRange.fetched` / `.warnings`. Once some release tag is
  reachable the search stops (releases are assumed to grow along history).
- No previous release: the range is the whole history.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pipe.clients.git import GitError, GitRepo
from pipe.commits import Commit, CommitRange, Tag
from pipe.release.config import TAG_PATTERN, compile_tag_pattern
from pipe.release.version import Version

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)

if TYPE_CHECKING:
    import logging  # imported only when a shallow clone is deepened

FULL_DEPTH_HINT = "set `clone: depth: full` for this step in bitbucket-pipelines.yml"


class ReleaseTag(NamedTuple):
    """A release tag and the version in its name."""

    tag: Tag
    version: Version

    @property
    def name(self) -> str:
        return self.tag.name

    @property
    def sha(self) -> str:
        return self.tag.sha


class ReleaseRange(NamedTuple):
    previous_tag: Tag | None
    tag: Tag | None  # the tag being released (tag build), None for unreleased commits
    commit_range: CommitRange
    previous_version: Version | None = None
    version: Version | None = None  # the tag's version on a tag build
    reachable: tuple[Version, ...] = ()  # versions of the line's release tags before this one (numbering)

    @property
    def commits(self) -> tuple[Commit, ...]:
        return self.commit_range.commits


def release_tags(tags: list[Tag], pattern: re.Pattern[str] | str = TAG_PATTERN) -> list[ReleaseTag]:
    """The tags that are releases, highest version first."""
    pattern = compile_tag_pattern(pattern)
    found = []
    for tag in tags:
        if pattern.search(tag.name):
            version = Version.parse(tag.name)
            if version is not None:
                found.append(ReleaseTag(tag, version))
    found.sort(key=lambda t: t.version.sort_key(), reverse=True)
    return found


def merged_tags(repo: GitRepo, head: str) -> list[Tag]:
    """The tags whose commit is `head` or one of its ancestors, in one `git for-each-ref` call."""
    return repo.tags(merged=head)


def release_range(
    repo: GitRepo,
    *,
    tag_pattern: re.Pattern[str] | str = TAG_PATTERN,
    tag: str | None = None,
    head: str | None = None,
    include_prereleases: bool = True,
    remote: str = "origin",
    deepen_step: int = 100,
    max_deepen_steps: int = 20,
    logger: logging.Logger | None = None,
) -> ReleaseRange:
    """The release HEAD (or `head`, i.e. BITBUCKET_COMMIT) makes; `tag` is BITBUCKET_TAG.

    Never raises for missing history or an unreachable remote (warnings instead); raises GitError
    only when neither `tag`, `head` nor HEAD names a commit.
    """
    pattern = compile_tag_pattern(tag_pattern)
    warnings: list[str] = []
    fetched: list[str] = []
    head_sha, tag = _resolve_head(repo, tag, head, warnings)

    candidates, current = _candidates(repo.tag_targets(), pattern, tag, head_sha, warnings)
    candidates = _merged_candidates(repo, head_sha, candidates)
    current = next((t for t in candidates if current is not None and t.name == current.name), None)
    previous = _previous(candidates, head_sha, current, include_prereleases)

    if previous is None and repo.is_shallow():
        previous = _search_shallow(
            repo,
            head_sha,
            pattern,
            current,
            include_prereleases,
            remote,
            deepen_step,
            max_deepen_steps,
            fetched,
            warnings,
            logger,
        )
        # the tag at HEAD, and more of the line's tags, may have arrived with the fetch
        candidates, found = _candidates(repo.tags(merged=head_sha), pattern, tag, head_sha, [])
        current = current or found

    short = head_sha[:7]
    to_label = current.name if current else short
    if previous is not None:
        commits = repo.log(head_sha, f"^{previous.sha}")
        description = f"{previous.name}..{to_label}"
    else:
        commits = repo.log(head_sha)
        description = f"whole history up to {to_label} (no previous release tag)"
    commit_range = CommitRange(
        head=head_sha,
        base=previous.sha if previous else None,
        commits=tuple(commits),
        description=description,
        warnings=tuple(warnings),
        fetched=tuple(fetched),
    )
    return ReleaseRange(
        previous_tag=previous.tag if previous else None,
        tag=current.tag if current else None,
        commit_range=commit_range,
        previous_version=previous.version if previous else None,
        version=current.version if current else None,
        reachable=_reachable(candidates, head_sha, current, previous),
    )


QUICK_ANCESTRY_CHECK = 16


def _merged_candidates(repo: GitRepo, head_sha: str, candidates: list[ReleaseTag]) -> list[ReleaseTag]:
    """The release tags (highest first) whose commit is `head_sha` or one of its ancestors, dated.

    Asking git which of all 1,000 tags are ancestors (`for-each-ref --merged`) walks most of the
    history; the previous release is nearly always among the highest versions, so git is first asked
    about the tags at `head_sha` and the `QUICK_ANCESTRY_CHECK` highest others only. That answer is
    complete once it holds a release that is not a pre-release (everything above it was asked
    about); else all tags are asked about.
    """
    at_head = [t for t in candidates if t.sha == head_sha]
    others = [t for t in candidates if t.sha != head_sha]
    asked = at_head + others[:QUICK_ANCESTRY_CHECK]
    merged = repo.merged_tag_names(head_sha, [t.name for t in asked]) if asked else {}
    found = [t for t in others[:QUICK_ANCESTRY_CHECK] if t.name in merged]
    complete = len(others) <= QUICK_ANCESTRY_CHECK or any(not t.version.is_prerelease for t in found)
    if not complete:
        merged = repo.merged_tag_names(head_sha)
    return [_dated(t, merged[t.name]) for t in candidates if t.name in merged]


def _dated(tag: ReleaseTag, timestamp: int) -> ReleaseTag:
    return ReleaseTag(Tag(tag.name, tag.sha, timestamp), tag.version)


def _resolve_head(repo: GitRepo, tag: str | None, head: str | None, warnings: list[str]) -> tuple[str, str | None]:
    """(sha of the release's newest commit, `tag` when it names a commit here, else None)."""
    fallback = head or "HEAD"
    if tag:
        sha = repo.rev_parse(f"refs/tags/{tag}")
        if sha:
            return sha, tag
        kind = repo.object_type(f"refs/tags/{tag}")
        if kind is None:
            warnings.append(f"tag {tag} is not in this clone; using {fallback} instead")
        else:
            warnings.append(f"tag {tag} points at a {kind}, not a commit; using {fallback} instead")
    missing = f"commit {head} is not in this clone; using HEAD instead"
    return repo.first_commit([(head, missing)], warnings.append), None


def _candidates(
    tags: list[Tag], pattern: re.Pattern[str], tag: str | None, head_sha: str, warnings: list[str]
) -> tuple[list[ReleaseTag], ReleaseTag | None]:
    """(release tags the previous release is chosen from, the tag being released or None).

    A tag asked for by name that ends in a version is released even when the pattern leaves it out;
    the previous release is then chosen among the tags of its line."""
    candidates = release_tags(tags, pattern)
    current = _current_tag(candidates, tag, head_sha)
    if tag and current is None:
        named = next((t for t in tags if t.name == tag and t.sha == head_sha), None)
        version = Version.parse(tag) if named is not None else None
        if named is not None and version is not None:
            current = ReleaseTag(named, version)
            candidates = _release_candidates(tags, pattern, current)
        else:
            warnings.append(
                f"tag {tag} is not a release tag (its name does not match the tag pattern or end in a version)"
            )
            current = _current_tag(candidates, None, head_sha)
    return candidates, current


_ANY = re.compile("")


def _release_candidates(tags: list[Tag], pattern: re.Pattern[str], current: ReleaseTag | None) -> list[ReleaseTag]:
    """The release tags; those of `current`'s line when `current` is outside the pattern."""
    if current is not None and not pattern.search(current.name):
        return [t for t in release_tags(tags, _ANY) if t.version.line == current.version.line]
    return release_tags(tags, pattern)


def _current_tag(candidates: list[ReleaseTag], tag: str | None, head_sha: str) -> ReleaseTag | None:
    at_head = [t for t in candidates if t.sha == head_sha]
    if tag:
        return next((t for t in at_head if t.name == tag), None)
    return at_head[0] if at_head else None


def _previous(
    candidates: list[ReleaseTag], head_sha: str, current: ReleaseTag | None, include_prereleases: bool
) -> ReleaseTag | None:
    eligible = [t for t in candidates if t.sha != head_sha and (include_prereleases or not t.version.is_prerelease)]
    if current is not None:
        eligible = [t for t in eligible if t.version.line == current.version.line]
        lower = [t for t in eligible if t.version.sort_key() < current.version.sort_key()]
        eligible = lower or eligible
    return eligible[0] if eligible else None


def _reachable(
    candidates: list[ReleaseTag], head_sha: str, current: ReleaseTag | None, previous: ReleaseTag | None
) -> tuple[Version, ...]:
    """Versions of the earlier releases of the line (of `current`, else of `previous`)."""
    anchor = current or previous
    if anchor is None:
        return ()
    return tuple(
        t.version
        for t in candidates
        if t.sha != head_sha
        and t.version.line == anchor.version.line
        and (current is None or t.version.sort_key() < current.version.sort_key())
    )


def _search_shallow(
    repo: GitRepo,
    head_sha: str,
    pattern: re.Pattern[str],
    current: ReleaseTag | None,
    include_prereleases: bool,
    remote: str,
    deepen_step: int,
    max_deepen_steps: int,
    fetched: list[str],
    warnings: list[str],
    logger: logging.Logger | None,
) -> ReleaseTag | None:
    """Fetch tags, then deepen step by step until a previous release tag is reachable."""
    if logger is None:
        import logging

        logger = logging.getLogger(__name__)
    log = logger
    if repo.remote_url(remote) is None:
        warnings.append(
            f"this is a shallow clone without a git remote {remote!r}, so older release tags cannot be fetched; "
            f"the notes cover the commits available. To include the whole release, {FULL_DEPTH_HINT}"
        )
        return None

    def fetch(*args: str) -> bool:
        command = " ".join(("git fetch", *args))
        log.debug("running %s", command)
        try:
            repo.fetch(*args)
        except GitError as exc:
            warnings.append(f"could not fetch from the git remote {remote!r}: {exc}")
            return False
        fetched.append(command)
        return True

    def look() -> ReleaseTag | None:
        candidates = _release_candidates(repo.tags(merged=head_sha), pattern, current)
        return _previous(candidates, head_sha, current, include_prereleases)

    if not fetch("--tags", remote):
        return None
    previous = look()
    steps = 0
    while previous is None and steps < max_deepen_steps and repo.is_shallow():
        if not fetch(f"--deepen={deepen_step}", remote):
            return None
        steps += 1
        previous = look()
    if previous is None and repo.is_shallow():
        warnings.append(
            f"no previous release tag within the {deepen_step * steps} commits fetched beyond the shallow clone; "
            f"the notes cover the commits available. To include the whole release, {FULL_DEPTH_HINT}"
        )
    return previous
