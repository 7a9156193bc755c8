"""docs/start-work.md: its pipelines are valid for Bitbucket and pass only the pipe's variables, quoted; the custom
pipeline it defines is the one the Airtable script triggers, with the variable the script sends."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from pipe.config.variables import variable_names
from tests.unit.test_pipelines_yaml import _pipe_calls, _problems, _unquoted_variable_values, validator  # noqa: F401

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "start-work.md"
SCRIPT = ROOT / "integrations" / "airtable" / "start-work.js"


def _pipelines() -> list[str]:
    blocks = re.findall(r"^```ya?ml[^\n]*\n(.*?)^```", DOC.read_text(), flags=re.S | re.M)
    return [b for b in blocks if b.startswith("pipelines:")]


def _constant(name: str) -> str:
    found = re.search(rf"^const {name} = '([^']*)';", SCRIPT.read_text(), flags=re.M)
    assert found, name
    return found.group(1)


def test_the_pipelines_are_valid_and_pass_only_declared_quoted_variables(validator):  # noqa: F811
    blocks = _pipelines()
    assert blocks
    for text in blocks:
        document = yaml.safe_load(text)
        assert _problems(validator, document) == []
        assert _unquoted_variable_values(text) == []
        for call in _pipe_calls(document):
            assert set(call["variables"]) <= set(variable_names())


def test_the_custom_pipeline_is_the_one_the_script_triggers_with_its_variable():
    custom = yaml.safe_load(_pipelines()[0])["pipelines"]["custom"]
    pipeline = custom[_constant("PIPELINE")]
    assert pipeline[0]["variables"] == [{"name": "RECORD_ID"}]
    assert "{key: 'RECORD_ID', value: recordId}" in SCRIPT.read_text()
    [call] = list(_pipe_calls(pipeline))
    assert call["variables"]["STAGE"] == "start" and call["variables"]["RECORD_ID"] == "$RECORD_ID"
    assert _constant("BRANCH") == "main"
