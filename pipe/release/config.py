"""How release notes are grouped and which tags are releases, from a plain dict (the YAML config).

    {
      "tag_pattern": "^v?\\d+\\.\\d+\\.\\d+…$",   # regex over tag names; see TAG_PATTERN
      "groups": [                                 # in this order; title and the types it collects
        {"title": "Features", "types": ["feat"]},
        {"title": "Bug Fixes", "types": ["fix"]},
        ...
      ],
      "hidden_types": ["chore", "ci", "test", "build", "style"],   # left out (breaking ones still
                                                                   # appear under breaking changes)
      "other_title": "Other",        # group, placed last, for unknown types and non-conventional
                                     # commits; null leaves them out
      "include_unconventional": true,  # false leaves non-conventional commits out
      "include_prereleases": true,   # false: pre-release tags (v1.2.0-rc.1) are never the previous release
      "first_version": "0.1.0",      # version of the first release when no release tag exists
      "first_prefix": "v",           # its tag prefix
      "include_paths": [],           # globs from the repository root (`packages/app/**`): only commits
      "exclude_paths": [],           # changing files there / not only there make entries (monorepos)
      "show_empty_releases": false,  # true: releases with nothing to show get "No notable changes."
    }                                # in CHANGELOG.md and on the Coda page; false leaves them out

Every key is optional. Types are compared in lower case.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from pipe.errors import ConfigError
from pipe.release.version import FIRST_PREFIX, FIRST_VERSION, Version

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)

if TYPE_CHECKING:
    from typing import Any

    from pipe.release.notes import ReleaseNotes

TAG_PATTERN = r"^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$"


class GroupSpec(NamedTuple):
    title: str
    types: tuple[str, ...]


DEFAULT_GROUPS: tuple[GroupSpec, ...] = (
    GroupSpec("Features", ("feat",)),
    GroupSpec("Bug Fixes", ("fix",)),
    GroupSpec("Performance", ("perf",)),
    GroupSpec("Reverts", ("revert",)),
    GroupSpec("Documentation", ("docs",)),
    GroupSpec("Refactoring", ("refactor",)),
)
DEFAULT_HIDDEN = ("chore", "ci", "test", "build", "style")


class ReleaseConfig(NamedTuple):
    tag_pattern: re.Pattern[str] = re.compile(TAG_PATTERN)
    groups: tuple[GroupSpec, ...] = DEFAULT_GROUPS
    hidden_types: frozenset[str] = frozenset(DEFAULT_HIDDEN)
    other_title: str | None = "Other"
    include_unconventional: bool = True
    include_prereleases: bool = True
    first_version: str = FIRST_VERSION
    first_prefix: str = FIRST_PREFIX
    include_paths: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    show_empty_releases: bool = False

    @property
    def path_filtered(self) -> bool:
        return bool(self.include_paths or self.exclude_paths)

    def publishes(self, notes: ReleaseNotes) -> bool:
        """Whether a release goes into CHANGELOG.md and onto the Coda page: it has something to
        show, or `show_empty_releases` is on. (Its Airtable release record is kept either way.)"""
        return notes.has_entries or self.show_empty_releases

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, *, where: str = "release") -> ReleaseConfig:
        """Validate a plain dict (every key optional); all problems are listed in one ConfigError
        whose entries start with `where` (the dict's place in the config file)."""
        data = dict(data or {})
        problems: list[str] = []
        values: dict[str, Any] = {}
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_KEYS))}")
        if "tag_pattern" in data:
            try:
                values["tag_pattern"] = compile_tag_pattern(data["tag_pattern"])
            except ValueError as exc:
                problems.append(f"{where}.tag_pattern: {exc}")
        if "groups" in data:
            values["groups"] = _groups(data["groups"], f"{where}.groups", problems)
        if "hidden_types" in data:
            values["hidden_types"] = frozenset(_types(data["hidden_types"], f"{where}.hidden_types", problems))
        if "other_title" in data:
            title = data["other_title"]
            if title is not None and (not isinstance(title, str) or not title.strip()):
                problems.append(f"{where}.other_title: expected a non-empty title or null, got {title!r}")
            else:
                values["other_title"] = title
        for name in ("include_paths", "exclude_paths"):
            if name in data:
                values[name] = _paths(data[name], f"{where}.{name}", problems)
        for name in ("include_unconventional", "include_prereleases", "show_empty_releases"):
            if name in data:
                if isinstance(data[name], bool):
                    values[name] = data[name]
                else:
                    problems.append(f"{where}.{name}: expected true or false, got {data[name]!r}")
        if "first_version" in data:
            version = Version.parse(str(data["first_version"]))
            if version is None or version.prefix:
                problems.append(f"{where}.first_version: {data['first_version']!r} is not a version such as 0.1.0")
            else:
                values["first_version"] = version.semver
        if "first_prefix" in data:
            if isinstance(data["first_prefix"], str):
                values["first_prefix"] = data["first_prefix"]
            else:
                problems.append(f"{where}.first_prefix: expected text such as 'v' or '', got {data['first_prefix']!r}")
        config = cls(**values)
        grouped = [t for g in config.groups for t in g.types]
        duplicates = sorted({t for t in grouped if grouped.count(t) > 1})
        if duplicates:
            problems.append(f"{where}.groups: type(s) {', '.join(duplicates)} appear in more than one group")
        both = sorted(set(grouped) & config.hidden_types)
        if both:
            problems.append(f"{where}: type(s) {', '.join(both)} are both in a group and in hidden_types")
        if problems:
            raise ConfigError(f"invalid release notes configuration ({len(problems)} problem(s))", problems)
        return config

    def group_title(self, entry_type: str | None, conventional: bool) -> str | None:
        """The title of the group an entry goes to, or None when it is left out."""
        if entry_type is not None:
            for group in self.groups:
                if entry_type in group.types:
                    return group.title
            if entry_type in self.hidden_types:
                return None
        if not conventional and entry_type is None and not self.include_unconventional:
            return None
        return self.other_title


