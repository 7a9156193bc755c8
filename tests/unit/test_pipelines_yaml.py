"""bitbucket-pipelines.yml and every pipelines snippet in README.md are valid for Bitbucket.

They are validated against Atlassian's schema (`testkit/specs/bitbucket-pipelines-schema.json`, an
unmodified copy; see `testkit/specs/README.md`). A bare pipe-step snippet
(`- pipe: ...`) or a list of steps is wrapped into a minimal pipelines document first; YAML blocks
that are not pipelines configuration (e.g. the pipe's own config file) are left alone.

Also checked: pipe variable values are quoted (the schema only accepts strings, so `DEBUG: true`
fails in Bitbucket), also in commented-out optional lines, and every variable a README snippet
passes to this pipe is one the pipe declares (`pipe.config.variables.variable_names()`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from testkit.specs import SPECS_DIR

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PIPELINES_YML = ROOT / "bitbucket-pipelines.yml"
PIPE_YML = ROOT / "pipe.yml"
TOP_LEVEL_KEYS = {"clone", "definitions", "export", "image", "labels", "options", "pipelines"}


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads((SPECS_DIR / "bitbucket-pipelines-schema.json").read_text())
    # The root is only a "$ref" into "components", a sibling key; python-jsonschema resolves it
    # against the document itself (reference §9), so the schema is used as it is.
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _problems(validator, document: Any) -> list[str]:
    problems = []
    for error in validator.iter_errors(document):
        deepest = jsonschema.exceptions.best_match([error, *error.context]) if error.context else error
        where = "/".join(map(str, deepest.absolute_path)) or "<root>"
        problems.append(f"{where}: {deepest.message[:300]}")
    if isinstance(document, dict):
        unknown = set(document) - TOP_LEVEL_KEYS
        if unknown:
            problems.append(f"<root>: unknown top-level keys {sorted(unknown)}")
        if "pipelines" not in document:
            problems.append("<root>: no 'pipelines'")
    return problems


# -- YAML blocks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    name: str  # for test ids and messages
    text: str

    def uncommented(self) -> str:
        """The block with commented-out optional lines (`# NAME: "<x>" # Optional`) switched on."""
        return re.sub(r"^(\s*)# ([A-Z][A-Z0-9_]*: .*?)(\s+#.*)?$", r"\1\2", self.text, flags=re.M)


def _readme_blocks() -> list[Block]:
    if not README.exists():
        return []
    blocks = re.findall(r"^```ya?ml[^\n]*\n(.*?)^```", README.read_text(), flags=re.S | re.M)
    return [Block(f"README.md yaml block {i + 1}", text) for i, text in enumerate(blocks)]


def _kind(document: Any) -> str | None:
    """'document', 'steps' (a list of `- step:`/`- parallel:` items), 'script' (`- pipe:` items) or None."""
    if isinstance(document, dict) and "pipelines" in document:
        return "document"
    if isinstance(document, list) and document and all(isinstance(i, dict) for i in document):
        keys = set().union(*document)
        if keys and keys <= {"step", "parallel", "stage"}:
            return "steps"
        if "pipe" in keys:
            return "script"
    return None


def _as_document(document: Any) -> dict:
    kind = _kind(document)
    if kind == "script":
        return {"pipelines": {"default": [{"step": {"name": "snippet", "script": document}}]}}
    if kind == "steps":
        return {"pipelines": {"default": document}}
    return document


def _pipe_calls(node: Any):
    """Every `{pipe: ..., variables: ...}` mapping inside a document."""
    if isinstance(node, dict):
        if isinstance(node.get("pipe"), str):
            yield node
        for value in node.values():
            yield from _pipe_calls(value)
    elif isinstance(node, list):
        for item in node:
            yield from _pipe_calls(item)


def _unquoted_variable_values(text: str) -> list[str]:
    """`NAME: value` pairs under a pipe's `variables:` whose value is neither quoted nor a `$VAR`."""
    bad = []

    def walk(node: yaml.Node, in_pipe: bool = False) -> None:
        if isinstance(node, yaml.MappingNode):
            keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
            for key, value in node.value:
                if "pipe" in keys and key.value == "variables" and isinstance(value, yaml.MappingNode):
                    for name, val in value.value:
                        scalars = val.value if isinstance(val, yaml.SequenceNode) else [val]
                        for scalar in scalars:
                            if not isinstance(scalar, yaml.ScalarNode):
                                bad.append(f"{name.value}: not a string")
                            elif scalar.style not in ("'", '"') and not re.fullmatch(
                                r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", scalar.value
                            ):
                                bad.append(f"{name.value}: {scalar.value}")
                else:
                    walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    walk(yaml.compose(text))
    return bad


