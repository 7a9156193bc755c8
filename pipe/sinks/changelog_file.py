"""Prepend a release's section to a Markdown changelog in the repository, once per version.

The section of a version is its `## ...<version>...` heading and everything up to the next `## `
heading. A version already in the file is replaced in place when its text changed (an unreleased
version gathers more commits between merges) and left alone when it is the same, so re-runs write
nothing. A file without the version gets the section on top, below a leading `# ` title if any.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipe.errors import UserError
from pipe.files import FileRefused, check_output, write_file
from pipe.model import TargetResult
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.journal import Journal

_SECTION = re.compile(r"^## ", re.MULTILINE)


def version_heading(version: str) -> re.Pattern[str]:
    # `## 1.4.0 (...)`, `## [1.4.0](url) (...)`, `## v1.4.0`: the version as a whole word.
    return re.compile(rf"^## .*?(?<![\w.]){re.escape(version)}(?![\w.]|-[0-9A-Za-z])", re.MULTILINE)


def section_of(text: str, version: str) -> str | None:
    """The section of `version` in a changelog's text (its heading up to the next `## `), or None."""
    match = version_heading(version).search(text)
    if match is None:
        return None
    following = _SECTION.search(text, match.end())
    return text[match.start() : following.start() if following else len(text)]


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
    """The file `CHANGELOG_FILE` means, as given (links are not followed: the writer refuses them): inside the
    repository also once links are resolved, not a directory. Checked before anything is written."""
    root = root.resolve()
    path = Path(os.path.abspath(root / relative))
    resolved = path.resolve()
    if not resolved.is_relative_to(root) or resolved == root or not path.is_relative_to(root):
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


def nothing_to_show(version: str) -> str:
    return f"release {version} has no notable changes (release.show_empty_releases is false)"


def target(run: TargetRun) -> ChangelogFileTarget | Fixed | None:
    changelog_file, release = run.settings.release.changelog_file, run.plan.release
    if not changelog_file or release is None:
        return None
    if not run.settings.release.notes.publishes(release.notes):
        return Fixed(TargetResult(changelog_file, "skipped", nothing_to_show(release.version)))
    return ChangelogFileTarget(run.root, changelog_file, release.version, release.markdown)


@dataclass(frozen=True)
class ChangelogFileTarget:
    root: Path
    display: str  # CHANGELOG_FILE as given
    version: str
    section: str

    @property
    def name(self) -> str:
        return self.display

    def prepare(self) -> ChangelogFileChange | Fixed:
        """Reads the file; a path outside the clone or naming a directory stops the run (nothing written)."""
        path = changelog_path(self.root, self.display)
        check_output(
            Path(self.display), self.root.resolve(), "CHANGELOG_FILE", create_parents=True
        )  # no link, no .git/
        try:
            current = path.read_text(encoding="utf-8") if path.is_file() else ""
        except (OSError, UnicodeDecodeError) as exc:
            return Fixed(TargetResult(self.display, "failed", f"CHANGELOG_FILE: {exc}"))
        text = updated_changelog(current, self.version, self.section)
        if text == current:
            return Fixed(TargetResult(self.display, "unchanged", f"section {self.version} already up to date"))
        replaces = version_heading(self.version).search(current) is not None
        return ChangelogFileChange(self, path, current, text, replaces)


@dataclass(frozen=True)
class ChangelogFileChange:
    target: ChangelogFileTarget
    path: Path
    current: str
    text: str
    replaces: bool  # the version's section is there and changes; else it is added

    def preview(self) -> TargetResult:
        verb = "replace" if self.replaces else "add"
        return TargetResult(self.target.display, "planned", f"would {verb} the section of {self.target.version}")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        t = self.target
        try:  # atomic, through no link: a killed run never leaves half a changelog (pipe.files)
            write_file(Path(t.display), self.text, t.root.resolve(), "CHANGELOG_FILE", create_parents=True)
        except (OSError, FileRefused) as exc:
            return TargetResult(t.display, "failed", f"CHANGELOG_FILE: {exc}")
        before = section_of(self.current, t.version) if self.replaces else None  # the section it replaced
        journal.record("file", t.display, t.version, {"section": (before, t.section)})
        return TargetResult(t.display, "written", f"{'replaced' if self.replaces else 'added'} {t.version}")
