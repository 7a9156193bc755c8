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
`1.1.0-rc.1` + major -> `2.0.0` (that is how `VERSION`-less releases leave a pre-release line only
when asked, see below). Build metadata is dropped. The tag prefix of the previous release (`v`,
`api-v`, `create-vite@`, none) is kept; the first release, when no release tag exists, is `0.1.0`
with the prefix `v` (both overridable).

Pre-releases (`PRERELEASE=rc`, or a previous release that is itself a pre-release such as
`v2.0.0-rc.1`, whose identifier then carries on): the next version is the highest of
- the last stable release bumped by the changes, with `-rc.1` (`1.4.0` + feat -> `1.5.0-rc.1`), and
- for each pre-release above it, the same version with the next number (`1.5.0-rc.1` -> `1.5.0-rc.2`;
  from another identifier, number 1: `2.0.0-beta.3` -> `2.0.0-rc.1`),
as semantic-release and commitizen do; so fixes after `1.5.0-rc.1` give `1.5.0-rc.2`, and a
breaking change gives `2.0.0-rc.1`. A pre-release line ends with `VERSION=1.5.0` (or a tag).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from typing import NamedTuple

from pipe.errors import ConfigError

_CORE = r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
_PRE = r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
_BUILD = r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
# A version ending a tag name, e.g. `api-v1.2.3`: the prefix is what comes before it, and must not
# end in a digit or dot (so `01.2.3` or `1.2.3.4` are not versions). Patterns that only unusual input
# needs stay text until then (`re` compiles and caches them on first use; ~1.5 ms saved at start-up).
_IN_TAG = r"(?P<prefix>(?:.*[^\d.])?)(?P<version>" + _CORE + _PRE + _BUILD + r")$"
_PLAIN = re.compile(r"(v?)(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)")  # `1.2.3`, `v1.2.3`

FIRST_VERSION = "0.1.0"
FIRST_PREFIX = "v"


class Bump(enum.IntEnum):
    PATCH = 1
    MINOR = 2
    MAJOR = 3


class Version(NamedTuple):
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
        text = text.strip()
        plain = _PLAIN.fullmatch(text)  # nearly every release tag: the whole regex costs twice as much
        if plain is not None:
            prefix, major, minor, patch = plain.groups()
            return cls(int(major), int(minor), int(patch), (), (), prefix)
        match = re.fullmatch(_IN_TAG, text)
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

    @property
    def line(self) -> str:
        """What the version belongs to, from its tag prefix: `create-vite@` for
        `create-vite@9.1.2`, `api-` for `api-v1.2.3`, `` for `v1.2.3` and `1.2.3` alike. The previous
        release of a tag is taken among the tags of its line."""
        prefix = self.prefix
        return prefix[:-1] if prefix.endswith(("v", "V")) and not prefix[-2:-1].isalnum() else prefix

    @property
    def core(self) -> Version:
        """MAJOR.MINOR.PATCH with the same prefix (no pre-release or build)."""
        return Version(self.major, self.minor, self.patch, prefix=self.prefix)

    def with_prerelease(self, identifier: str, number: int) -> Version:
        return Version(self.major, self.minor, self.patch, (identifier, str(number)), prefix=self.prefix)

    @property
    def prerelease_id(self) -> str | None:
        """`rc` of `1.2.0-rc.3`; None for a release, or a pre-release not of the `<id>.<n>` form."""
        if len(self.prerelease) == 2 and not self.prerelease[0].isdigit() and self.prerelease[1].isdigit():
            return self.prerelease[0]
        if len(self.prerelease) == 1 and not self.prerelease[0].isdigit():
            return self.prerelease[0]
        return None

    @property
    def prerelease_number(self) -> int:
        """3 of `1.2.0-rc.3`; 0 for `1.2.0-rc`."""
        return int(self.prerelease[1]) if len(self.prerelease) == 2 and self.prerelease[1].isdigit() else 0

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


_PRERELEASE_ID = r"[A-Za-z][0-9A-Za-z-]*"


def parse_prerelease_variable(text: str, name: str = "PRERELEASE") -> str:
    """Validate a pre-release identifier (`rc`, `beta`, `alpha`); ConfigError names `name`."""
    if not re.fullmatch(_PRERELEASE_ID, text):
        raise ConfigError(
            f"{name}: {text!r} is not a pre-release identifier; expected a word of letters, digits and "
            "hyphens that starts with a letter, such as rc, beta or alpha (the number is counted for you)"
        )
    return text


def next_version(
    previous: Version | None,
    *,
    breaking: bool,
    feature: bool,
    requested: Version | None = None,
    first: str = FIRST_VERSION,
    first_prefix: str = FIRST_PREFIX,
    prerelease: str | None = None,
    reachable: Sequence[Version] = (),
) -> Version:
    """The version of an untagged release: `requested` (VERSION) when given, the first version
    when there is no previous release, else `previous` bumped by the changes.

    A requested version without prefix takes the previous release's prefix (so `VERSION=2.0.0`
    after `v1.9.0` gives tag `v2.0.0`); one written with `v` keeps it.

    `prerelease` (PRERELEASE) asks for a pre-release with that identifier; without it, a previous
    release that is a pre-release continues its own identifier. `reachable` are the versions of the
    earlier releases of the same line (`previous` among them), which number pre-releases.
    """
    if requested is not None:
        if requested.prefix or previous is None:
            return requested if requested.prefix or not first_prefix else _with_prefix(requested, first_prefix)
        return _with_prefix(requested, previous.prefix)
    identifier = prerelease or (previous.prerelease_id if previous is not None else None)
    if previous is None:
        start = Version.parse(first)
        if start is None:
            raise ConfigError(f"first version {first!r} is not a semantic version such as 0.1.0")
        start = _with_prefix(start, first_prefix)
        return start.with_prerelease(identifier, 1) if identifier else start
    if identifier is None:
        return previous.bumped(bump_level(breaking=breaking, feature=feature, major=previous.major))
    return _next_prerelease(previous, identifier, breaking=breaking, feature=feature, reachable=reachable)


def _next_prerelease(
    previous: Version, identifier: str, *, breaking: bool, feature: bool, reachable: Sequence[Version]
) -> Version:
    versions = [*reachable, previous]
    stable = max((v for v in versions if not v.is_prerelease), key=Version.sort_key, default=None)
    if stable is not None:
        base = stable.bumped(bump_level(breaking=breaking, feature=feature, major=stable.major))
    else:
        base = previous.core
    candidates = [_with_prefix(base, previous.prefix).with_prerelease(identifier, 1)]
    for version in versions:
        if version.is_prerelease and (stable is None or version.sort_key() > stable.sort_key()):
            same = version.prerelease_id == identifier
            number = version.prerelease_number + 1 if same else 1
            candidates.append(_with_prefix(version.core, previous.prefix).with_prerelease(identifier, number))
    chosen = max(candidates, key=Version.sort_key)
    highest = max(versions, key=Version.sort_key)
    if chosen.sort_key() <= highest.sort_key():
        raise ConfigError(
            f"PRERELEASE: {identifier!r} would give {chosen}, which is not above the earlier release {highest}; "
            "use an identifier that sorts after the previous one (alpha < beta < rc) or set VERSION"
        )
    return chosen


def _with_prefix(version: Version, prefix: str) -> Version:
    return Version(version.major, version.minor, version.patch, version.prerelease, version.build, prefix)
