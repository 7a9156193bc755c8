"""The Markdown/HTML → canvas line converter."""

from __future__ import annotations

from testkit.emulators.coda.content import LineSpec, inline, to_lines


def test_markdown_blocks() -> None:
    text = "# H1\n## H2\n### H3\n#### H4\n\nPara **bold**\nwrapped.\n\n- a\n  - b\n1. n\n- [x] done\n> quote\n---\n"
    assert to_lines("markdown", text) == [
        LineSpec("h1", "H1"),
        LineSpec("h2", "H2"),
        LineSpec("h3", "H3"),
        LineSpec("paragraph", "H4"),
        LineSpec("paragraph", "Para bold wrapped."),
        LineSpec("bulletedList", "a", 0),
        LineSpec("bulletedList", "b", 1),
        LineSpec("numberedList", "n", 0),
        LineSpec("checkboxList", "done", 0),
        LineSpec("blockQuote", "quote"),
    ]


def test_markdown_code_and_tables() -> None:
    text = "| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nx = 1\n  y\n```\n"
    assert to_lines("markdown", text) == [LineSpec("code", "x = 1\n  y")]


def test_inline_markdown_is_stripped() -> None:
    assert inline("**b** *i* _u_ `c` [link](http://x) ![img](http://y) ~~s~~") == "b i u c link img s"
    assert inline("snake_case_name stays") == "snake_case_name stays"


def test_html_blocks() -> None:
    html = (
        "<h1>T</h1><h5>small</h5><p>a <i>b</i><br>c</p><ul><li>x<ul><li>y</li></ul></li></ul>"
        "<ol><li>n</li></ol><blockquote>q</blockquote><table><tr><td>cell</td></tr></table><hr><img src='z'>"
    )
    assert to_lines("html", html) == [
        LineSpec("h1", "T"),
        LineSpec("paragraph", "small"),
        LineSpec("paragraph", "a b\nc"),
        LineSpec("bulletedList", "x", 0),
        LineSpec("bulletedList", "y", 1),
        LineSpec("numberedList", "n", 0),
        LineSpec("blockQuote", "q"),
    ]
