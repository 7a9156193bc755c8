"""The variables of `STAGE: start` (RECORD_ID, START_VIEW) and the rules between them, all listed at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipe.config import load_settings
from pipe.errors import ConfigError

START = {
    "STAGE": "start",
    "AIRTABLE_TOKEN": "tok-for-tests",
    "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN",
    "AIRTABLE_TABLE": "Work Items",
    "BITBUCKET_ACCESS_TOKEN": "bb-token-for-tests",
}
REC = "recAbC123dEf456Gh"


def problems(env, root: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env, root)
    return info.value.problems


def test_a_record_or_a_view(tmp_path):
    assert load_settings({**START, "RECORD_ID": REC}, tmp_path).start.record_id == REC
    settings = load_settings({**START, "START_VIEW": "Ready for Dev"}, tmp_path)
    assert (settings.start.record_id, settings.start.view) == (None, "Ready for Dev")


def test_a_pasted_record_url_gives_its_id(tmp_path):
    url = f"https://airtable.com/appABCDEFGHIJKLMN/tblWorkItems00001/viwX/{REC}?blocks=hide"
    assert load_settings({**START, "RECORD_ID": url}, tmp_path).start.record_id == REC


@pytest.mark.parametrize("value", ["rec123", "REC" + "a" * 14, f"{REC}x", "recAbC123dEf456G!", "https://x/y/z"])
def test_a_malformed_record_id_is_named_with_what_is_expected(tmp_path, value):
    found = problems({**START, "RECORD_ID": value}, tmp_path)
    assert found == [
        f"RECORD_ID: got {value!r}; expected an Airtable record ID: rec followed by exactly 14 letters or digits "
        "(case-sensitive), such as recAbC123dEf456Gh; the record's URL shows it"
    ]


def test_neither_or_both(tmp_path):
    assert problems(START, tmp_path) == [
        "RECORD_ID: is required with STAGE: start (the record to start work on), or set START_VIEW to start every "
        "record of an Airtable view"
    ]
    both = problems({**START, "RECORD_ID": REC, "START_VIEW": "Ready"}, tmp_path)
    assert len(both) == 1 and both[0].startswith("START_VIEW: give RECORD_ID or START_VIEW with STAGE: start, not both")


def test_the_bitbucket_token_is_required_unless_a_dry_run(tmp_path):
    env = {k: v for k, v in START.items() if k != "BITBUCKET_ACCESS_TOKEN"} | {"RECORD_ID": REC}
    assert problems(env, tmp_path) == [
        "BITBUCKET_ACCESS_TOKEN: is required with STAGE: start (a repository access token with the scope "
        "repository:write creates the branch), or set DRY_RUN: 'true' to only print the plan"
    ]
    assert load_settings({**env, "DRY_RUN": "true"}, tmp_path).run.dry_run


def test_a_dry_run_still_needs_the_airtable_token(tmp_path):
    env = {"STAGE": "start", "RECORD_ID": REC, "DRY_RUN": "true"}
    assert problems(env, tmp_path) == [
        "AIRTABLE_TOKEN: is required with STAGE: start, also for a dry run (the branch name comes from the record's "
        "title)"
    ]


@pytest.mark.parametrize("name,value", [("RECORD_ID", REC), ("START_VIEW", "Ready")])
def test_the_variables_mean_nothing_at_other_stages(tmp_path, name, value):
    env = {**START, "STAGE": "build", name: value}
    assert problems(env, tmp_path) == [
        f"{name}: is only used with STAGE: start; set STAGE: start to start work on records"
    ]


def test_the_bitbucket_token_is_a_secret(tmp_path):
    settings = load_settings({**START, "RECORD_ID": REC}, tmp_path)
    assert "bb-token-for-tests" in settings.secrets
