"""integrations/airtable/start-work.js, the Airtable automation script that starts work on a record, run under node
with a stand-in for Airtable's scripting globals (testkit.airtable_script) against the Bitbucket emulator: it
triggers the custom pipeline `start-work` with the record's ID, and that pipeline's run of the pipe creates the
branch. Each refusal becomes an error that says what to fix, without the token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testkit.airtable_script import BITBUCKET_API, missing_node, run_script

from .harness import BRANCH_107, PIPELINE, REC_107, SLUG, WS

pytestmark = pytest.mark.skipif(missing_node() is not None, reason=str(missing_node()))

SCRIPT = Path(__file__).resolve().parents[3] / "integrations" / "airtable" / "start-work.js"


def configured(tmp_path: Path, **constants: str) -> Path:
    """The script as a user edits it once: the constants at its top set."""
    text = SCRIPT.read_text()
    values = {"WORKSPACE": WS, "REPOSITORY": SLUG, "BRANCH": "main", "PIPELINE": PIPELINE, **constants}
    for name, value in values.items():
        text, count = re.subn(rf"^const {name} = '[^']*';", f"const {name} = '{value}';", text, flags=re.M)
        assert count == 1, name
    path = tmp_path / "start-work.js"
    path.write_text(text)
    return path


def trigger(start_work, tmp_path, *, record_id=REC_107, token=None, **constants):
    return run_script(
        configured(tmp_path, **constants),
        config={"recordId": record_id},
        secrets={"bitbucketToken": start_work.token if token is None else token},
        rewrite={BITBUCKET_API: start_work.bitbucket.url},
    )


@pytest.fixture
def pipeline_token(start_work) -> str:
    return start_work.bitbucket.add_token(WS, SLUG, scopes=["pipeline:write"], name="Airtable automation")


def test_the_script_runs_the_custom_pipeline_with_the_record_id(start_work, tmp_path, pipeline_token):
    done = trigger(start_work, tmp_path, token=pipeline_token)

    assert done.error is None, done
    runs = start_work.bitbucket.pipeline_runs(WS, SLUG)
    assert len(runs) == 1
    run = runs[0]
    assert run.target["ref_name"] == "main" and run.selector == {"type": "custom", "pattern": PIPELINE}
    assert [(v["key"], v["value"]) for v in run.variables] == [("RECORD_ID", REC_107)]
    url = f"https://bitbucket.org/{WS}/{SLUG}/pipelines/results/{run.build_number}"
    assert done.outputs == {"buildNumber": run.build_number, "pipelineUrl": url}
    assert done.requests == [{"method": "POST", "url": f"{BITBUCKET_API}/repositories/{WS}/{SLUG}/pipelines"}]
    assert done.logs == [f"Started pipeline #{run.build_number} ({PIPELINE} on main) for {REC_107}: {url}"]
    assert pipeline_token not in repr(done)


def test_the_pipeline_it_starts_creates_the_branch(start_work, tmp_path, pipeline_token):
    assert trigger(start_work, tmp_path, token=pipeline_token).error is None
    run = start_work.bitbucket.pipeline_runs(WS, SLUG)[0]
    variables = {v["key"]: v["value"] for v in run.variables}  # what Pipelines hands the custom pipeline

    started = start_work.run(start_work.start_env(RECORD_ID=variables["RECORD_ID"]))

    assert started.code == 0, started.log
    assert BRANCH_107 in start_work.branches()
    assert start_work.fields(REC_107)["Branch"] == BRANCH_107


def test_triggering_twice_is_harmless(start_work, tmp_path, pipeline_token):
    for _ in range(2):
        assert trigger(start_work, tmp_path, token=pipeline_token).error is None
        run = start_work.bitbucket.pipeline_runs(WS, SLUG)[-1]
        env = start_work.start_env(RECORD_ID=run.variables[0]["value"])
        assert start_work.run(env).code == 0
    assert [b for b in start_work.branches() if b != "main"] == [BRANCH_107]


@pytest.mark.parametrize("record_id", ["", "recTooShort", "https://airtable.com/x", None])
def test_a_record_id_that_is_not_one_sends_nothing(start_work, tmp_path, pipeline_token, record_id):
    done = trigger(start_work, tmp_path, token=pipeline_token, record_id=record_id)

    assert done.error is not None and done.error.startswith("recordId: got ")
    assert 'Map the input variable recordId to the trigger\'s "Airtable record ID".' in done.error
    assert done.requests == [] and start_work.bitbucket.pipeline_runs(WS, SLUG) == []


def test_a_token_without_the_pipeline_write_scope(start_work, tmp_path):
    token = start_work.bitbucket.add_token(WS, SLUG, scopes=["repository"], name="Read only")

    done = trigger(start_work, tmp_path, token=token)

    assert done.error == (
        "The secret bitbucketToken lacks the scope pipeline:write (403: it has repository): create a repository "
        "access token with pipeline:write."
    )
    assert start_work.bitbucket.pipeline_runs(WS, SLUG) == []


def test_an_invalid_token(start_work, tmp_path):
    done = trigger(start_work, tmp_path, token="fake-bitbucket-token-revoked")

    assert done.error is not None and done.error.startswith("Bitbucket did not accept the secret bitbucketToken (401")
    assert "fake-bitbucket-token-revoked" not in done.error


def test_a_custom_pipeline_the_repository_does_not_define(start_work, tmp_path, pipeline_token):
    done = trigger(start_work, tmp_path, token=pipeline_token, PIPELINE="start-wrok")

    assert done.error is not None and done.error.startswith("Bitbucket did not start the pipeline (400")
    assert "bitbucket-pipelines.yml on main has pipelines: custom: start-wrok." in done.error


def test_an_unknown_repository(start_work, tmp_path, pipeline_token):
    done = trigger(start_work, tmp_path, token=pipeline_token, REPOSITORY="prodcut")

    assert done.error is not None and done.error.startswith(f"Bitbucket found no repository {WS}/prodcut (404")


def test_an_empty_secret(start_work, tmp_path):
    done = trigger(start_work, tmp_path, token=" ")

    assert done.error == (
        "The secret bitbucketToken is empty: add a Bitbucket repository access token (scope pipeline:write)."
    )
    assert done.requests == []
