"""Changelog entries from the commits of a release (newest first, as `git log` lists them).

- One entry per commit that survives revert cancellation, except merges without a conventional
  header and commits without a message:
  * a merge commit whose header is conventional (`feat!: the epic merge (#21189)`) is an entry like
    any other commit (the specification makes no exception for merges);
  * other merges (Bitbucket's `Merged in <branch> (pull request #N)`, GitHub's `Merge pull request
    #N from …`, git's `Merge branch …`) make no entry: their pull-request number, and for Bitbucket
    and GitHub merges the references in their message (the branch name), go to the commits they
    brought in (those reachable from their other parents and not from their first, within the
    release). Nested merges: the innermost pull request wins;
  * a commit with an empty (or blank) message has nothing to show; it is counted in `empty`.
- A squash merge (`feat: x (pull request #12)`, `fix: y (#23302)`, `z (!45)`) is one entry for that
  pull request; the suffix is taken off the description (see `pulls`).
- Reverts: only a real revert reverts: git's `Revert "<subject>"` (or `Reapply "<subject>"`) and a
  Conventional `revert:` header, each with the hashes it reverts (`This reverts commit <sha>`, or
  for `revert:` also `Refs: <sha>[, <sha>]`). A squash whose body quotes `This reverts commit …`
  (a pull request that contained a revert) is not a revert. When everything a revert reverts is in
  the release, the revert and the reverted commits cancel out (a reverted merge takes the commits it
  merged with it); reverts are matched newest first, so a revert of a revert brings the original
  back. A revert of a commit outside the release stays, as an entry of type `revert`.
- Entry keys (`Entry.key`), used to upsert rows, stable across re-runs of the same history:
  `pr-<N>` for a squash merge of pull request N, else the first 12 hex digits of the commit sha.
  Should two entries of one release get the same key (a PR squashed twice), the later-listed ones
  get `-<sha12>` appended. Keys are unique within one release, not across releases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from pipe.commits import Commit, Reference, ReferenceKind
from pipe.references import find_references, parse_bitbucket_merge
from pipe.release import conventional, pulls
from pipe.release.conventional import ConventionalCommit, Footer

KEY_SHA_LENGTH = 12
_REVERTS_COMMIT = re.compile(r"This reverts commit (?P<sha>[0-9a-fA-F]{7,40})\b")
_GIT_REVERT_SUBJECT = re.compile(r'(?:Revert|Reapply) "(?P<subject>.*)"')
_SHA = re.compile(r"\b[0-9a-fA-F]{7,40}\b")


class RecordRef(NamedTuple):
    """A work item an entry mentions; `title`/`url` are filled by the caller once resolved."""

    id_or_key: str
    title: str | None = None
    url: str | None = None


class Entry(NamedTuple):
    """One line of the release notes (`entry._replace(...)` to change one)."""

    key: str
    sha: str
    type: str | None  # lower-case Conventional Commits type; None when not conventional
    scope: str | None
    description: str
    subject: str
    body: str
    footers: tuple[Footer, ...]
    breaking: bool
    breaking_description: str | None
    conventional: bool
    author_name: str
    author_email: str
    timestamp: int
    pr_number: int | None = None
    reverts: tuple[str, ...] = ()  # shas (or abbreviations) this entry reverts, when it is a revert
    references: tuple[Reference, ...] = ()
    records: tuple[RecordRef, ...] = ()

    @property
    def short_sha(self) -> str:
        return self.sha[:7]

    @property
    def headline(self) -> str:
        """The subject without a pull-request suffix (for entries shown without a type)."""
        return pulls.without_suffix(self.subject)


class EntriesResult(NamedTuple):
    entries: list[Entry]
    cancelled: tuple[tuple[str, str], ...] = ()  # (revert sha, reverted sha)
    merges: int = 0
    conventional: int = 0  # commits with a conventional header (merges too), cancelled ones included
    empty: int = 0  # commits left out because their message is empty


def build_entries(
    commits: Sequence[Commit],
    *,
    head: str | None = None,
    key_pattern: re.Pattern[str] | None = None,
    references: Sequence[Reference] | None = None,
    keep: set[str] | None = None,
) -> EntriesResult:
    """Entries of a release whose commits are `commits` (newest first), in the same order.

    `head` is the newest commit of the release (default `commits[0]`); `references` are the
    `find_references` results for these commits when the caller already has them. With `keep`
    (the path filter), only those commits make entries and are counted; all of `commits` still
    serve to attribute merges and cancel reverts.
    """
    if not commits:
        return EntriesResult([])
    by_sha = {c.sha: c for c in commits}
    head = head if head in by_sha else commits[0].sha
    introduced = _introduced_by_merges(head, by_sha)
    parts = {c.sha: conventional.split_message(c.message) for c in commits}  # split once, used twice
    parsed = {sha: conventional.parse_parts(*split) for sha, split in parts.items()}
    targets = {sha: found for sha, p in parsed.items() if (found := revert_targets(by_sha[sha], p))}
    cancelled_pairs = _cancel_reverts(commits, targets, by_sha, introduced)
    cancelled = {sha for pair in cancelled_pairs for sha in pair}
    for _, target in cancelled_pairs:
        cancelled.update(introduced.get(target, ()))

    if references is None:
        references = find_references(None, commits, key_pattern)
    refs_of: dict[str, list[Reference]] = {}
    for ref in references:
        if ref.commit:
            refs_of.setdefault(ref.commit, []).append(ref)
    pr_of, merge_refs = _merge_attribution(commits, parsed, introduced, refs_of)

    entries: list[Entry] = []
    seen_keys: set[str] = set()
    empty = 0
    counted = commits if keep is None else [c for c in commits if c.sha in keep]
    for commit in counted:
        if commit.sha in cancelled or (commit.is_merge and parsed[commit.sha] is None):
            continue
        if not commit.message.strip():
            empty += 1
            continue
        own, merged = refs_of.get(commit.sha), merge_refs.get(commit.sha)
        refs = _unique_refs([*(own or ()), *(merged or ())]) if own or merged else []
        entry = _entry(
            commit, parts[commit.sha], parsed[commit.sha], targets.get(commit.sha, ()), pr_of.get(commit.sha), refs
        )
        if entry.key in seen_keys:
            entry = entry._replace(key=f"{entry.key}-{commit.sha[:KEY_SHA_LENGTH]}")
        seen_keys.add(entry.key)
        entries.append(entry)
    merges = sum(1 for c in counted if c.is_merge)
    conventional_count = sum(1 for c in counted if parsed[c.sha] is not None)
    return EntriesResult(entries, tuple(cancelled_pairs), merges, conventional_count, empty)


def revert_targets(commit: Commit, parsed: ConventionalCommit | None) -> tuple[str, ...]:
    """Shas (possibly abbreviated, lower case) a commit reverts; () when it is not a revert.

    A revert is git's `Revert "…"` / `Reapply "…"` or a `revert:` header; any other commit that
    quotes `This reverts commit …` (a squash of a pull request holding a revert) is not one.
    `parsed` is `conventional.parse(commit.message)`.
    """
    is_revert_type = parsed is not None and parsed.type == "revert"
    if not is_revert_type and not _may_be_git_revert(commit.message):
        return ()
    if not is_revert_type and not _GIT_REVERT_SUBJECT.match(commit.subject):
        return ()
    found = [m["sha"].lower() for m in _REVERTS_COMMIT.finditer(commit.message)]
    if not found and parsed is not None and is_revert_type:
        for value in parsed.footer_values("Refs", "Reverts", "Revert"):
            found += [m.group(0).lower() for m in _SHA.finditer(value)]
    return tuple(dict.fromkeys(found))


def _may_be_git_revert(message: str) -> bool:
    # cheaper than `Commit.subject` (which splits the whole message), and true whenever the subject
    # starts with Revert/Reapply: the subject is the message's first line, stripped
    return message.lstrip().startswith(("Revert", "Reapply"))


def _entry(
    commit: Commit,
    split: tuple[str, str],
    parsed: ConventionalCommit | None,
    targets: tuple[str, ...],
    merge_pr: int | None,
    refs: list[Reference],
) -> Entry:
    subject, rest = split
    squash_pr = pulls.suffix_number(subject)
    if parsed is not None:
        kind, scope, description = parsed.type, parsed.scope, parsed.description
        body, footers = parsed.body, parsed.footers
        breaking, breaking_description = parsed.breaking, parsed.breaking_description
    else:
        kind, scope, description = None, None, subject
        body, footers = rest.strip(), ()
        breaking, breaking_description = False, None
        if targets:
            kind, scope, description = "revert", *_git_revert_description(subject)
    description = pulls.without_suffix(description)
    pr_number = squash_pr if squash_pr is not None else merge_pr
    key = f"pr-{squash_pr}" if squash_pr is not None else commit.sha[:KEY_SHA_LENGTH]
    return Entry(
        key=key,
        sha=commit.sha,
        type=kind,
        scope=scope,
        description=description,
        subject=subject,
        body=body,
        footers=footers,
        breaking=breaking,
        breaking_description=breaking_description,
        conventional=parsed is not None,
        author_name=commit.author_name,
        author_email=commit.author_email,
        timestamp=commit.timestamp,
        pr_number=pr_number,
        reverts=targets,
        references=tuple(refs),
        records=tuple(RecordRef(value) for value in dict.fromkeys(r.value for r in refs)) if refs else (),
    )


def _git_revert_description(subject: str) -> tuple[str | None, str]:
    """(scope, description) for `Revert "<subject>"`: the reverted commit's own description."""
    match = _GIT_REVERT_SUBJECT.fullmatch(subject)
    if not match:
        return None, subject
    inner = match["subject"]
    header = conventional.parse_header(inner)
    if header is None:
        return None, inner
    scope = header["scope"].strip() if header["scope"] else None
    return scope, header["description"].strip()


