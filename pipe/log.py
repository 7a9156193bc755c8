"""Logging to the step's log: every secret redacted whatever its encoding, and no value able to forge a line.

Redaction. Known secret values (the tokens the pipe was given) are replaced plain, URL-encoded and
base64-encoded; strings shaped like tokens are replaced even when their value is unknown (a token pasted
into a commit message). `mask()` does the same to any text and says whether it replaced anything, for the
text the pipe writes elsewhere (CHANGELOG, Coda, Airtable, journal, report).

Token shapes, and how sure they are:
* Airtable personal access token: `pat` + 14 letters or digits + `.` + 64 hex digits. The de-facto format
  secret scanners use (reference airtable-api.md §5.1); Airtable does not document it.
* Bitbucket: API tokens start `ATAT`, app passwords `ATBB`, access tokens (repository, project,
  workspace) `ATCT`: prefixes an Atlassian staff member gave on the Atlassian Community forum (not in the
  reference files). The length and alphabet after the prefix are a guess: 20 or more of `A-Za-z0-9_-=`.
* Coda API token: a UUID (the OpenAPI file's `bearerFormat: UUID`, reference coda-api.md §1). A bare UUID
  is also how Bitbucket and many tools name ordinary things, so a UUID is only masked after a word that
  says it is a credential (`Bearer`, `token`, `coda…`, `api key`, `secret`, `password`).
* Any scheme: the token after `Authorization: Bearer` / `Basic`, and the password in a URL's
  `user:password@` (Bitbucket clones with `x-token-auth:<token>@`).

Escaping. Branch names, commit subjects, record titles and answers from the services may hold line
breaks and control characters (`\\n`, `\\r`, ANSI escapes, `\\x00`): printed as they are they can forge a
log line (`\\nINFO: Done: 0 failed`) or rewrite one on screen. The formatter escapes them: every argument
of a log call is escaped completely, and so is the message itself, except a line break followed by
indentation, which is how the pipe lays out its own multi-line messages (`  - problem` lists). So every
line of the log starts either with a level the pipe wrote (`ERROR: `) or with indentation.
"""

from __future__ import annotations

import base64
import logging
import numbers
import re
import sys
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"

_EDGE = r"(?<![A-Za-z0-9])"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z])"
# (pattern, replacement): replacements keep the words around the token, so the text still reads.
_TOKEN_SHAPES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(_EDGE + r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}(?![A-Za-z0-9])"), REDACTED),
    (re.compile(_EDGE + r"AT(?:AT|BB|CT)[A-Za-z0-9_=\-]{20,}"), REDACTED),
    (
        re.compile(
            r"(?i)(\b(?:bearer|token|coda[a-z_-]*|api[ _-]?key|secret|password)\b[\"']?\s*[:=]?\s*[\"']?\s*)" + _UUID
        ),
        rf"\1{REDACTED}",
    ),
    # a word after Bearer/Basic with a digit and a letter in it ("basic authentication" stays)
    (
        re.compile(r"(?i)(\b(?:bearer|basic)\s+)(?=[\w.~+/=-]*[0-9])(?=[\w.~+/=-]*[A-Za-z])[\w.~+/=-]{16,}"),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^\s/:@]*:)[^\s/@]+(@)"), rf"\1{REDACTED}\2"),
]


def mask(text: str, secrets: Iterable[str] = ()) -> tuple[str, bool]:
    """`text` with the given secrets (plain and encoded, see Redactor) and every token-shaped string replaced
    by [redacted], and whether anything was replaced. Pure: for commit messages and anything else the pipe
    writes."""
    return Redactor(list(secrets)).mask(text)


class Redactor:
    """Replaces known secret values (plain, URL-encoded, base64) and token-shaped strings."""

    def __init__(self, secrets: list[str] | None = None):
        self._variants: list[str] = []
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str) -> None:
        if not secret or len(secret) < 4:
            return
        variants = {secret, quote(secret, safe=""), quote_plus(secret)}
        for text in (secret, f"Bearer {secret}", f":{secret}"):
            variants.add(base64.b64encode(text.encode()).decode().rstrip("="))
        self._variants.extend(sorted(variants - set(self._variants), key=len, reverse=True))

    def mask(self, text: str) -> tuple[str, bool]:
        """The text redacted, and whether anything was replaced."""
        masked = text
        for variant in self._variants:
            if variant in masked:
                masked = masked.replace(variant, REDACTED)
        for shape, replacement in _TOKEN_SHAPES:
            masked = shape.sub(replacement, masked)
        return masked, masked != text

    def __call__(self, text: str) -> str:
        return self.mask(text)[0]


# -- escaping -----------------------------------------------------------------------------------------

# Control characters (C0 but tab, DEL, C1), Unicode line and paragraph separators, and the bidirectional
# embeddings, overrides and isolates (they reorder what is shown). Hand-written: `repr()` and the
# `unicode_escape` codec would also escape every non-ASCII letter, emoji and right-to-left word.
_OTHER_UNSAFE = r"\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_VALUE = re.compile(rf"[\x00-\x08\x0a-\x1f{_OTHER_UNSAFE}]")
_UNSAFE_IN_MESSAGE = re.compile(rf"\n(?![ \t])|[\x00-\x08\x0b-\x1f{_OTHER_UNSAFE}]")  # all but continuations
_NAMED = {"\n": "\\n", "\r": "\\r"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


def escape_value(text: str) -> str:
    """`text` on one line: line breaks and control characters shown as escapes (`\\n`, `\\x1b`, `\\u202e`)."""
    return _UNSAFE_IN_VALUE.sub(_escaped, text)


def escape_message(text: str) -> str:
    """Like escape_value, but a line break followed by a space or a tab is kept (a continuation line)."""
    return _UNSAFE_IN_MESSAGE.sub(_escaped, text)


class _Escaped:
    """A log argument printed escaped, whether by `%s`, `%r` or a format spec."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __str__(self) -> str:
        return escape_value(str(self.value))

    def __repr__(self) -> str:
        return escape_value(repr(self.value))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _escape_arg(value: Any) -> Any:
    return value if isinstance(value, numbers.Number) else _Escaped(value)  # numbers: %d and %.1f keep working


def _escape_args(args: Any) -> Any:
    if isinstance(args, Mapping):
        return {key: _escape_arg(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(_escape_arg(value) for value in args)
    return args


def _indented(text: str) -> str:
    """A traceback or stack, every line indented (so none reads as a log line), controls escaped."""
    return escape_message("\n".join("  " + line for line in text.splitlines()))


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, fmt: str):
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        safe = logging.makeLogRecord(record.__dict__)
        safe.msg = escape_message(str(record.msg))
        safe.args = _escape_args(record.args)
        safe.exc_text = None  # formatted again, indented, from exc_info
        if getattr(record, "plain", False):  # the verdict line: no level prefix, as official pipes print it
            return self.redactor(safe.getMessage())
        return self.redactor(super().format(safe))

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        return _indented(super().formatStack(stack_info))


def configure_logging(redactor: Redactor, debug: bool, stream=None) -> logging.Logger:
    """Configure the `pipe` logger (not the root logger) to write plain lines to stdout."""
    logger = logging.getLogger("pipe")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(RedactingFormatter(redactor, "%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    # urllib3 logs request lines at DEBUG; route them through the same redacting handler.
    for name in ("urllib3", "pyairtable"):
        other = logging.getLogger(name)
        other.handlers = [handler] if debug else []
        other.setLevel(logging.DEBUG if debug else logging.WARNING)
        other.propagate = False
    return logger
