"""The built-in release-notes template, `templates/default.md.j2`, as plain Python.

It gives the same text as that template rendered by Jinja2 from the template context
(tests/unit/test_release_markdown.py renders both on the same histories), without importing Jinja2,
compiling the template or building the context: it reads the notes themselves. On the latest release
Jinja2 costs more than everything else together; on a 10,000-commit changelog the context (a dict per
entry) cost a sixth of the run. Change both together.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipe.release.entries import Entry
from pipe.release.links import Links
from pipe.release.notes import ReleaseNotes
from pipe.release.template import LoadedTemplate


class BuiltinTemplate(LoadedTemplate):
    def __init__(self, name: str) -> None:
        self.name = name

    def render_releases(self, releases: Sequence[ReleaseNotes], *, links: Links, full_history: bool) -> str:
        entry_links = _EntryLinks(links)
        parts = ["# Changelog\n"] if full_history else []
        for release in releases:
            parts.append(_release(release, links, entry_links))
        return "".join(parts).strip("\n").rstrip() + "\n"


def _release(notes: ReleaseNotes, links: Links, entry_links: _EntryLinks) -> str:
    url = notes.compare_url(links)
    version = f"[{notes.version}]({url})" if url else notes.version
    unreleased = "" if notes.tag is not None else " — unreleased"
    parts = [f"\n## {version} ({notes.date}){unreleased}\n"]
    if notes.breaking:
        parts.append("\n### ⚠ BREAKING CHANGES\n\n")
        for entry in notes.breaking:
            scope = f"**{entry.scope}:** " if entry.scope else ""
            parts.append(f"- {scope}{_indent(entry.breaking_description)}{entry_links(entry)}\n")
    for group in notes.groups:
        parts.append(f"\n### {group.title}\n\n")
        typed = bool(group.types)
        for entry in group.entries:
            scope = f"**{entry.scope}:** " if entry.scope and typed else ""
            text = entry.description if typed else entry.headline
            parts.append(f"- {scope}{text}{entry_links(entry)}\n")
    if not notes.groups and not notes.breaking:
        parts.append("\nNo notable changes.\n")
    return "".join(parts)


class _EntryLinks:
    """` (sha)`, ` (#pr)` and ` — records` after an entry's text, once per entry (an entry shown in
    its group and under breaking changes is linked once)."""

    def __init__(self, links: Links) -> None:
        self.links = links
        self.done: dict[str, str] = {}

    def __call__(self, entry: Entry) -> str:
        text = self.done.get(entry.sha)
        if text is None:
            text = self.done[entry.sha] = self._text(entry)
        return text

    def _text(self, entry: Entry) -> str:
        url = self.links.commit(entry.sha)
        text = f" ([{entry.short_sha}]({url}))" if url else f" ({entry.short_sha})"
        if entry.pr_number is not None:
            pr_url = self.links.pull_request(entry.pr_number)
            text += f" ([#{entry.pr_number}]({pr_url}))" if pr_url else f" (#{entry.pr_number})"
        for index, record in enumerate(entry.records):
            label = record.title or record.id_or_key
            text += (" — " if index == 0 else ", ") + (f"[{label}]({record.url})" if record.url else str(label))
        return text


def _indent(text: str | None) -> str:
    """Jinja's `indent(2)`: every line but the first gets two spaces, blank lines none."""
    lines = (str(text) + "\n").splitlines()
    first = lines.pop(0)
    if not lines:
        return first
    return first + "\n" + "\n".join("  " + line if line else line for line in lines)
