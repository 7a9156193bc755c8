"""Branch names for records: `feature/<record ID>-<slug of the title>`, and which branches belong to a record.

The slug is what python-slugify makes of the title (transliterated to ASCII, lower case, runs of anything
else turned into one `-`), cut on a word boundary to at most SLUG_LIMIT characters. Its alphabet is
`[a-z0-9-]` with no leading, trailing or double `-`, so the name is a valid git ref whatever the title holds
(no `..`, `@{`, `.lock`, control characters, spaces or slashes can survive), and with the record ID's
`[A-Za-z0-9]` and the fixed prefix the whole name stays inside that alphabet (`BRANCH_NAME` checks it).

The build stage finds the record again by the ID in the branch name (pipe.references), so the slug must
name nothing else: words that are record IDs, look like one (a near miss the build would warn about), or match
KEY_PATTERN are left out of it.
"""

from __future__ import annotations

import re

from slugify import slugify

from pipe.references import RECORD_ID, near_miss_record_ids, scan_text, token_pattern

PREFIX = "feature/"
SLUG_LIMIT = 48  # characters of the title part: the whole name is at most 8 + 17 + 1 + 48 = 74
BRANCH_NAME = re.compile(r"feature/rec[A-Za-z0-9]{14}(?:-[a-z0-9]+)*")
_MAX_PASSES = 10  # removing a key can join two words into a new one; a title never needs more passes


def branch_name(record_id: str, title: str, key_pattern: re.Pattern[str] | None = None) -> str:
    """`feature/<record ID>-<slug>`, or `feature/<record ID>` when nothing of the title is left (only emoji)."""
    slug = title_slug(title, key_pattern)
    name = f"{PREFIX}{record_id}-{slug}" if slug else f"{PREFIX}{record_id}"
    if not BRANCH_NAME.fullmatch(name):  # the alphabet above makes this impossible; never create anything else
        raise ValueError(f"not a valid branch name for record {record_id!r}: {name!r}")
    return name


def title_slug(title: str, key_pattern: re.Pattern[str] | None = None) -> str:
    """The title as `[a-z0-9-]` words, none of them a reference to a record, at most SLUG_LIMIT characters."""
    words = [w for w in slugify(title).split("-") if w and not _looks_like_a_record_id(w)]
    text = "-".join(words)
    if key_pattern is not None:
        text = _without_keys(text, token_pattern(key_pattern))
    return slugify(text, max_length=SLUG_LIMIT, word_boundary=True)


def own_prefix(word: str) -> str:
    return f"{PREFIX}{word}"


def belongs_to(branch: str, word: str) -> bool:
    """`feature/<word>` itself, or followed by anything but another letter or digit (a longer word would be
    another ID or key, or none). `word`: the record's ID, or its key (KEY_FIELD)."""
    prefix = own_prefix(word)
    if not branch.startswith(prefix):
        return False
    rest = branch[len(prefix) :]
    return not rest or not rest[0].isascii() or not rest[0].isalnum()


def other_records(branch: str, record_id: str) -> list[str]:
    """The record IDs a branch name refers to, when it does not refer to `record_id`: the branch belongs to
    another record. Empty when it names `record_id` (too) or no record at all."""
    found = list(dict.fromkeys(m.group(0) for m in RECORD_ID.finditer(branch)))
    return [] if record_id in found else found


def _looks_like_a_record_id(word: str) -> bool:
    return bool(RECORD_ID.fullmatch(word)) or bool(near_miss_record_ids([word]))


def _without_keys(text: str, pattern: re.Pattern[str]) -> str:
    for _ in range(_MAX_PASSES):
        keys = [value for _kind, value in scan_text(text, pattern)]
        if not keys:
            return text
        for key in keys:  # as whole words only, as the build finds them
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(key)}(?![A-Za-z0-9])", "-", text)
        text = "-".join(w for w in text.split("-") if w)
    return ""  # still keys after every pass: better no slug than one naming another record
