from pathlib import Path

import pytest

from pipe.config import load_settings
from pipe.errors import ConfigError

VALID = {"AIRTABLE_TOKEN": "tok-for-tests", "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN", "AIRTABLE_TABLE": "Work Items"}


def problems(env, root: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env, root)
    return info.value.problems


def test_valid_minimal_settings_use_documented_defaults(tmp_path):
    settings = load_settings(VALID, tmp_path)
    v = settings.variables
    assert (v.STAGE, v.MAIN_BRANCH, v.DRY_RUN, v.FAIL_ON_ERROR, v.DEBUG) == ("auto", "main", False, True, False)
    assert v.AIRTABLE_API_URL == "https://api.airtable.com"
    assert settings.report_path is None
    assert settings.file.workflow.stages["review"] == "In Review"


@pytest.mark.parametrize(
    "text,expected",
    [("true", True), ("YES", True), ("1", True), ("False", False), ("no", False), ("0", False), (" Yes ", True)],
)
def test_booleans_accept_words_and_digits_in_any_case(tmp_path, text, expected):
    assert load_settings({**VALID, "DRY_RUN": text}, tmp_path).variables.DRY_RUN is expected


def test_every_problem_is_listed_at_once_naming_variable_value_and_expectation(tmp_path):
    found = problems(
        {
            "STAGE": "bild",
            "DRY_RUN": "maybe",
            "AIRTABLE_BASE_ID": "base1",
            "AIRTABLE_API_URL": "ftp://x",
            "KEY_PATTERN": "(",
            "AIRTABLE_TOKEN": "tok-secret-value",
        },
        tmp_path,
    )
    text = "\n".join(found)
    assert "STAGE: got 'bild'; expected 'auto', 'build', 'review', 'merge', 'deploy', 'rollback', 'check'" in text
    assert "DRY_RUN: got 'maybe'; expected a boolean" in text
    assert "AIRTABLE_BASE_ID: got 'base1'" in text
    assert "AIRTABLE_API_URL: got 'ftp://x'" in text
    assert "KEY_PATTERN: got '('; expected a regular expression such as FEAT-\\d+" in text
    assert "KEY_FIELD: is required when KEY_PATTERN is set" in text
    assert "tok-secret-value" not in text


def test_token_base_and_table_are_required_unless_dry_run(tmp_path):
    found = problems({}, tmp_path)
    assert [p.split(":")[0] for p in found] == ["AIRTABLE_TOKEN", "AIRTABLE_BASE_ID", "AIRTABLE_TABLE"]
    assert load_settings({"DRY_RUN": "true"}, tmp_path).variables.AIRTABLE_TOKEN is None


def test_key_pattern_that_matches_empty_string_is_refused(tmp_path):
    found = problems({**VALID, "KEY_PATTERN": "x*", "KEY_FIELD": "Key"}, tmp_path)
    assert found == [
        "KEY_PATTERN: got 'x*'; expected a regular expression such as FEAT-\\d+ "
        "('x*' matches the empty string; it must match at least one character)"
    ]


def test_misspelt_variable_is_pointed_out(tmp_path):
    found = problems({"AIRTABLE_TOKEN": "t", "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN", "AIRTABLE_TABEL": "x"}, tmp_path)
    assert "AIRTABLE_TABLE: is required (or set DRY_RUN: 'true' to only print the plan)" in found
    assert "note: AIRTABLE_TABEL is not a variable of this pipe and is ignored; did you mean AIRTABLE_TABLE?" in found


def test_report_defaults_inside_pipe_storage_dir(tmp_path):
    settings = load_settings({**VALID, "BITBUCKET_PIPE_STORAGE_DIR": str(tmp_path / "store")}, tmp_path)
    assert settings.report_path == tmp_path / "store" / "airtable-coda-sync-report.json"


def test_config_file_is_read_from_the_default_path(tmp_path):
    (tmp_path / ".airtable-coda-sync.yml").write_text(
        "airtable:\n  fields:\n    branch: Git Branch\n    build_url: null\n"
        "workflow:\n  statuses: [Todo, Doing, Review, Done]\n"
        "  stages: {build: Doing, review: Review, merge: Done, deploy: Done}\n"
        "  environments: {}\n"
    )
    settings = load_settings(VALID, tmp_path)
    assert settings.file.airtable.fields.branch == "Git Branch"
    assert "build_url" not in settings.file.airtable.fields.written()
    assert settings.file.workflow.statuses == ["Todo", "Doing", "Review", "Done"]


def test_config_file_problems_name_the_file_line_and_key(tmp_path):
    (tmp_path / ".airtable-coda-sync.yml").write_text(
        "airtable:\n  feilds: {}\nworkflow:\n  stages:\n    review: In Reveiw\n"
    )
    found = problems(VALID, tmp_path)
    assert any(p.startswith(".airtable-coda-sync.yml line 2 (airtable.feilds): unknown key") for p in found)
    assert any("line 3 (workflow)" in p and "'In Reveiw' is not one of the statuses" in p for p in found)


def test_malformed_yaml_reports_its_line(tmp_path):
    (tmp_path / "sync.yml").write_text("workflow:\n  statuses: [a, b\n  stages: x\n")
    found = problems({**VALID, "CONFIG_FILE": "sync.yml"}, tmp_path)
    assert len(found) == 1 and found[0].startswith("sync.yml line ") and "not valid YAML" in found[0]


def test_config_file_must_exist_and_stay_inside_the_repository(tmp_path):
    assert problems({**VALID, "CONFIG_FILE": "missing.yml"}, tmp_path)[0].startswith(
        "CONFIG_FILE: got 'missing.yml'; no such file"
    )
    assert problems({**VALID, "CONFIG_FILE": "../outside.yml"}, tmp_path) == [
        "CONFIG_FILE: got '../outside.yml'; expected a path inside the repository"
    ]