def _declared_variables() -> list[str]:
    try:
        from pipe.config.variables import variable_names
    except ImportError as exc:  # the pipe's variable table is not there yet
        pytest.skip(f"pipe.config.variables.variable_names is not available yet: {exc}")
    return variable_names()


def _our_image_name() -> str:
    image = yaml.safe_load(PIPE_YML.read_text())["image"]
    return image.rsplit(":", 1)[0]


def _is_our_pipe(reference: str) -> bool:
    return reference.removeprefix("docker://").rsplit(":", 1)[0] == _our_image_name()


# -- bitbucket-pipelines.yml ----------------------------------------------------------------------


def test_pipelines_yml_is_valid(validator):
    document = yaml.safe_load(PIPELINES_YML.read_text())
    assert _problems(validator, document) == []


def test_pipelines_yml_quotes_every_pipe_variable_value():
    assert _unquoted_variable_values(PIPELINES_YML.read_text()) == []


def test_pipelines_yml_runs_tests_lint_and_hadolint_in_parallel_and_releases_main():
    document = yaml.safe_load(PIPELINES_YML.read_text())
    main = document["pipelines"]["branches"]["main"]
    parallel = main[0]["parallel"]
    scripts = "\n".join(line for item in parallel for line in item["step"]["script"] if isinstance(line, str))
    assert "pytest" in scripts and "./dev lint" in scripts and "hadolint Dockerfile" in scripts
    release = main[-1]["step"]
    assert "docker" in release["services"]
    script = "\n".join(line for line in release["script"] if isinstance(line, str))
    for needed in (
        "semversioner release",
        "semversioner changelog > CHANGELOG.md",
        "sed -i",
        "${REGISTRY_USERNAME}",
        "${REGISTRY_PASSWORD}",
        "[skip ci]",
        'git tag -a -m "Tagging for release ${VERSION}" "${VERSION}"',
        "docker push",
    ):
        assert needed in script, needed
    assert "pipe.yml README.md" in script


def test_release_sed_bumps_only_our_image(tmp_path):
    """The release's sed line, run on copies: our image's version moves, other pipes' do not."""
    document = yaml.safe_load(PIPELINES_YML.read_text())
    release = document["pipelines"]["branches"]["main"][-1]["step"]["script"]
    sed = "\n".join(line for line in release if isinstance(line, str) and line.startswith("sed -i"))
    name = _our_image_name()
    (tmp_path / "pipe.yml").write_text(f"image: {name}:1.2.3\n")
    (tmp_path / "README.md").write_text(
        f"- pipe: docker://{name}:1.2.3\n- pipe: atlassian/other:1.2.3\n{name}:1.2.30\n"
    )
    (tmp_path / "bitbucket-pipelines.yml").write_text(f"- pipe: docker://{name}:1.2.3\n")
    (tmp_path / "pyproject.toml").write_text('[project]\nversion = "1.2.3"\n[x]\nversion = "1.2.3"\n')
    env = {"PATH": os.environ["PATH"], "NAME": name, "PREVIOUS": "1.2.3", "VERSION": "1.3.0"}
    subprocess.run(["bash", "-c", sed], cwd=tmp_path, env=env, check=True)
    assert (tmp_path / "pipe.yml").read_text() == f"image: {name}:1.3.0\n"
    assert (tmp_path / "README.md").read_text() == (
        f"- pipe: docker://{name}:1.3.0\n- pipe: atlassian/other:1.2.3\n{name}:1.2.30\n"
    )
    assert (tmp_path / "bitbucket-pipelines.yml").read_text() == f"- pipe: docker://{name}:1.3.0\n"
    assert (tmp_path / "pyproject.toml").read_text() == '[project]\nversion = "1.3.0"\n[x]\nversion = "1.2.3"\n'


