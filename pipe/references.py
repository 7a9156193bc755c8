"""Find Airtable record IDs and human keys in branch names and commit messages.

A record ID is `rec` followed by exactly 14 ASCII letters or digits, matched case-sensitively and
kept verbatim (Airtable IDs are case-sensitive; see changelog-and-linking.md §7). A human key is
whatever the user's `KEY_PATTERN` regex matches, e.g. `FEAT-\\d+`. Both only count as whole tokens:
the characters around a match must not be ASCII letters or digits, so `feature/recAbCdEfGhIjKlMn-login`
and `.../tblX/recAbCdEfGhIjKlMn?blocks=hide` match but `xrecAbCdEfGhIjKlMn` does not.

Sources are the branch name, commit messages, and Bitbucket merge commits
(`Merged in <branch> (pull request #N)`), whose subject carries the source branch name, so IDs that
were only in a branch name survive the merge.

A `KEY_PATTERN` is the user's regex matched against text anyone who can push writes: a pattern with a
repeat inside a repeat, such as `(a+)+$`, takes exponential time on a long run of `a`s. So keys are
searched with the `regex` package, whose `timeout=` bounds the search (the standard `re` cannot be
interrupted), and all the searching of one `find_references` call is bounded by KEY_PATTERN_SECONDS.
The patterns stay `re.Pattern` objects everywhere else (validation, settings, messages).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable, Sequence

from pipe.commits import Commit, Reference, ReferenceKind, ReferenceSource
from pipe.errors import ConfigError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)

if TYPE_CHECKING:
    import regex

_EDGE_BEFORE = r"(?<![A-Za-z0-9])"
_EDGE_AFTER = r"(?![A-Za-z0-9])"
RECORD_ID = re.compile(_EDGE_BEFORE + r"rec[A-Za-z0-9]{14}" + _EDGE_AFTER)

# A word that looks like a record ID but is not one: `rec`/`REC` and 10 to 20 letters or digits, at least one
# a digit (so plain words such as "recommendations" never match), the wrong length or the wrong case.
_NEAR_RECORD_ID = re.compile(_EDGE_BEFORE + r"(?:rec|REC)(?=[A-Za-z]*[0-9])[A-Za-z0-9]{10,20}" + _EDGE_AFTER)

_BITBUCKET_MERGE = re.compile(r"Merged in (?P<branch>\S+) \(pull request #(?P<pr>\d+)\)\s*")
_PR_SUFFIX = re.compile(r"\(pull request #(?P<pr>\d+)\)\s*$")
# Global inline flags such as `(?i)` must open a pattern; they are moved in front of the wrapper.
_LEADING_FLAGS = re.compile(r"^\(\?[aiLmsux]+\)")
KEY_PATTERN_SECONDS = 2.0  # for all the key searching of one run (a sane pattern needs milliseconds)
# `re` flag -> the `regex` package's flag of the same name
_REGEX_FLAGS = {re.IGNORECASE: "IGNORECASE", re.MULTILINE: "MULTILINE", re.DOTALL: "DOTALL", re.VERBOSE: "VERBOSE"}


class KeyPatternTooSlow(ConfigError):
    """Searching a text for KEY_PATTERN took longer than the time allowed: the pattern backtracks."""


def compile_key_pattern(text: str, flags: int = 0) -> re.Pattern[str]:
    """Compile a `KEY_PATTERN` so it only matches whole tokens; `\\d` and `\\w` mean ASCII only.

    Raises ValueError with a readable reason when the regex is invalid or matches the empty string.
    Compiling the result's `.pattern` again gives the same pattern (the wrapping is not repeated).
    """
    if _is_wrapped(text):
        return re.compile(text, flags | re.ASCII)
    if not text.strip():
        raise ValueError("the key pattern is empty; give a regular expression such as FEAT-\\d+")
    try:
        bare = re.compile(text, flags | re.ASCII)
    except (re.error, ValueError) as exc:
        raise ValueError(f"{text!r} is not a valid regular expression: {exc}") from exc
    if bare.fullmatch("") is not None:
        raise ValueError(f"{text!r} matches the empty string; it must match at least one character")
    leading = _LEADING_FLAGS.match(text)
    prefix, body = (leading.group(0), text[leading.end() :]) if leading else ("", text)
    end = "\n" if bare.flags & re.VERBOSE else ""  # a trailing `# comment` must not swallow the `)`
    try:
        wrapped = re.compile(f"{prefix}{_EDGE_BEFORE}(?:{body}{end}){_EDGE_AFTER}", flags | re.ASCII)
    except re.error as exc:  # e.g. a body that only compiles at the start of a pattern
        raise ValueError(f"{text!r} cannot be used as a key pattern: {exc}") from exc
    import regex  # only with a key pattern: the release notes of a run without one never load it

    try:
        _searcher(wrapped.pattern, wrapped.flags)
    except (regex.error, ValueError) as exc:  # `re` syntax the `regex` package reads differently
        raise ValueError(f"{text!r} cannot be used as a key pattern: {exc}") from exc
    return wrapped


@functools.lru_cache(maxsize=16)
def _searcher(pattern: str, flags: int) -> regex.Pattern[str]:
    """The `re` pattern compiled by the `regex` package (its V0 mode follows `re`), to search with a timeout.
    Key patterns are always ASCII (compile_key_pattern)."""
    import regex

    translated = regex.V0 | (regex.ASCII if flags & re.ASCII else regex.UNICODE)
    for flag, name in _REGEX_FLAGS.items():
        if flags & flag:
            translated |= getattr(regex, name)
    return regex.compile(pattern, translated)


def _user_text(pattern: re.Pattern[str]) -> str:
    """The pattern as the user wrote it, without the token boundaries `compile_key_pattern` adds."""
    text = pattern.pattern
    leading = _LEADING_FLAGS.match(text)
    prefix, body = (leading.group(0), text[leading.end() :]) if leading else ("", text)
    start, end = _EDGE_BEFORE + "(?:", ")" + _EDGE_AFTER
    if body.startswith(start) and body.rstrip("\n").endswith(end):
        body = body[len(start) : len(body.rstrip("\n")) - len(end)]
    return prefix + body.removesuffix("\n")


def _is_wrapped(text: str) -> bool:
    body = _LEADING_FLAGS.sub("", text)
    return body.startswith(_EDGE_BEFORE + "(?:") and body.rstrip("\n").endswith(")" + _EDGE_AFTER)


def token_pattern(pattern: re.Pattern[str] | str) -> re.Pattern[str]:
    """`pattern` as `compile_key_pattern` makes it, whether given as text or compiled by someone else
    (its flags are kept, except that classes become ASCII-only)."""
    if isinstance(pattern, str):
        return compile_key_pattern(pattern)
    return compile_key_pattern(pattern.pattern, pattern.flags & ~re.UNICODE)


def parse_bitbucket_merge(subject: str) -> tuple[str, int] | None:
    """(source branch, pull request number) of a `Merged in <branch> (pull request #N)` subject."""
    match = _BITBUCKET_MERGE.fullmatch(subject.strip())
    return (match["branch"], int(match["pr"])) if match else None


def parse_squash_pr_number(subject: str) -> int | None:
    """N of a subject ending in `(pull request #N)` (Bitbucket squash merges and merge commits)."""
    match = _PR_SUFFIX.search(subject)
    return int(match["pr"]) if match else None


def scan_text(
    text: str, key_pattern: re.Pattern[str] | None = None, *, timeout: float = KEY_PATTERN_SECONDS
) -> list[tuple[ReferenceKind, str]]:
    """Record IDs and keys in `text`, in the order they appear (repeats included).

    `key_pattern` must come from `compile_key_pattern` or `token_pattern` (it carries the token
    boundaries); `find_references` takes care of that itself. Searching for keys takes at most `timeout`
    seconds, else KeyPatternTooSlow.
    """
    if key_pattern is None:  # the common case, and most texts have no record ID: skip the sort
        return [(ReferenceKind.RECORD_ID, m.group(0)) for m in RECORD_ID.finditer(text)] if "rec" in text else []
    found = [(m.start(), 0, ReferenceKind.RECORD_ID, m.group(0)) for m in RECORD_ID.finditer(text)]
    searcher = _searcher(key_pattern.pattern, key_pattern.flags)
    try:
        keys = [m for m in searcher.finditer(text, timeout=max(timeout, 0.001)) if m.group(0)]
    except TimeoutError:
        raise KeyPatternTooSlow(_too_slow(key_pattern, timeout, len(text))) from None
    found += [(m.start(), 1, ReferenceKind.KEY, m.group(0)) for m in keys]
    return [(kind, value) for _, _, kind, value in sorted(found)]


def _too_slow(pattern: re.Pattern[str], seconds: float, length: int, where: str = "a text") -> str:
    return (
        f"KEY_PATTERN: searching {where} ({length:,} characters) for {_user_text(pattern)!r} took longer than "
        f"{seconds:g}s: the pattern backtracks (a repeat inside a repeat, such as (a+)+ or (\\w+\\s?)+, tries "
        "exponentially many ways to match a long text). Simplify it, e.g. FEAT-\\d+; nothing was written."
    )


def find_references(
    branch: str | None,
    commits: Sequence[Commit],
    key_pattern: re.Pattern[str] | None,
) -> list[Reference]:
    """Every reference in the branch name and the commits, each (kind, value, source, commit) once.

    `key_pattern` is the user's `KEY_PATTERN`, compiled by `compile_key_pattern` or not (either way
    it is matched as a whole token). `commits` are newest first, as `GitRepo.log` and
    `CommitRange.commits` give them. The result lists the branch's references first, then the
    commits' from the oldest commit to the newest, each message's in reading order.
    """
    key_pattern = token_pattern(key_pattern) if key_pattern is not None else None
    deadline = time.monotonic() + KEY_PATTERN_SECONDS

    def scan(text: str, where: str) -> list[tuple[ReferenceKind, str]]:
        try:
            return scan_text(text, key_pattern, timeout=deadline - time.monotonic())
        except KeyPatternTooSlow:
            assert key_pattern is not None
            raise KeyPatternTooSlow(_too_slow(key_pattern, KEY_PATTERN_SECONDS, len(text), where)) from None

    refs: dict[Reference, None] = {}  # an ordered set
    if branch:
        for kind, value in scan(branch, "the branch name"):
            refs.setdefault(Reference(kind, value, ReferenceSource.BRANCH))
    for commit in reversed(commits):
        # (the prefix test first: `Commit.subject` splits the whole message)
        merged = commit.message.lstrip().startswith("Merged in") and parse_bitbucket_merge(commit.subject) is not None
        source = ReferenceSource.MERGE_COMMIT if merged else ReferenceSource.COMMIT
        for kind, value in scan(commit.message, f"the message of commit {commit.short_sha}"):
            refs.setdefault(Reference(kind, value, source, commit.sha))
    return list(refs)


def near_miss_record_ids(texts: Iterable[str]) -> list[str]:
    """Words of `texts` that look like Airtable record IDs but are not (`rec` + 13 or 15 characters, an ID
    typed in capitals...), in first-seen order: the run ignores them, and should say so."""
    found: dict[str, None] = {}
    for text in texts:
        for match in _NEAR_RECORD_ID.finditer(text):
            if not RECORD_ID.fullmatch(match.group(0)):
                found.setdefault(match.group(0))
    return list(found)


def unique_values(refs: Iterable[Reference], kind: ReferenceKind | None = None) -> list[str]:
    """The distinct values of `refs` (only of `kind`, when given), in first-seen order."""
    return list(dict.fromkeys(r.value for r in refs if kind is None or r.kind == kind))
