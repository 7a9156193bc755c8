"""The emulated operations: (method, spec path template) → route. Spec operations not listed answer 404
"not emulated" and are recorded as violations, so a client that reaches for one fails loudly."""

from __future__ import annotations

from collections.abc import Mapping

from . import api_branches, api_comments, api_insights, api_pipelines, api_pullrequests, api_repository
from .backend import Handler, Route

REPO = "/repositories/{workspace}/{repo_slug}"
PR = REPO + "/pullrequests/{pull_request_id}"
REPORT = REPO + "/commit/{commit}/reports/{reportId}"

_TABLE: tuple[tuple[str, str, str, str, Handler], ...] = (
    ("getRepository", "GET", REPO, "repository", api_repository.get_repository),
    ("getCommit", "GET", REPO + "/commit/{commit}", "repository", api_repository.get_commit),
    ("listPullRequests", "GET", REPO + "/pullrequests", "pullrequests", api_pullrequests.list_pull_requests),
    ("getPullRequest", "GET", PR, "pullrequests", api_pullrequests.get_pull_request),
    ("listPullRequestComments", "GET", PR + "/comments", "pullrequest_comments", api_comments.list_comments),
    ("createPullRequestComment", "POST", PR + "/comments", "pullrequest_comments", api_comments.create_comment),
    ("getPullRequestComment", "GET", PR + "/comments/{comment_id}", "pullrequest_comments", api_comments.get_comment),
    (
        "updatePullRequestComment",
        "PUT",
        PR + "/comments/{comment_id}",
        "pullrequest_comments",
        api_comments.update_comment,
    ),
    (
        "deletePullRequestComment",
        "DELETE",
        PR + "/comments/{comment_id}",
        "pullrequest_comments",
        api_comments.delete_comment,
    ),
    ("getReportsForCommit", "GET", REPO + "/commit/{commit}/reports", "code_insights", api_insights.list_reports),
    ("createOrUpdateReport", "PUT", REPORT, "code_insights", api_insights.put_report),
    ("getReport", "GET", REPORT, "code_insights", api_insights.get_report),
    ("deleteReport", "DELETE", REPORT, "code_insights", api_insights.delete_report),
    ("getAnnotationsForReport", "GET", REPORT + "/annotations", "code_insights", api_insights.list_annotations),
    ("bulkCreateOrUpdateAnnotations", "POST", REPORT + "/annotations", "code_insights", api_insights.bulk_annotations),
    ("getAnnotation", "GET", REPORT + "/annotations/{annotationId}", "code_insights", api_insights.get_annotation),
    (
        "createOrUpdateAnnotation",
        "PUT",
        REPORT + "/annotations/{annotationId}",
        "code_insights",
        api_insights.put_annotation,
    ),
    (
        "deleteAnnotation",
        "DELETE",
        REPORT + "/annotations/{annotationId}",
        "code_insights",
        api_insights.delete_annotation,
    ),
    ("listBranches", "GET", REPO + "/refs/branches", "branches", api_branches.list_branches),
    ("createBranch", "POST", REPO + "/refs/branches", "branches", api_branches.create_branch),
    ("getBranch", "GET", REPO + "/refs/branches/{name}", "branches", api_branches.get_branch),
    ("deleteBranch", "DELETE", REPO + "/refs/branches/{name}", "branches", api_branches.delete_branch),
    ("createPipelineForRepository", "POST", REPO + "/pipelines", "pipelines", api_pipelines.create_pipeline),
    ("getPipelinesForRepository", "GET", REPO + "/pipelines", "pipelines", api_pipelines.list_pipelines),
    ("getPipelineForRepository", "GET", REPO + "/pipelines/{pipeline_uuid}", "pipelines", api_pipelines.get_pipeline),
)

ROUTES: Mapping[tuple[str, str], Route] = {
    (method, template): Route(name, method, template, family, handler)
    for name, method, template, family, handler in _TABLE
}
