"""The `CODA_WEBHOOK_*` variables: defaults, parsing (IDs, pasted webhook URLs, stages, time zones) and the rules
between them and the other Coda variables, each problem named with its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipe.config import load_settings
from pipe.config.webhook import hook_url_parts
from pipe.errors import ConfigError

VALID = {"AIRTABLE_TOKEN": "tok-for-tests", "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN", "AIRTABLE_TABLE": "Work Items"}
CODA = {"CODA_API_TOKEN": "fake-coda-token", "CODA_DOC_ID": "AbCDeFGH12"}
RULE = "grid-auto-b3Jmey6jBS"
URL = f"https://coda.io/apis/v1/docs/AbCDeFGH12/hooks/automation/{RULE}"


def problems(env: dict[str, str], root: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env, root)
    return info.value.problems


def test_defaults_merge_and_deploy_utc_no_test(tmp_path: Path) -> None:
    hook = load_settings(VALID, tmp_path).coda_webhook
    assert (hook.rule_id, hook.stages, hook.test, hook.time_zone) == (None, ("merge", "deploy"), False, "UTC")


def test_a_webhook_needs_a_token_and_a_doc_but_no_table(tmp_path: Path) -> None:
    hook = load_settings({**VALID, **CODA, "CODA_WEBHOOK_RULE_ID": RULE}, tmp_path).coda_webhook
    assert hook.rule_id == RULE
    found = problems({**VALID, "CODA_API_TOKEN": "fake-coda-token"}, tmp_path)  # no webhook: the table is needed
    assert "CODA_TABLE: is required when CODA_API_TOKEN is given" in found
    found = problems({**VALID, "CODA_WEBHOOK_RULE_ID": RULE}, tmp_path)
    assert "CODA_DOC_ID: is required when CODA_WEBHOOK_RULE_ID is given (the doc the rule is in)" in found
    assert any(p.startswith("CODA_API_TOKEN: is required when CODA_WEBHOOK_RULE_ID is given") for p in found)
    found = problems({**VALID, "CODA_DOC_ID": "AbCDeFGH12", "CODA_WEBHOOK_RULE_ID": RULE}, tmp_path)
    assert found == ["CODA_API_TOKEN: is required when CODA_DOC_ID is given (or set DRY_RUN: 'true')"]
    dry = {"DRY_RUN": "true", "CODA_DOC_ID": "AbCDeFGH12", "CODA_WEBHOOK_RULE_ID": RULE}
    assert load_settings(dry, tmp_path).coda_webhook.rule_id == RULE  # a dry run shows the payload without a token


def test_the_webhook_url_of_the_rule_builder_is_taken_for_its_rule_id(tmp_path: Path) -> None:
    assert hook_url_parts(URL) == ("AbCDeFGH12", RULE)
    assert hook_url_parts(f" {URL}/?x=1 ") == ("AbCDeFGH12", RULE)
    assert hook_url_parts(RULE) == (None, RULE)
    settings = load_settings({**VALID, **CODA, "CODA_WEBHOOK_RULE_ID": URL}, tmp_path)
    assert settings.coda_webhook.rule_id == RULE
    found = problems({**VALID, **CODA, "CODA_DOC_ID": "OtherDoc00", "CODA_WEBHOOK_RULE_ID": URL}, tmp_path)
    assert found == [
        "CODA_WEBHOOK_RULE_ID: the webhook URL is for doc 'AbCDeFGH12', but CODA_DOC_ID is 'OtherDoc00'; a rule "
        "can only be triggered in its own doc"
    ]


@pytest.mark.parametrize("bad", ["Announce the release", "grid-auto-x/../y", "https://coda.io/d/_dAbC/Page_su1"])
def test_a_rule_name_or_another_url_is_not_a_rule_id(tmp_path: Path, bad: str) -> None:
    [found] = problems({**VALID, **CODA, "CODA_WEBHOOK_RULE_ID": bad}, tmp_path)
    assert found.startswith(f"CODA_WEBHOOK_RULE_ID: got {bad!r}; expected the automation rule's ID")


def test_stages_are_names_separated_by_commas_or_spaces(tmp_path: Path) -> None:
    env = {**VALID, **CODA, "CODA_WEBHOOK_RULE_ID": RULE}
    stages = load_settings({**env, "CODA_WEBHOOK_STAGES": " Deploy, merge merge build"}, tmp_path).coda_webhook.stages
    assert stages == ("deploy", "merge", "build")
    [found] = problems({**env, "CODA_WEBHOOK_STAGES": "merge,release"}, tmp_path)
    assert found == (
        "CODA_WEBHOOK_STAGES: got 'merge,release'; expected stage names among build, review, merge, deploy, "
        "comma separated; got 'release'"
    )
    [found] = problems({**env, "CODA_WEBHOOK_STAGES": " , "}, tmp_path)
    assert "got nothing" in found


def test_time_zones_are_iana_names(tmp_path: Path) -> None:
    env = {**VALID, **CODA, "CODA_WEBHOOK_RULE_ID": RULE}
    assert load_settings({**env, "CODA_WEBHOOK_TIME_ZONE": "Europe/Berlin"}, tmp_path).coda_webhook.time_zone == (
        "Europe/Berlin"
    )
    assert load_settings({**env, "CODA_WEBHOOK_TIME_ZONE": "utc"}, tmp_path).coda_webhook.time_zone == "UTC"
    [found] = problems({**env, "CODA_WEBHOOK_TIME_ZONE": "CEST"}, tmp_path)
    assert found == (
        "CODA_WEBHOOK_TIME_ZONE: got 'CEST'; expected an IANA time zone name such as UTC, Europe/Berlin or "
        "America/New_York"
    )


def test_a_test_payload_needs_a_rule_and_is_only_sent_by_the_check(tmp_path: Path) -> None:
    [found] = problems({**VALID, **CODA, "CODA_TABLE": "Changelog", "CODA_WEBHOOK_TEST": "true"}, tmp_path)
    assert found == "CODA_WEBHOOK_RULE_ID: is required when CODA_WEBHOOK_TEST is true (the rule to test)"
    env = {**VALID, **CODA, "CODA_WEBHOOK_RULE_ID": RULE, "CODA_WEBHOOK_TEST": "yes"}
    check = load_settings({**env, "STAGE": "check"}, tmp_path)
    assert check.coda_webhook.test is True and check.warnings == ()
    build = load_settings({**env, "STAGE": "build"}, tmp_path)
    assert build.warnings == (
        "CODA_WEBHOOK_TEST is only used with STAGE: check; this run sends no test payload (the real payload is sent "
        "at the stages in CODA_WEBHOOK_STAGES)",
    )
    [found] = problems({**env, "CODA_WEBHOOK_TEST": "sure"}, tmp_path)
    assert found.startswith("CODA_WEBHOOK_TEST: got 'sure'; expected a boolean")


def test_webhook_options_without_a_rule_are_a_warning(tmp_path: Path) -> None:
    settings = load_settings({**VALID, "CODA_WEBHOOK_STAGES": "build"}, tmp_path)
    assert settings.warnings == (
        "CODA_WEBHOOK_STAGES is set but CODA_WEBHOOK_RULE_ID is not: no Coda automation is triggered",
    )
