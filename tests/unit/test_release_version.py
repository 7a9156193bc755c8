"""Semantic versions: parsing, ordering, bumps (0.x rules, pre-releases), VERSION."""

from __future__ import annotations

import pytest

from pipe.errors import ConfigError
from pipe.release.version import Bump, Version, bump_level, next_version, parse_version_variable


def v(text: str) -> Version:
    version = Version.parse(text)
    assert version is not None, text
    return version


@pytest.mark.parametrize(
    ("text", "prefix", "semver"),
    [
        ("1.2.3", "", "1.2.3"),
        ("v1.2.3", "v", "1.2.3"),
        ("v1.2.3-rc.1+build.5", "v", "1.2.3-rc.1+build.5"),
        ("api-v2.0.0", "api-v", "2.0.0"),
    ],
)
def test_parse(text: str, prefix: str, semver: str) -> None:
    version = v(text)
    assert (version.prefix, version.semver, str(version)) == (prefix, semver, text)


@pytest.mark.parametrize("text", ["v10", "v10.6", "1.2", "01.2.3", "1.2.3-", "latest", "1.2.3.4x", "1.2.3.4"])
def test_not_versions(text: str) -> None:
    assert Version.parse(text) is None


def test_semver_precedence() -> None:
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.2.0",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = sorted(ordered, key=lambda t: hash(t))
    assert sorted(shuffled, key=lambda t: v(t).sort_key()) == ordered


@pytest.mark.parametrize(
    ("breaking", "feature", "major", "level"),
    [
        (True, True, 1, Bump.MAJOR),
        (False, True, 1, Bump.MINOR),
        (False, False, 1, Bump.PATCH),
        (True, False, 0, Bump.MINOR),  # 0.x: breaking -> minor
        (False, True, 0, Bump.MINOR),
        (False, False, 0, Bump.PATCH),
    ],
)
def test_bump_level(breaking: bool, feature: bool, major: int, level: Bump) -> None:
    assert bump_level(breaking=breaking, feature=feature, major=major) is level


@pytest.mark.parametrize(
    ("start", "level", "result"),
    [
        ("v1.2.3", Bump.PATCH, "v1.2.4"),
        ("v1.2.3", Bump.MINOR, "v1.3.0"),
        ("v1.2.3", Bump.MAJOR, "v2.0.0"),
        ("1.1.0-rc.1", Bump.MINOR, "1.1.0"),
        ("1.1.0-rc.1", Bump.PATCH, "1.1.0"),
        ("1.1.0-rc.1", Bump.MAJOR, "2.0.0"),
        ("2.0.0-rc.1", Bump.MAJOR, "2.0.0"),
        ("1.1.1-rc.1", Bump.MINOR, "1.2.0"),
        ("api-v0.4.2+meta", Bump.PATCH, "api-v0.4.3"),
    ],
)
def test_bumped(start: str, level: Bump, result: str) -> None:
    assert str(v(start).bumped(level)) == result


def test_next_version_keeps_the_prefix_and_applies_zero_rules() -> None:
    assert str(next_version(v("v0.3.1"), breaking=True, feature=False)) == "v0.4.0"
    assert str(next_version(v("0.3.1"), breaking=False, feature=True)) == "0.4.0"
    assert str(next_version(v("v1.3.1"), breaking=True, feature=True)) == "v2.0.0"
    assert str(next_version(v("v1.3.1"), breaking=False, feature=False)) == "v1.3.2"


def test_first_release() -> None:
    assert str(next_version(None, breaking=True, feature=True)) == "v0.1.0"
    assert str(next_version(None, breaking=False, feature=False, first="1.0.0", first_prefix="")) == "1.0.0"


def test_requested_version_wins_and_takes_the_previous_prefix() -> None:
    assert str(next_version(v("v0.9.0"), breaking=False, feature=False, requested=v("1.0.0"))) == "v1.0.0"
    assert str(next_version(v("0.9.0"), breaking=False, feature=False, requested=v("v1.0.0"))) == "v1.0.0"
    assert str(next_version(None, breaking=False, feature=False, requested=v("2.0.0"))) == "v2.0.0"


def test_version_variable_is_validated() -> None:
    assert parse_version_variable("v1.4.0").semver == "1.4.0"
    assert parse_version_variable("2.0.0-rc.1").prerelease == ("rc", "1")
    for bad in ("1.4", "version-1.0.0", "latest", ""):
        with pytest.raises(ConfigError, match="VERSION"):
            parse_version_variable(bad)


@pytest.mark.parametrize(
    "name",
    ["1.2.3", "v1.2.3", "v0.0.0", "v10.20.30", "V1.2.3", "vv1.2.3", "x1.2.3", "v01.2.3", "1.2.3.4", "1.2", "v1.2.3 "],
)
def test_the_plain_tag_shortcut_parses_as_the_full_rule_does(name: str) -> None:
    """`v1.2.3` takes a shortcut in `Version.parse`; with build metadata added the same name takes the
    full rule, which must give the same version (or none for both)."""
    full = Version.parse(name.strip() + "+b1")
    assert Version.parse(name) == (full._replace(build=()) if full else None)
