"""What the Bitbucket Pipelines environment says about this run, and which stage it is."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pipe.model import PipelineContext, Stage

_ENV_FIELDS = {
    "branch": "BITBUCKET_BRANCH",
    "tag": "BITBUCKET_TAG",
    "commit": "BITBUCKET_COMMIT",
    "pr_id": "BITBUCKET_PR_ID",
    "pr_destination_branch": "BITBUCKET_PR_DESTINATION_BRANCH",
    "deployment_environment": "BITBUCKET_DEPLOYMENT_ENVIRONMENT",
    "build_number": "BITBUCKET_BUILD_NUMBER",
    "pipeline_uuid": "BITBUCKET_PIPELINE_UUID",
    "step_uuid": "BITBUCKET_STEP_UUID",
    "workspace": "BITBUCKET_WORKSPACE",
    "repo_slug": "BITBUCKET_REPO_SLUG",
    "repo_full_name": "BITBUCKET_REPO_FULL_NAME",
    "clone_dir": "BITBUCKET_CLONE_DIR",
    "git_http_origin": "BITBUCKET_GIT_HTTP_ORIGIN",
    "pipe_storage_dir": "BITBUCKET_PIPE_STORAGE_DIR",
    "pipe_shared_storage_dir": "BITBUCKET_PIPE_SHARED_STORAGE_DIR",
}


def pipeline_context(env: Mapping[str, str]) -> PipelineContext:
    """Read the Pipelines variables; empty values count as absent."""
    values = {field: (env.get(name) or "").strip() or None for field, name in _ENV_FIELDS.items()}
    if values["repo_full_name"] is None and values["workspace"] and values["repo_slug"]:
        values["repo_full_name"] = f"{values['workspace']}/{values['repo_slug']}"
    return PipelineContext(**values)


@dataclass(frozen=True)
class StageDecision:
    stage: Stage
    reason: str


def detect_stage(requested: str, ctx: PipelineContext, main_branch: str, branch: str | None) -> StageDecision:
    """The stage to run. Rules, first match wins (documented in the README's Details):

    1. `STAGE` set to anything but `auto`;
    2. a pull-request pipeline (`BITBUCKET_PR_ID`): review;
    3. a deployment step (`BITBUCKET_DEPLOYMENT_ENVIRONMENT`): deploy;
    4. a tag build (`BITBUCKET_TAG`) or the main branch: merge;
    5. any other branch: build.
    """
    if requested != "auto":
        return StageDecision(Stage(requested), f"STAGE is set to {requested}")
    if ctx.pr_id:
        return StageDecision(Stage.REVIEW, f"pull request #{ctx.pr_id}")
    if ctx.deployment_environment:
        return StageDecision(Stage.DEPLOY, f"deployment to {ctx.deployment_environment}")
    if ctx.tag:
        return StageDecision(Stage.MERGE, f"tag build of {ctx.tag}")
    if branch == main_branch:
        return StageDecision(Stage.MERGE, f"push to {main_branch}")
    if branch:
        return StageDecision(Stage.BUILD, f"push to branch {branch}")
    return StageDecision(Stage.BUILD, "no branch, tag, pull request or deployment found; treating it as a build")
