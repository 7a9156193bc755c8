"""Mask secrets in what the pipe gathers before anything uses it: a token pasted into a commit message
must not reach the CHANGELOG, Coda, Airtable, the journal or the report.

Commit messages are masked once, at gather time, with the run's Redactor (the secrets it was given and
every token shape pipe.log knows); each masked commit gives one warning, so the user knows to revoke it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipe.log import REDACTED, Redactor
from pipe.model import Commit


def mask_text(text: str, redactor: Redactor, where: str) -> tuple[str, str | None]:
    """`text` masked, and a warning naming `where` when anything was masked."""
    masked, changed = redactor.mask(text)
    return masked, (masked_warning(where) if changed else None)


def mask_commits(commits: Sequence[Commit], redactor: Redactor) -> tuple[list[Commit], list[str]]:
    """The commits with their messages masked (the others unchanged, in the same order), and one warning
    per commit whose message was masked."""
    result: list[Commit] = []
    warnings: list[str] = []
    for commit in commits:
        message, warning = mask_text(commit.message, redactor, f"the message of commit {commit.short_sha}")
        if warning is None:
            result.append(commit)
            continue
        result.append(commit._replace(message=message))
        warnings.append(warning)
    return result, warnings


def masked_warning(where: str) -> str:
    return (
        f"{where[:1].upper()}{where[1:]} holds a secret or a string shaped like a token (an Airtable personal "
        f"access token, a Bitbucket or Coda token, a password in a URL): the pipe writes it as {REDACTED} "
        "everywhere. If it is a real token, revoke it: it stays in the repository's history."
    )