def test_pipelines_yml_passes_only_declared_variables_to_our_pipe():
    declared = set(_declared_variables())
    document = yaml.safe_load(PIPELINES_YML.read_text())
    for call in _pipe_calls(document):
        if _is_our_pipe(call["pipe"]):
            assert set(call.get("variables") or {}) <= declared, call


# -- README.md ------------------------------------------------------------------------------------

ALL_README_BLOCKS = _readme_blocks()


def _is_pipelines_block(block: Block) -> bool:
    try:
        return _kind(yaml.safe_load(block.text)) is not None
    except yaml.YAMLError:
        return False  # reported by test_readme_yaml_blocks_parse


README_BLOCKS = [b for b in ALL_README_BLOCKS if _is_pipelines_block(b)]


@pytest.mark.parametrize("block", ALL_README_BLOCKS, ids=[b.name for b in ALL_README_BLOCKS])
def test_readme_yaml_blocks_parse(block):
    yaml.safe_load(block.text)
    yaml.safe_load(block.uncommented())


def test_readme_has_pipelines_snippets():
    if not README.exists():
        pytest.skip("README.md is not there yet")
    kinds = [_kind(yaml.safe_load(b.text)) for b in README_BLOCKS]
    assert len(README_BLOCKS) >= 1
    assert "script" in kinds, "README.md has no `- pipe:` snippet (YAML Definition)"


@pytest.mark.parametrize("block", README_BLOCKS, ids=[b.name for b in README_BLOCKS])
def test_readme_pipelines_block_is_valid(validator, block):
    for variant, text in (("as written", block.text), ("optional lines uncommented", block.uncommented())):
        document = yaml.safe_load(text)
        problems = _problems(validator, _as_document(document))
        assert problems == [], f"{block.name} ({variant}):\n" + "\n".join(problems)


@pytest.mark.parametrize("block", README_BLOCKS, ids=[b.name for b in README_BLOCKS])
def test_readme_block_quotes_pipe_variable_values(block):
    assert _unquoted_variable_values(block.uncommented()) == []


@pytest.mark.parametrize("block", README_BLOCKS, ids=[b.name for b in README_BLOCKS])
def test_readme_block_passes_only_declared_variables(block):
    document = yaml.safe_load(block.uncommented())
    declared = set(_declared_variables())
    calls = [c for c in _pipe_calls(_as_document(document)) if _is_our_pipe(c["pipe"])]
    for call in calls:
        unknown = set(call.get("variables") or {}) - declared
        assert not unknown, f"{block.name} passes {sorted(unknown)}, which the pipe does not declare"


# -- the checks themselves ------------------------------------------------------------------------


def test_wrapping_and_validation_catch_typical_mistakes(validator):
    good = yaml.safe_load('- pipe: docker://x/y:1.0.0\n  variables:\n    DEBUG: "true"\n')
    assert _problems(validator, _as_document(good)) == []
    unquoted = yaml.safe_load("- pipe: docker://x/y:1.0.0\n  variables:\n    DEBUG: true\n")
    assert _problems(validator, _as_document(unquoted))
    assert _unquoted_variable_values("- pipe: x/y:1.0.0\n  variables:\n    A: b\n    B: $B\n    C: 'c'\n") == ["A: b"]
    bad_size = yaml.safe_load("- step:\n    size: 3x\n    script: [echo]\n")
    assert _problems(validator, _as_document(bad_size))
    assert _kind(yaml.safe_load("airtable:\n  fields: {}\n")) is None
    block = Block("x", '- pipe: a/b:1.0.0\n  variables:\n    # DEBUG: "<boolean>" # Optional\n')
    assert 'DEBUG: "<boolean>"' in block.uncommented() and "#" not in block.uncommented()
