"""The built-in release-notes template, `templates/default.md.j2`, as plain Python.

It gives the same text as that template rendered by Jinja2 (tests/unit/test_release_markdown.py
renders both on the same histories), without importing Jinja2 or compiling the template: on the
latest release those two cost more than everything else together. Change both together.
"""

from __future__ import annotations

from pipe.release.template import LoadedTemplate

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)
if TYPE_CHECKING:
    from typing import Any


class BuiltinTemplate(LoadedTemplate):
    def __init__(self, name: str) -> None:
        self.name = name

    def render(self, context: dict) -> str:
        parts = ["# Changelog\n"] if context["full_history"] else []
        for release in context["releases"]:
            parts.append(_release(release))
        return "".join(parts).strip("\n").rstrip() + "\n"


def _release(release: dict[str, Any]) -> str:
    url = release["compare"]["url"]
    version = f"[{release['version']}]({url})" if url else str(release["version"])
    unreleased = "" if release["released"] else " — unreleased"
    parts = [f"\n## {version} ({release['date']}){unreleased}\n"]
    if release["breaking"]:
        parts.append("\n### ⚠ BREAKING CHANGES\n\n")
        for entry in release["breaking"]:
            scope = f"**{entry['scope']}:** " if entry["scope"] else ""
            parts.append(f"- {scope}{_indent(entry['breaking_description'])}{_links(entry)}\n")
    for group in release["groups"]:
        parts.append(f"\n### {group['title']}\n\n")
        typed = bool(group["types"])
        for entry in group["entries"]:
            scope = f"**{entry['scope']}:** " if entry["scope"] and typed else ""
            text = entry["description"] if typed else entry["headline"]
            parts.append(f"- {scope}{text}{_links(entry)}\n")
    if not release["groups"] and not release["breaking"]:
        parts.append("\nNo notable changes.\n")
    return "".join(parts)


def _links(entry: dict[str, Any]) -> str:
    """` (sha)`, ` (#pr)` and ` — records` after an entry's text."""
    url = entry["commit_url"]
    text = f" ([{entry['short_sha']}]({url}))" if url else f" ({entry['short_sha']})"
    if entry["pr_number"] is not None:
        pr_url = entry["pr_url"]
        text += f" ([#{entry['pr_number']}]({pr_url}))" if pr_url else f" (#{entry['pr_number']})"
    for index, record in enumerate(entry["records"]):
        label = record["title"] or record["id_or_key"]
        text += (" — " if index == 0 else ", ") + (f"[{label}]({record['url']})" if record["url"] else str(label))
    return text


def _indent(text: Any) -> str:
    """Jinja's `indent(2)`: every line but the first gets two spaces, blank lines none."""
    lines = (str(text) + "\n").splitlines()
    first = lines.pop(0)
    if not lines:
        return first
    return first + "\n" + "\n".join("  " + line if line else line for line in lines)
