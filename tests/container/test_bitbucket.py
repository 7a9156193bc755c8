"""The image run as Pipelines runs a pipe, reporting in Bitbucket: the Code Insights report arrives through the auth
proxy (the Bitbucket emulator's proxy listener stands in for host.docker.internal:29418; the container uses the
host's network) and, with BITBUCKET_ACCESS_TOKEN, the one pull-request comment arrives at the review stage."""

from __future__ import annotations

import pytest

from pipe.insights.comment import MARKER
from pipe.insights.report import REPORT_ID
from testkit.bitbucket_repo import mirror, pipe_proxy
from testkit.emulators.bitbucket import ProxyConfig
from tests.container import test_pipelines_runs as runs
from tests.container.harness import FAKE_JWT, REPO_SLUG, WORKSPACE, pipelines_setup, pipelines_variables
from tests.container.test_pipelines_runs import BRANCH, assert_clean_run, fields, step_variables

pytestmark = pytest.mark.container
airtable = runs.airtable  # the fixture: the Airtable emulator with a token of this test


def feature_origin(git_repo_builder):
    origin = git_repo_builder("origin")
    origin.commits(2, "chore: groundwork {i}")
    origin.branch(BRANCH)
    origin.commit("docs: explain the API rate limits")
    origin.commit("feat: bulk import groundwork (FEAT-108), see recWorkItem00107")  # a mistyped ID
    return origin


def test_a_branch_build_publishes_the_report_through_the_auth_proxy(
    run_pipe, git_repo_builder, airtable, bitbucket_emulator_factory
):
    bitbucket = bitbucket_emulator_factory(seed=None, proxy=ProxyConfig(WORKSPACE, REPO_SLUG))
    origin = feature_origin(git_repo_builder)
    mirror(bitbucket, origin, WORKSPACE, REPO_SLUG)
    checkout = pipelines_setup(origin.pipelines_branch_checkout(git_repo_builder.path("build"), BRANCH), origin)
    env = pipelines_variables(checkout, commit=checkout.head, branch=BRANCH)
    # only the proxy's address differs from Pipelines: BITBUCKET_API_URL stays http://api.bitbucket.org/2.0
    run = run_pipe(checkout, env, step_variables(airtable, BITBUCKET_API_PROXY=bitbucket.proxy_url))

    assert_clean_run(run, airtable, checkout)
    report = bitbucket.report(WORKSPACE, REPO_SLUG, checkout.head, REPORT_ID)
    assert report.fields["result"] == "PASSED"
    assert "recWorkItem000107 'API rate limit docs' Ready → In Progress" in report.fields["details"]
    [annotation] = report.annotations.values()
    assert "'recWorkItem00107' is not an Airtable record ID" in annotation.fields["summary"]
    assert {(r.listener, r.identity) for r in bitbucket.requests} == {("proxy", "Bitbucket Pipelines")}
    assert {r.headers.get("host") for r in bitbucket.requests} == {"api.bitbucket.org"}
    assert "Bitbucket Code Insights report: written (PASSED, 1 annotation(s), 2 write(s))" in run.log


def test_a_pull_request_gets_its_comment_and_the_report(
    run_pipe, git_repo_builder, airtable, bitbucket_emulator_factory
):
    bitbucket = bitbucket_emulator_factory(seed=None, proxy=pipe_proxy(WORKSPACE, REPO_SLUG))
    origin = feature_origin(git_repo_builder)
    source = origin.rev_parse(BRANCH)
    mirror(bitbucket, origin, WORKSPACE, REPO_SLUG)
    bitbucket.add_pull_request(WORKSPACE, REPO_SLUG, id=7, source=BRANCH, title="Rate limit docs")
    token = bitbucket.add_token(WORKSPACE, REPO_SLUG, scopes=["pullrequest"], name="Release bot")
    repo = origin.pipelines_pr_checkout(git_repo_builder.path("build"), BRANCH, "main")
    checkout = pipelines_setup(repo, origin, origin_reachable=False)
    env = pipelines_variables(checkout, commit=source, branch=BRANCH, pr_id=7, pr_destination="main")
    variables = step_variables(
        airtable,
        BITBUCKET_ACCESS_TOKEN=token,
        BITBUCKET_API_URL=bitbucket.url,
        BITBUCKET_API_PROXY=bitbucket.proxy_url,
    )

    run = run_pipe(checkout, env, variables)

    assert_clean_run(run, airtable, checkout)
    run.assert_no_secret(token, FAKE_JWT)
    [comment] = bitbucket.comments(WORKSPACE, REPO_SLUG, 7)
    assert comment.raw.startswith(MARKER) and comment.user.display_name == "Release bot"
    assert "| recWorkItem000107 | API rate limit docs | In Review |" in comment.raw
    assert "**Release notes preview**" in comment.raw and "bulk import groundwork" in comment.raw
    assert fields(airtable, "recWorkItem000107")["Status"] == "In Review"
    assert bitbucket.report(WORKSPACE, REPO_SLUG, source, REPORT_ID).fields["result"] == "PASSED"
    by_listener = {(r.listener, r.operation) for r in bitbucket.requests}
    assert ("api", "createPullRequestComment") in by_listener and ("proxy", "createOrUpdateReport") in by_listener

    again = run_pipe(checkout, env, variables)  # the step re-run: the comment already holds this text

    assert_clean_run(again, airtable, checkout)
    assert "Bitbucket pull-request comment: unchanged (pull request #7: up to date)" in again.log
    assert [c.id for c in bitbucket.comments(WORKSPACE, REPO_SLUG, 7)] == [comment.id]
