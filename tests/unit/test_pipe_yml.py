"""pipe.yml follows our schema, and one version is named everywhere a release writes it.

The release step (bitbucket-pipelines.yml) runs `semversioner release`, regenerates CHANGELOG.md
and rewrites `:<old>` to `:<new>` in pipe.yml and README.md with sed; these tests catch a version
that one of them missed, and the `.semversioner/` files a release would trip over.
"""

from __future__ import annotations

import copy
import json
import re
import xml.dom.minidom
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "schemas" / "pipe.schema.json"
PIPE_YML = ROOT / "pipe.yml"
README = ROOT / "README.md"
CHANGELOG = ROOT / "CHANGELOG.md"
SEMVERSIONER = ROOT / ".semversioner"
VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
CHANGE_TYPES = {"major", "minor", "patch"}


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text())


@pytest.fixture(scope="module")
def pipe_yml() -> dict:
    return yaml.safe_load(PIPE_YML.read_text())


def _errors(schema: dict, document: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(document)]


# -- the schema and the file --------------------------------------------------------------------


def test_schema_is_a_valid_draft7_schema(schema):
    jsonschema.Draft7Validator.check_schema(schema)


def test_pipe_yml_matches_the_schema(schema, pipe_yml):
    assert _errors(schema, pipe_yml) == []


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda d: d.update(image="airtable-coda-sync/airtable-coda-sync:latest"), "no X.Y.Z tag"),
        (lambda d: d.update(image="airtable-coda-sync/airtable-coda-sync:1.2"), "two-part version"),
        (lambda d: d.update(image="airtable-coda-sync/airtable-coda-sync:v1.2.3"), "v prefix"),
        (lambda d: d.update(image="airtable-coda-sync:1.2.3"), "no namespace"),
        (lambda d: d.update(image="docker.io/acs/airtable-coda-sync:1.2.3"), "registry host"),
        (lambda d: d.update(image="localhost:5000/acs/airtable-coda-sync:1.2.3"), "registry host with port"),
        (lambda d: d.update(respository=d.pop("repository")), "typo of a key"),
        (lambda d: d.pop("maintainer"), "missing maintainer"),
        (lambda d: d.update(repository="https://github.com/acs/airtable-coda-sync"), "not on bitbucket.org"),
        (lambda d: d["vendor"].pop("website"), "vendor without website"),
        (lambda d: d.update(tags=[]), "no tags"),
        (lambda d: d.update(tags=["Airtable Sync"]), "tag with a space"),
        (lambda d: d.update(icon="http://example.com/logo.svg"), "plain http icon"),
        (lambda d: d.update(icon="../logo.svg"), "icon outside the repository"),
        (lambda d: d.update(icon="logo.png"), "relative icon that is not an SVG"),
    ],
)
def test_schema_rejects(schema, pipe_yml, change, why):
    document = copy.deepcopy(pipe_yml)
    change(document)
    assert _errors(schema, document), f"schema accepted a pipe.yml with {why}"


def test_schema_accepts_the_older_email_maintainer_and_an_https_icon(schema, pipe_yml):
    document = copy.deepcopy(pipe_yml)
    document.update(maintainer="maintainers@example.com", icon="https://example.com/logo.svg")
    assert _errors(schema, document) == []


def test_relative_icon_is_a_committed_svg(pipe_yml):
    icon = pipe_yml["icon"]
    if icon.startswith("https://"):
        pytest.skip("icon is a URL")
    path = ROOT / icon
    assert path.is_file(), f"pipe.yml icon {icon!r} does not exist"
    assert xml.dom.minidom.parse(str(path)).documentElement.tagName == "svg"


def test_repository_names_the_image(pipe_yml):
    """The toolkit derives the pipe's name from the repository path; keep it the image's name."""
    repo_name = pipe_yml["repository"].rstrip("/").rsplit("/", 1)[1]
    image_name = pipe_yml["image"].rsplit(":", 1)[0].rsplit("/", 1)[1]
    assert repo_name == image_name


# -- one version everywhere ---------------------------------------------------------------------


def _pipe_version(pipe_yml: dict) -> str:
    return pipe_yml["image"].rsplit(":", 1)[1]


def _release_files() -> dict[str, Path]:
    return {p.stem: p for p in SEMVERSIONER.glob("*.json")}