def _unique_refs(refs: list[Reference]) -> list[Reference]:
    seen: set[tuple[ReferenceKind, str]] = set()
    unique = []
    for ref in refs:
        if (ref.kind, ref.value) not in seen:
            seen.add((ref.kind, ref.value))
            unique.append(ref)
    return unique


def _cancel_reverts(
    commits: Sequence[Commit],
    targets: dict[str, tuple[str, ...]],
    by_sha: dict[str, Commit],
    introduced: dict[str, set[str]],
) -> list[tuple[str, str]]:
    """(revert, reverted) pairs that cancel out, matching reverts newest first."""
    cancelled: set[str] = set()
    pairs: list[tuple[str, str]] = []
    for commit in commits:
        if commit.sha in cancelled or commit.sha not in targets:
            continue
        resolved = [_resolve(t, by_sha) for t in targets[commit.sha]]
        if any(sha is None or sha in cancelled or sha == commit.sha for sha in resolved):
            continue
        cancelled.add(commit.sha)
        for sha in resolved:
            assert sha is not None
            cancelled.add(sha)
            cancelled.update(introduced.get(sha, ()))
            pairs.append((commit.sha, sha))
    return pairs


def _resolve(sha: str, by_sha: dict[str, Commit]) -> str | None:
    """The full sha in `by_sha` that `sha` (full or abbreviated) names, if exactly one."""
    if sha in by_sha:
        return sha
    if len(sha) >= 40:
        return None
    matches = [full for full in by_sha if full.startswith(sha)]
    return matches[0] if len(matches) == 1 else None