_KEYS = {
    "tag_pattern",
    "groups",
    "hidden_types",
    "other_title",
    "include_unconventional",
    "include_prereleases",
    "first_version",
    "first_prefix",
    "include_paths",
    "exclude_paths",
    "show_empty_releases",
}


def compile_tag_pattern(pattern: str | re.Pattern[str]) -> re.Pattern[str]:
    """A tag pattern as a compiled regex (searched in tag names, so anchor it); ValueError if invalid."""
    if isinstance(pattern, re.Pattern):
        return pattern
    if not isinstance(pattern, str) or not pattern:
        raise ValueError(f"expected a regular expression over tag names, got {pattern!r}")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from exc


def _types(value: Any, where: str, problems: list[str]) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        problems.append(f"{where}: expected a list of commit types such as [feat, fix], got {value!r}")
        return []
    return [t.strip().lower() for t in value]


def _paths(value: Any, where: str, problems: list[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        problems.append(f"{where}: expected a list of path globs such as [packages/app/**], got {value!r}")
        return ()
    bad = [p for p in value if p.strip().startswith((":", "/")) or ".." in p.split("/")]
    if bad:
        problems.append(f"{where}: {', '.join(map(repr, bad))}: give globs relative to the repository root")
        return ()
    return tuple(p.strip() for p in value)


def _groups(value: Any, where: str, problems: list[str]) -> tuple[GroupSpec, ...]:
    if not isinstance(value, list):
        problems.append(f"{where}: expected a list of {{title, types}} entries, got {value!r}")
        return DEFAULT_GROUPS
    groups = []
    for index, item in enumerate(value):
        here = f"{where}[{index}]"
        if not isinstance(item, Mapping) or set(item) - {"title", "types"}:
            problems.append(f"{here}: expected {{title: ..., types: [...]}}, got {item!r}")
            continue
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            problems.append(f"{here}.title: expected a non-empty title, got {title!r}")
            continue
        groups.append(GroupSpec(title, tuple(_types(item.get("types"), f"{here}.types", problems))))
    return tuple(groups)
