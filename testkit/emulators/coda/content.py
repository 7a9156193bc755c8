"""A small Markdown/HTML → canvas line converter (what `listPageContent` shows as plain text).

Modelled on observed fidelity (reference §9.5): h1–h3 keep their style, h4–h6 become paragraphs,
horizontal rules, images and tables disappear from the line listing (an embedded table is not a line),
inline formatting is dropped, list nesting becomes `lineLevel`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class LineSpec:
    style: str
    content: str
    level: int = 0


def to_lines(fmt: str, content: str) -> list[LineSpec]:
    if fmt == "html":
        return _html_lines(content)
    return _markdown_lines(content)


# -- Markdown -------------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^(\s*)[-*+]\s+(.*)$")
_CHECKBOX = re.compile(r"^(\s*)[-*+]\s+\[[ xX]\]\s+(.*)$")
_NUMBERED = re.compile(r"^(\s*)\d+[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s*>\s?(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _markdown_lines(text: str) -> list[LineSpec]:
    lines: list[LineSpec] = []
    paragraph: list[str] = []
    code: list[str] | None = None

    def end_paragraph() -> None:
        if paragraph:
            lines.append(LineSpec("paragraph", inline(" ".join(paragraph))))
            paragraph.clear()

    for raw in text.splitlines():
        if code is not None:
            if _FENCE.match(raw):
                lines.append(LineSpec("code", "\n".join(code)))
                code = None
            else:
                code.append(raw)
            continue
        if _FENCE.match(raw):
            end_paragraph()
            code = []
            continue
        if not raw.strip() or _RULE.match(raw) or _TABLE_ROW.match(raw):
            end_paragraph()
            continue
        spec = _block(raw)
        if spec is None:
            paragraph.append(raw.strip())
        else:
            end_paragraph()
            lines.append(spec)
    end_paragraph()
    if code is not None:
        lines.append(LineSpec("code", "\n".join(code)))
    return lines


def _block(raw: str) -> LineSpec | None:
    if m := _HEADING.match(raw):
        depth = len(m.group(1))
        return LineSpec(f"h{depth}" if depth <= 3 else "paragraph", inline(m.group(2)))
    if m := _CHECKBOX.match(raw):
        return LineSpec("checkboxList", inline(m.group(2)), _level(m.group(1)))
    if m := _BULLET.match(raw):
        return LineSpec("bulletedList", inline(m.group(2)), _level(m.group(1)))
    if m := _NUMBERED.match(raw):
        return LineSpec("numberedList", inline(m.group(2)), _level(m.group(1)))
    if m := _QUOTE.match(raw):
        return LineSpec("blockQuote", inline(m.group(1)))
    return None


def _level(indent: str) -> int:
    return len(indent.replace("\t", "    ")) // 2


def inline(text: str) -> str:
    """Strip inline Markdown: images, links, emphasis, code spans, strikethrough."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])([*_])(?!\s)(.+?)(?<!\s)\1(?![\w*])", r"\2", text)
    text = re.sub(r"~~(.+?)~~", r"\1", text)
    return text.strip()


# -- HTML -----------------------------------------------------------------------------------------

_BLOCK_STYLES = {
    "h1": "h1",
    "h2": "h2",
    "h3": "h3",
    "h4": "paragraph",
    "h5": "paragraph",
    "h6": "paragraph",
    "p": "paragraph",
    "blockquote": "blockQuote",
    "pre": "code",
    "li": "bulletedList",
}
_SKIPPED = frozenset({"table", "script", "style"})  # their text never becomes a line
_VOID = frozenset({"img", "hr"})  # dropped


class _HtmlLines(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[LineSpec] = []
        self._lists: list[str] = []
        self._style: str | None = None
        self._level = 0
        self._text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip += 1
            return
        if tag in _VOID:
            return
        if tag in ("ul", "ol"):
            self._flush()
            self._lists.append(tag)
        elif tag == "br":
            self._text.append("\n")
        elif tag in _BLOCK_STYLES:
            self._flush()
            self._style = _BLOCK_STYLES[tag]
            if tag == "li":
                self._style = "numberedList" if self._lists and self._lists[-1] == "ol" else "bulletedList"
                self._level = max(len(self._lists) - 1, 0)
            else:
                self._level = 0

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skip = max(0, self._skip - 1)
            return
        if tag in ("ul", "ol"):
            self._flush()
            if self._lists:
                self._lists.pop()
        elif tag in _BLOCK_STYLES:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        raw = "".join(self._text)
        if self._style == "code":
            text = raw.strip("\n")
        else:
            text = re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v]*", "\n", re.sub(r"[ \t]+", " ", raw)).strip()
        if text.strip():
            level = self._level if self._style in ("bulletedList", "numberedList") else 0
            self.lines.append(LineSpec(self._style or "paragraph", text, level))
        self._text = []
        self._style = None


def _html_lines(html: str) -> list[LineSpec]:
    parser = _HtmlLines()
    parser.feed(html)
    parser.close()
    return parser.lines
