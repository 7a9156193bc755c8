"""The merge stage: the pull request's state (MERGED) read from Bitbucket with the token, from the merge commit's
pull-request number, and written with its link; the report names the release."""

from __future__ import annotations

from testkit.gitrepos import bitbucket_merge_message

from .harness import BRANCH, SLUG, WS, origin_repo

PR = 42


def merged(pipelines):
    origin = origin_repo(pipelines.git, "docs(api): document the rate limits FEAT-107")
    pipelines.clone(origin, BRANCH, name="mirror-branch")
    pipelines.bitbucket.add_pull_request(WS, SLUG, id=PR, source=BRANCH, title="Rate limit docs")
    origin.merge(BRANCH, bitbucket_merge_message(BRANCH, PR))
    pipelines.bitbucket.set_pull_request_state(WS, SLUG, PR, "MERGED")
    return origin, pipelines.clone(origin, "main")


def test_merge_writes_the_merged_state_and_link_read_from_bitbucket(pipelines):
    origin, clone = merged(pipelines)
    head = origin.rev_parse("main")

    result = pipelines.run(pipelines.env(head, branch="main", BITBUCKET_ACCESS_TOKEN=pipelines.token), clone.path)

    assert result.code == 0, result.log
    fields = pipelines.fields("recWorkItem000107")
    assert fields["Status"] == "Merged" and fields["PR State"] == "MERGED"
    assert fields["Pull Request"] == f"https://bitbucket.org/{WS}/{SLUG}/pull-requests/{PR}"
    token_calls = [(r.method, r.operation) for r in result.requests if r.listener == "api"]
    assert token_calls == [("GET", "getPullRequest")]
    report = pipelines.report(head).fields
    data = {d["title"]: d["value"] for d in report["data"]}
    assert data["Stage"] == "merge" and data["Release"] == "1.4.1" and report["result"] == "PASSED"
    assert "Release 1.4.1." in report["details"]


def test_merge_without_a_token_leaves_the_state_alone_and_says_why(pipelines):
    origin, clone = merged(pipelines)

    result = pipelines.run(pipelines.env(origin.rev_parse("main"), branch="main"), clone.path)

    assert result.code == 0, result.log
    assert "PR State" not in pipelines.fields("recWorkItem000107")
    assert "Pull-request state not read: BITBUCKET_ACCESS_TOKEN is not set" in result.log


def test_a_deployment_rerun_that_covers_no_commit_leaves_the_report_alone(pipelines):
    origin, clone = merged(pipelines)
    head = origin.rev_parse("main")
    deploy = pipelines.env(
        head, branch="main", BITBUCKET_DEPLOYMENT_ENVIRONMENT="production", AIRTABLE_DEPLOYMENTS_TABLE="Deployments"
    )

    first = pipelines.run(deploy, clone.path)

    assert first.code == 0, first.log
    report = pipelines.report(head).fields
    data = {d["title"]: d["value"] for d in report["data"]}
    assert data["Stage"] == "deploy (production)" and data["Release"] == "1.4.1"
    assert "FEAT-107 'API rate limit docs' Ready → Released" in report["details"]
    assert "Release 1.4.1, deployed to production." in report["details"]

    again = pipelines.run(deploy, clone.path)  # logged as deployed: no commit since, no record

    assert again.code == 0, again.log
    assert again.writes == []
    assert pipelines.report(head).fields == report
    assert "Bitbucket Code Insights report: unchanged (this run covers no commit; the report on the commit stays)" in (
        again.log
    )
