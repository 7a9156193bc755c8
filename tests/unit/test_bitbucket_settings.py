"""settings.bitbucket: the variables of the report and the comment, their defaults and their problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipe.config.settings import load_settings
from pipe.errors import ConfigError

BASE = {"DRY_RUN": "true"}
PIPELINES = {"CI": "true", "BITBUCKET_BUILD_NUMBER": "12"}


def bitbucket(tmp_path: Path, **env: str):
    return load_settings({**BASE, **env}, tmp_path).bitbucket


def test_the_report_is_on_inside_pipelines_and_off_elsewhere(tmp_path):
    assert bitbucket(tmp_path, **PIPELINES).code_insights is True
    assert bitbucket(tmp_path).code_insights is False
    assert bitbucket(tmp_path, CI="true").code_insights is False  # CI alone: another CI service
    assert bitbucket(tmp_path, **PIPELINES, CODE_INSIGHTS="false").code_insights is False
    assert bitbucket(tmp_path, CODE_INSIGHTS="yes").code_insights is True


def test_defaults_and_an_empty_proxy_meaning_none(tmp_path):
    b = bitbucket(tmp_path)
    assert (b.api_url, b.proxy, b.token, b.require_record) == (
        "http://api.bitbucket.org/2.0",
        "http://host.docker.internal:29418",
        None,
        False,
    )
    assert bitbucket(tmp_path, BITBUCKET_API_PROXY="").proxy is None
    assert bitbucket(tmp_path, BITBUCKET_API_PROXY="http://127.0.0.1:9/").proxy == "http://127.0.0.1:9"
    assert bitbucket(tmp_path, REQUIRE_RECORD="true").require_record is True


def test_the_token_is_a_secret_and_bad_values_are_listed_together(tmp_path):
    settings = load_settings({**BASE, "BITBUCKET_ACCESS_TOKEN": "fake-bitbucket-token-x"}, tmp_path)
    assert "fake-bitbucket-token-x" in settings.secrets
    with pytest.raises(ConfigError) as caught:
        load_settings({**BASE, "CODE_INSIGHTS": "maybe", "BITBUCKET_API_PROXY": "host.docker.internal:29418"}, tmp_path)
    problems = "\n".join(caught.value.problems)
    assert "CODE_INSIGHTS: got 'maybe'; expected a boolean" in problems
    assert "BITBUCKET_API_PROXY: got 'host.docker.internal:29418'; expected an http:// or https:// URL" in problems
