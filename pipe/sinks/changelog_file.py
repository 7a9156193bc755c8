"""Prepend a release's section to a Markdown changelog in the repository, once per version.

The section of a version is its `## ...<version>...` heading and everything up to the next `## `
heading. A version already in the file is replaced in place when its text changed (an unreleased
version gathers more commits between merges) and left alone when it is the same, so re-runs write
nothing. A file without the version gets the section on top, below a leading `# ` title if any.
"""

from __future__ import annotations

import re
from pathlib import Path

from pipe.errors import UserError
from pipe.plan.release import TargetResult
from pipe.sinks.journal import Journal

_SECTION = re.compile(r"^## ", re.MULTILINE)


def version_heading(version: str) -> re.Pattern[str]:
    # `## 1.4.0 (...)`, `## [1.4.0](url) (...)`, `## v1.4.0`: the version as a whole word.
    return re.compile(rf"^## .*?(?<![\w.]){re.escape(version)}(?![\w.]|-[0-9A-Za-z])", re.MULTILINE)


def updated_changelog(current: str, version: str, section: str) -> str:
    """The new file text (== `current` when nothing needs to change)."""
    section = section.strip("\n") + "\n"
    match = version_heading(version).search(current)
    if match:
        start = match.start()
        following = _SECTION.search(current, match.end())
        end = following.start() if following else len(current)
        old = current[start:end]
        if old.strip() == section.strip():
            return current
        tail = current[end:]
        return current[:start] + section + ("\n" if tail else "") + tail
    first = _SECTION.search(current)
    if first is None:  # empty file, or only a title and an introduction
        head = current.rstrip("\n")
        return (head + "\n\n" if head else "") + section
    return current[: first.start()] + section + "\n" + current[first.start() :]


class ChangelogPathError(UserError):
    """CHANGELOG_FILE cannot be written: it leaves the repository, or names a directory."""


def changelog_path(root: Path, relative: str) -> Path:
    """The file `CHANGELOG_FILE` means: inside the repository (symlinks resolved), not a directory.
    Checked when the release is gathered, before anything is written, and again by the sink."""
    root = root.resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root) or path == root:
        raise ChangelogPathError(
            f"CHANGELOG_FILE: got {relative!r}; expected a file path inside the repository ({root}), "
            "such as CHANGELOG.md"
        )
    if path.is_dir():
        raise ChangelogPathError(
            f"CHANGELOG_FILE: got {relative!r}, which is a directory; give the path of a file in it, "
            f"such as {relative.rstrip('/')}/CHANGELOG.md"
        )
    return path


class ChangelogFileSink:
    def __init__(self, root: Path, relative: str, journal: Journal):
        self.root = root
        self.display = relative
        self.journal = journal

    def apply(self, version: str, section: str, *, dry_run: bool) -> TargetResult:
        try:
            return self._apply(changelog_path(self.root, self.display), version, section, dry_run=dry_run)
        except (ChangelogPathError, OSError, UnicodeDecodeError) as exc:
            reason = str(exc) if isinstance(exc, ChangelogPathError) else f"CHANGELOG_FILE: {exc}"
            return TargetResult(self.display, "failed", reason)

    def _apply(self, path: Path, version: str, section: str, *, dry_run: bool) -> TargetResult:
        current = path.read_text(encoding="utf-8") if path.is_file() else ""
        text = updated_changelog(current, version, section)
        if text == current:
            return TargetResult(self.display, "unchanged", f"section {version} already up to date")
        existing = version_heading(version).search(current)
        verb = "replace" if existing else "add"
        if dry_run:
            return TargetResult(self.display, "planned", f"would {verb} the section of {version}")
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)  # atomic: a killed run never leaves half a changelog
        self.journal.record("file", self.display, version, {"section": (current if existing else None, section)})
        return TargetResult(self.display, "written", f"{'replaced' if verb == 'replace' else 'added'} {version}")