def _introduced_by_merges(head: str, by_sha: dict[str, Commit]) -> dict[str, set[str]]:
    """For each merge commit of the release: the release's commits it brings in (reachable from
    its other parents and not from its first parent), computed for the whole release in one pass
    per level of merge nesting."""
    introduced: dict[str, set[str]] = {}
    scope = set(by_sha)
    pending: list[tuple[str, set[str]]] = [(head, scope)]
    while pending:
        start, allowed = pending.pop()
        owner = _owners(start, allowed, by_sha)
        groups: dict[str, set[str]] = {}
        for sha, chain_commit in owner.items():
            if sha != chain_commit:
                groups.setdefault(chain_commit, set()).add(sha)
        for merge, brought in groups.items():
            introduced.setdefault(merge, set()).update(brought)
            for parent in by_sha[merge].parents[1:]:
                if parent in brought:
                    pending.append((parent, brought))
    return introduced


def _owners(start: str, allowed: set[str], by_sha: dict[str, Commit]) -> dict[str, str]:
    """For each commit of `allowed` reachable from `start`: the commit on `start`'s first-parent
    chain that introduced it (the newest chain commit whose first parent does not reach it)."""
    chain = []
    sha: str | None = start
    while sha is not None and sha in allowed:
        chain.append(sha)
        parents = by_sha[sha].parents
        sha = parents[0] if parents else None
    owner: dict[str, str] = {}
    for chain_commit in reversed(chain):
        stack = [chain_commit]
        while stack:
            current = stack.pop()
            if current in owner or current not in allowed:
                continue
            owner[current] = chain_commit
            stack.extend(by_sha[current].parents)
    return owner


def _merge_attribution(
    commits: Sequence[Commit],
    parsed: dict[str, ConventionalCommit | None],
    introduced: dict[str, set[str]],
    refs_of: dict[str, list[Reference]],
) -> tuple[dict[str, int], dict[str, list[Reference]]]:
    """PR number and merge-message references for the commits that merges brought in.

    Every merge naming a pull request gives its number; Bitbucket and GitHub merges, which make no
    entry of their own, also give the references of their message (the source branch name).
    Enclosing merges are applied before nested ones (which bring in subsets of theirs), so the
    innermost pull request's number wins; references of every enclosing merge are kept.
    """
    pr_of: dict[str, int] = {}
    merge_refs: dict[str, list[Reference]] = {}
    numbered: list[tuple[Commit, int, bool]] = []  # (merge, pull request, passes its references on)
    for commit in commits:
        if commit.is_merge and commit.sha in introduced:
            header = conventional.normalise(commit.subject)
            number = pulls.merge_number(header)
            if number is not None:
                hosted = parsed[commit.sha] is None and (
                    parse_bitbucket_merge(header) is not None or pulls.is_github_merge(header)
                )
                numbered.append((commit, number, hosted))
    # larger sets first: an enclosing merge brings in a superset of what a nested one brings
    numbered.sort(key=lambda item: len(introduced[item[0].sha]), reverse=True)
    for merge, pr, hosted in numbered:
        refs = refs_of.get(merge.sha, []) if hosted else []
        for sha in introduced[merge.sha]:
            pr_of[sha] = pr
            if refs:
                merge_refs.setdefault(sha, []).extend(refs)
    return pr_of, merge_refs
