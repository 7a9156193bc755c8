"""Pull-request numbers in commit headers, in the forms Bitbucket, GitHub and GitLab write them.

| form | example | where |
|---|---|---|
| squash suffix | `fix: x (pull request #12)` | Bitbucket squash merges |
| squash suffix | `fix(ssr): y (#23302)` | GitHub squash merges |
| squash suffix | `feat: z (!45)` | GitLab squash merges |
| merge commit | `Merged in feature/x (pull request #12)` | Bitbucket merge commits (the suffix form) |
| merge commit | `Merge pull request #77 from owner/branch` | GitHub merge commits |

A suffix counts only at the very end of the header. `#` numbers elsewhere (`Refs #12`, `fixes #3`
in a description) are issue references, not pull requests.
"""

from __future__ import annotations

import re

_SUFFIX = re.compile(r"\s*\((?:pull request #|#|!)(?P<pr>\d+)\)\s*$")
_GITHUB_MERGE = re.compile(r"Merge pull request #(?P<pr>\d+) from \S+")


def _may_end_in_suffix(text: str) -> bool:
    # Most headers have no suffix; `_SUFFIX.search` would try its leading `\s*` at every position
    # of them (about 2 microseconds a header, twice per entry, 10,000 entries per changelog).
    return text.rstrip().endswith(")")


def suffix_number(header: str) -> int | None:
    """N of a header ending in `(pull request #N)`, `(#N)` or `(!N)`."""
    match = _SUFFIX.search(header) if _may_end_in_suffix(header) else None
    return int(match["pr"]) if match else None


def without_suffix(text: str) -> str:
    """`text` without a trailing pull-request suffix (unchanged when that would leave nothing)."""
    if not _may_end_in_suffix(text):
        return text
    return _SUFFIX.sub("", text) or text


def merge_number(header: str) -> int | None:
    """The pull request a merge commit's header names: a suffix, or GitHub's `Merge pull request #N`."""
    match = _GITHUB_MERGE.match(header)
    if match:
        return int(match["pr"])
    return suffix_number(header)


def is_github_merge(header: str) -> bool:
    return _GITHUB_MERGE.match(header) is not None
