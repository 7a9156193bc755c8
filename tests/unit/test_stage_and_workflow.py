import pytest

from pipe.config.file import Workflow
from pipe.facts.pipelines import detect_stage, pipeline_context
from pipe.model import Stage
from pipe.plan.workflow import decide_status


@pytest.mark.parametrize(
    "env,branch,expected",
    [
        ({"BITBUCKET_PR_ID": "7", "BITBUCKET_BRANCH": "feature/x"}, "feature/x", Stage.REVIEW),
        ({"BITBUCKET_DEPLOYMENT_ENVIRONMENT": "production", "BITBUCKET_BRANCH": "main"}, "main", Stage.DEPLOY),
        ({"BITBUCKET_TAG": "v1.2.0"}, None, Stage.MERGE),
        ({"BITBUCKET_BRANCH": "main"}, "main", Stage.MERGE),
        ({"BITBUCKET_BRANCH": "feature/x"}, "feature/x", Stage.BUILD),
        ({}, None, Stage.BUILD),
        ({"BITBUCKET_PR_ID": ""}, "feature/y", Stage.BUILD),
    ],
)
def test_stage_is_detected_from_the_pipelines_environment(env, branch, expected):
    assert detect_stage("auto", pipeline_context(env), "main", branch).stage is expected


def test_explicit_stage_wins():
    decision = detect_stage("deploy", pipeline_context({"BITBUCKET_PR_ID": "3"}), "main", "x")
    assert decision.stage is Stage.DEPLOY and "STAGE" in decision.reason


def test_links_are_built_from_pipelines_variables():
    ctx = pipeline_context(
        {
            "BITBUCKET_WORKSPACE": "acme",
            "BITBUCKET_REPO_SLUG": "shop",
            "BITBUCKET_PR_ID": "12",
            "BITBUCKET_BUILD_NUMBER": "345",
            "BITBUCKET_PIPELINE_UUID": "{p-1}",
        }
    )
    assert ctx.pr_url == "https://bitbucket.org/acme/shop/pull-requests/12"
    assert ctx.build_url == "https://bitbucket.org/acme/shop/pipelines/results/345"
    assert ctx.commit_url("abc") == "https://bitbucket.org/acme/shop/commits/abc"
    assert ctx.run_id == "{p-1}"


def test_links_from_the_http_origin_pipelines_sets_are_https():
    ctx = pipeline_context({"BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/acme/shop", "BITBUCKET_PR_ID": "3"})
    assert ctx.pr_url == "https://bitbucket.org/acme/shop/pull-requests/3"


WORKFLOW = Workflow()


@pytest.mark.parametrize(
    "current,target,after",
    [
        (None, "In Progress", "In Progress"),
        ("Planned", "In Progress", "In Progress"),
        ("In Progress", "In Review", "In Review"),
        ("In Review", "In Progress", None),  # never backwards
        ("Released", "Merged", None),
        ("In Review", "In Review", None),
        ("Blocked", "In Review", None),  # owned by people
        ("Someday", "In Review", None),  # not in the workflow
        ("Planned", None, None),
    ],
)
def test_status_moves_only_forward_and_never_touches_human_statuses(current, target, after):
    assert decide_status(WORKFLOW, current, target).after == after


def test_deploy_status_comes_from_the_environment_mapping():
    assert WORKFLOW.stage_status(Stage.DEPLOY, "staging") == "On Staging"
    assert WORKFLOW.stage_status(Stage.DEPLOY, "Production") == "Released"
    assert WORKFLOW.stage_status(Stage.DEPLOY, "qa") == "Released"
    assert WORKFLOW.stage_status(Stage.BUILD) == "In Progress"
