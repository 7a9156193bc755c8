"""Conventional Commits 1.0.0 parsing: `type(scope)!: description`, body, footers, breaking changes.

Rules, and the choices made where the specification leaves room:

- Header: `type`, optional `(scope)`, optional `!`, then colon + space (`feat:x` is *not*
  conventional; spec rule 1). Types are case-insensitive and normalised to lower case (`Feat(API):`
  is `feat`); the scope keeps its case and may contain spaces; an empty scope `feat():` or an empty
  description is not conventional. Type: a letter followed by letters, digits, `_` or `-`.
- Wrapped header: the lines right after the first one, up to the first blank line, continue the
  description (joined with spaces), unless a line starts a list item or is a footer (`split_header`).
  The specification puts a blank line after the header; git-cliff refuses such commits, we keep the
  whole description, as `git log --format=%s` does.
- Tolerated: CRLF/CR line endings, leading and trailing whitespace around the whole message, and
  leading emoji or `:gitmoji:` shortcodes before the type (`✨ feat: x`, `:bug: fix: y`).
- Footers: a footer line is `token: value` or `token #value`; a token is one word (`Acked-by`,
  `Refs`) or `BREAKING CHANGE`. A footer's value runs over the following lines until the next footer
  line. Which paragraphs are footers (the body/footer ambiguity, spec issues #98/#179):
  * the trailing run of paragraphs whose first line is a footer line is the footer block, so a
    prose paragraph such as `Note: this is prose…` followed by more prose stays in the body;
  * except that a paragraph starting with `BREAKING CHANGE: ` or `BREAKING-CHANGE: ` (upper case,
    unambiguous) starts the footers wherever it is, and the paragraphs after it continue its value
    until the next footer line.
- Breaking: `!` before the colon, or a `BREAKING CHANGE` / `BREAKING-CHANGE` footer in upper case
  (a lower-case `breaking change:` is not breaking, rule 15). `breaking_description` is the footer's
  value when there is one, else the description.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_HEADER = re.compile(
    r"(?P<type>[A-Za-z][A-Za-z0-9_-]*)(?:\((?P<scope>[^()\n]*)\))?(?P<bang>!)?: [ \t]*(?P<description>\S.*)"
)
# Emoji, symbols and `:shortcode:` gitmoji before the type, with the whitespace after them.
_LEADING_DECORATION = re.compile(r"^(?:(?::[a-z0-9_+-]+:)|[^\w\s(])+\s*")
_FOOTER = re.compile(
    r"(?P<token>BREAKING CHANGE|[A-Za-z][A-Za-z0-9-]*)(?P<separator>: | #)(?P<value>.*)"
    r"|(?P<bare>BREAKING[ -]CHANGE):$"  # value on the following lines
)
BREAKING_TOKENS = frozenset({"BREAKING CHANGE", "BREAKING-CHANGE"})


class Footer(NamedTuple):
    token: str
    separator: str  # ": " or " #"
    value: str

    @property
    def breaking(self) -> bool:
        return self.token in BREAKING_TOKENS


class ConventionalCommit(NamedTuple):
    """A message that follows Conventional Commits."""

    type: str  # lower case
    scope: str | None
    description: str
    body: str
    footers: tuple[Footer, ...]
    breaking: bool
    breaking_description: str | None  # what breaks, when `breaking`

    def footer_values(self, *tokens: str) -> list[str]:
        """Values of the footers whose token is one of `tokens` (compared case-insensitively)."""
        wanted = {t.lower() for t in tokens}
        return [f.value for f in self.footers if f.token.lower() in wanted]


def normalise(message: str) -> str:
    """Message with LF line endings and no surrounding whitespace."""
    if "\r" in message:
        message = message.replace("\r\n", "\n").replace("\r", "\n")
    return message.strip()


def parse_header(subject: str) -> re.Match[str] | None:
    """The header match of a subject line (emoji prefixes skipped), or None."""
    subject = subject.strip()
    match = _HEADER.fullmatch(subject)
    if match is None and subject and not subject[0].isalpha():
        subject = _LEADING_DECORATION.sub("", subject, count=1)
        match = _HEADER.fullmatch(subject)
    if match is None or (match["scope"] is not None and not match["scope"].strip()):
        return None
    return match


_LIST_ITEM = re.compile(r"(?:[-*+]|\d+[.)])\s")


def split_header(text: str) -> tuple[str, str]:
    """(header, rest) of a normalised message. The header is the first line joined (with single
    spaces) to the lines that wrap it: those that follow it before the first blank line, except a
    line that starts a list item (`- `, `* `, `+ `, `1. `) or is a footer (`Token: value`,
    `Token #value`), which begins the rest. So a description wrapped onto a second line is kept
    whole, as `git log --format=%s` keeps it, while `fix: x` + `Closes: recX` keeps its footer."""
    first, newline, rest = text.partition("\n")
    if not newline or rest.startswith("\n") or not _continues_header(rest.partition("\n")[0]):
        return first.strip(), rest
    parts = [first.strip()]
    lines = rest.split("\n")
    index = 0
    while index < len(lines) and _continues_header(lines[index]):
        parts.append(lines[index].strip())
        index += 1
    return " ".join(parts), "\n".join(lines[index:])


def _continues_header(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and _LIST_ITEM.match(stripped) is None and _match_footer(stripped) is None


def parse(message: str) -> ConventionalCommit | None:
    """Parse a full commit message; None when its header is not conventional."""
    return parse_parts(*split_message(message))


def split_message(message: str) -> tuple[str, str]:
    """(header, rest) of a raw commit message: `split_header(normalise(message))`."""
    return split_header(normalise(message))


def parse_parts(subject: str, rest: str) -> ConventionalCommit | None:
    """`parse` of a message already split by `split_message` (callers that need the header too)."""
    header = parse_header(subject)
    if header is None:
        return None
    if rest.strip():
        paragraphs = _paragraphs(rest)
        start = _footer_start(paragraphs, "BREAKING" in rest)
        body = "\n\n".join("\n".join(p) for p in paragraphs[:start])
        footers = _parse_footers(paragraphs[start:])
    else:
        body, footers = "", ()
    breaking_footer = next((f for f in footers if f.breaking), None) if footers else None
    description = header["description"].strip()
    breaking = bool(header["bang"]) or breaking_footer is not None
    return ConventionalCommit(
        type=header["type"].lower(),
        scope=header["scope"].strip() if header["scope"] is not None else None,
        description=description,
        body=body,
        footers=footers,
        breaking=breaking,
        breaking_description=(breaking_footer.value or description)
        if breaking_footer
        else (description if breaking else None),
    )


def _paragraphs(text: str) -> list[list[str]]:
    paragraphs: list[list[str]] = []
    current: list[str] = []
    for line in text.split("\n"):
        if line.strip():
            current.append(line.rstrip())
        elif current:
            paragraphs.append(current)
            current = []
    if current:
        paragraphs.append(current)
    return paragraphs


def _match_footer(line: str) -> tuple[str, str, str] | None:
    """(token, separator, value) of a footer line, else None."""
    match = _FOOTER.match(line)
    if match is None:
        return None
    if match["bare"]:
        return match["bare"], ": ", ""
    return match["token"], match["separator"], match["value"]


def _footer_start(paragraphs: list[list[str]], may_break: bool) -> int:
    if may_break:
        for index, paragraph in enumerate(paragraphs):
            footer = _match_footer(paragraph[0])
            if footer and footer[0] in BREAKING_TOKENS:
                return index
    start = len(paragraphs)
    while start > 0 and _match_footer(paragraphs[start - 1][0]):
        start -= 1
    return start


def _parse_footers(paragraphs: list[list[str]]) -> tuple[Footer, ...]:
    footers: list[tuple[str, str, list[str]]] = []
    for paragraph_index, paragraph in enumerate(paragraphs):
        for line_index, line in enumerate(paragraph):
            footer = _match_footer(line)
            if footer:
                footers.append((footer[0], footer[1], [footer[2]]))
            elif footers:
                if line_index == 0 and paragraph_index > 0:
                    footers[-1][2].append("")  # keep the paragraph break inside the value
                footers[-1][2].append(line)
    return tuple(Footer(token, sep, "\n".join(lines).strip()) for token, sep, lines in footers)
