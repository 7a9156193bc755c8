"""Semantic versions: parsing tag names, SemVer 2.0.0 ordering, and the next version of a release.

Bump rules (the level comes from the changelog entries of the release, after reverts cancel out):

| entries contain                    | 1.x and later | while major is 0 |
|------------------------------------|---------------|------------------|
| a breaking change (`!` or footer)  | major         | minor            |
| a `feat`                           | minor         | minor            |
| anything else (or nothing)         | patch         | patch            |

0.x never becomes 1.0.0 on its own (like commitizen's `major_version_zero` and PSR's
`major_on_zero = false`): set `VERSION=1.0.0` for that release. From a pre-release the bump follows
npm `semver.inc`: `1.1.0-rc.1` + minor or patch -> `1.1.0`, `2.0.0-rc.1` + major -> `2.0.0`,
`1.1.0-rc.1` + major -> `2.0.0`. Build metadata is dropped. The tag prefix of the previous release
(`v`, `api-v`, none) is kept; the first release, when no release tag exists, is `0.1.0` with the
prefix `v` (both overridable).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from pipe.errors import ConfigError

_CORE = r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
_PRE = r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
_BUILD = r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
SEMVER = re.compile(_CORE + _PRE + _BUILD)
# A version ending a tag name, e.g. `api-v1.2.3`: the prefix is what comes before it, and must not
# end in a digit or dot (so `01.2.3` or `1.2.3.4` are not versions).
_IN_TAG = re.compile(r"(?P<prefix>(?:.*[^\d.])?)(?P<version>" + SEMVER.pattern + r")$")

FIRST_VERSION = "0.1.0"
FIRST_PREFIX = "v"


class Bump(enum.IntEnum):
    PATCH = 1
    MINOR = 2
    MAJOR = 3


@dataclass(frozen=True)
class Version:
    """A semantic version as found in a tag name; `str()` gives the tag name form (with prefix)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()
    prefix: str = ""

    @classmethod
    def parse(cls, text: str) -> Version | None:
        """`1.2.3`, `v1.2.3-rc.1+b5` or `api-v1.2.3` (the version must end the text), else None."""
        match = _IN_TAG.fullmatch(text.strip())
        if not match:
            return None
        return cls(
            major=int(match["major"]),
            minor=int(match["minor"]),
            patch=int(match["patch"]),
            prerelease=tuple(match["pre"].split(".")) if match["pre"] else (),
            build=tuple(match["build"].split(".")) if match["build"] else (),
            prefix=match["prefix"],
        )

    @property
    def semver(self) -> str:
        """The version without prefix, e.g. `1.2.3-rc.1`."""
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def __str__(self) -> str:
        return self.prefix + self.semver

    def sort_key(self) -> tuple:
        """SemVer 2.0.0 precedence (build metadata ignored); ties broken by the text for stable order."""
        if self.prerelease:
            # numeric identifiers sort before alphanumeric ones, numbers by value
            pre = (0, tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease))
        else:
            pre = (1, ())
        return (self.major, self.minor, self.patch, pre, self.build, self.prefix)

    def bumped(self, level: Bump) -> Version:
        """The next version at `level` (npm `semver.inc` rules for pre-releases), same prefix."""
        major, minor, patch = self.major, self.minor, self.patch
        if level is Bump.MAJOR:
            if not (self.prerelease and minor == 0 and patch == 0):
                major, minor, patch = major + 1, 0, 0
        elif level is Bump.MINOR:
            if not (self.prerelease and patch == 0):
                minor, patch = minor + 1, 0
        elif not self.prerelease:
            patch += 1
        return Version(major, minor, patch, prefix=self.prefix)


def bump_level(*, breaking: bool, feature: bool, major: int) -> Bump:
    """The bump for a release with these changes, on top of a version whose major is `major`."""
    if major == 0:
        return Bump.MINOR if breaking or feature else Bump.PATCH
    if breaking:
        return Bump.MAJOR
    return Bump.MINOR if feature else Bump.PATCH


def parse_version_variable(text: str, name: str = "VERSION") -> Version:
    """Validate a user-given version (`1.2.3`, `v1.2.3`, `1.2.3-rc.1`); ConfigError names `name`."""
    version = Version.parse(text)
    if version is None or version.prefix not in ("", "v"):
        raise ConfigError(
            f"{name}: {text!r} is not a semantic version; expected MAJOR.MINOR.PATCH with an optional "
            "'v' prefix and pre-release, e.g. 1.4.0, v2.0.0 or 2.0.0-rc.1"
        )
    return version


def next_version(
    previous: Version | None,
    *,
    breaking: bool,
    feature: bool,
    requested: Version | None = None,
    first: str = FIRST_VERSION,
    first_prefix: str = FIRST_PREFIX,
) -> Version:
    """The version of an untagged release: `requested` (VERSION) when given, the first version
    when there is no previous release, else `previous` bumped by the changes.

    A requested version without prefix takes the previous release's prefix (so `VERSION=2.0.0`
    after `v1.9.0` gives tag `v2.0.0`); one written with `v` keeps it.
    """
    if requested is not None:
        if requested.prefix or previous is None:
            return requested if requested.prefix or not first_prefix else _with_prefix(requested, first_prefix)
        return _with_prefix(requested, previous.prefix)
    if previous is None:
        start = Version.parse(first)
        if start is None:
            raise ConfigError(f"first version {first!r} is not a semantic version such as 0.1.0")
        return _with_prefix(start, first_prefix)
    return previous.bumped(bump_level(breaking=breaking, feature=feature, major=previous.major))


def _with_prefix(version: Version, prefix: str) -> Version:
    return Version(version.major, version.minor, version.patch, version.prerelease, version.build, prefix)