def test_only_one_semversioner_directory():
    """semversioner 3 uses .semversioner/ and falls back to the legacy .changes/: keep only one."""
    assert SEMVERSIONER.is_dir()
    assert not (ROOT / ".changes").exists(), "both .semversioner/ and .changes/ exist"


def test_release_files_are_valid_and_named_after_their_version():
    releases = _release_files()
    assert releases, "no release in .semversioner/"
    for name, path in releases.items():
        assert VERSION.match(name), f"{path.name}: not X.Y.Z.json"
        data = json.loads(path.read_text())
        changes = data if isinstance(data, list) else data["changes"]  # the pre-3.0 format is a list
        if isinstance(data, dict):
            assert data["version"] == name, f"{path.name} says version {data['version']}"
        assert changes, f"{path.name} lists no change"
        for change in changes:
            assert change["type"] in CHANGE_TYPES and change["description"].strip(), (path.name, change)


def test_pending_changesets_are_valid():
    pending = SEMVERSIONER / "next-release"
    if not pending.exists():
        pytest.skip("no pending changesets (.semversioner/next-release/ is absent)")
    for path in pending.iterdir():
        assert re.fullmatch(r"(major|minor|patch)-\d{14,20}\.json", path.name), f"unexpected file {path.name}"
        change = json.loads(path.read_text())
        assert change["type"] == path.name.split("-", 1)[0] and change["description"].strip(), path.name


def test_pipe_yml_version_is_the_latest_release(pipe_yml):
    latest = max(_release_files(), key=_version_key)
    assert _pipe_version(pipe_yml) == latest


def test_changelog_lists_the_pending_changesets_as_unreleased():
    """CHANGELOG.md is kept current with every user-visible change: its Unreleased section is the changesets."""
    from scripts.changelog_unreleased import replace_in

    text = CHANGELOG.read_text()
    assert replace_in(text) == text, "CHANGELOG.md is stale: run scripts/changelog_unreleased.py --write"


def test_changelog_starts_with_the_pipe_yml_version(pipe_yml):
    if not CHANGELOG.exists():
        pytest.skip("CHANGELOG.md is not there yet")
    released = re.sub(r"^## Unreleased\n.*?(?=^## )", "", CHANGELOG.read_text(), flags=re.M | re.S)
    headings = re.findall(r"^## (\S+)\s*$", released, flags=re.M)
    assert headings, "CHANGELOG.md has no '## X.Y.Z' section"
    assert headings[0] == _pipe_version(pipe_yml)
    assert headings == sorted(headings, key=_version_key, reverse=True)
    assert set(headings) == set(_release_files()), "CHANGELOG.md and .semversioner/ list different releases"


def test_readme_snippets_use_the_pipe_yml_image_and_version(pipe_yml):
    if not README.exists():
        pytest.skip("README.md is not there yet")
    text = README.read_text()
    image = pipe_yml["image"]
    name = image.rsplit(":", 1)[0]
    definition = text.split("## YAML Definition", 1)
    if len(definition) < 2:
        pytest.skip("README.md has no '## YAML Definition' section yet")
    snippet = re.search(r"```yaml\n(.*?)```", definition[1], flags=re.S)
    assert snippet, "the YAML Definition section has no ```yaml block"
    refs = re.findall(r"^\s*-?\s*pipe:\s*(\S+)", snippet.group(1), flags=re.M)
    assert refs, "the YAML Definition snippet has no `- pipe:` line"
    assert all(ref.removeprefix("docker://") == image for ref in refs), (refs, image)
    # every other mention of the image anywhere in the README carries the same version
    for ref in re.findall(re.escape(name) + r":(\S+?)(?=[\s`\"')]|$)", text):
        assert ref == _pipe_version(pipe_yml), f"README mentions {name}:{ref}, pipe.yml says {image}"


def test_pipelines_yml_pins_the_same_version(pipe_yml):
    """The pipe repository's own pipelines may run the released image; the release sed bumps it too."""
    path = ROOT / "bitbucket-pipelines.yml"
    if not path.exists():
        pytest.skip("bitbucket-pipelines.yml is not there yet")
    name = pipe_yml["image"].rsplit(":", 1)[0]
    for ref in re.findall(re.escape(name) + r":(\d+\.\d+\.\d+)\b", path.read_text()):
        assert ref == _pipe_version(pipe_yml)
