"""The pull-request comment at the review stage, end to end against the Bitbucket emulator (BITBUCKET_ACCESS_TOKEN
with the `pullrequest` scope): one comment, found again by its marker and updated in place, never a second one."""

from __future__ import annotations

import threading

from pipe.flow import run
from pipe.insights.comment import MARKER

from .harness import BRANCH, LOOK_ALIKE, SLUG, WS, origin_repo

MESSAGES = (
    "docs(api): document the rate limits FEAT-107",
    f"fix(export): fall back to CSV for FEAT-109, typo'd {LOOK_ALIKE}",
)
PR = 42


def review_clone(pipelines, name: str = "review"):
    origin = origin_repo(pipelines.git, *MESSAGES)
    pipelines.clone(origin, BRANCH, name="mirror-only")
    pipelines.bitbucket.add_pull_request(WS, SLUG, id=PR, source=BRANCH, title="Rate limit docs")
    clone = origin.pipelines_pr_checkout(pipelines.git.path(name), BRANCH, "main", depth=None)
    (clone.path / ".airtable-coda-sync.yml").write_text(
        (pipelines.git.path("mirror-only") / ".airtable-coda-sync.yml").read_text()
    )
    return origin, clone


def test_the_review_keeps_one_comment_and_a_rerun_writes_nothing(pipelines):
    origin, clone = review_clone(pipelines)
    head = origin.rev_parse(BRANCH)
    env = pipelines.review_env(head)

    first = pipelines.run(env, clone.path)

    assert first.code == 0, first.log
    comments = pipelines.bitbucket.comments(WS, SLUG, PR)
    assert len(comments) == 1
    raw = comments[0].raw
    print(f"\n--- the comment as posted\n{raw}")
    assert raw.startswith(MARKER + "\n### Airtable records of this pull request")
    assert comments[0].user.display_name == "Release bot"
    row = (
        "| FEAT-107 | API rate limit docs | In Review | "
        "[open](https://airtable.com/appSampleProduct1/tblWorkItems00001/recWorkItem000107) |"
    )
    assert row in raw
    assert "| FEAT-109 | Legacy exporter | Blocked |" in raw
    assert f"**Changed by build #58, commit {head[:7]}:**" in raw
    assert "- FEAT-107 'API rate limit docs' Ready → In Review; set Status," in raw
    assert f"- '{LOOK_ALIKE}' is not an Airtable record ID" in raw
    # the release-notes preview, rendered by the release template from the PR's commits (docs + fix: 1.4.1)
    assert "**Release notes preview**" in raw
    assert "## [1.4.1](https://bitbucket.org/acme/product/branches/compare/" in raw and "— unreleased" in raw
    assert "### Bug Fixes" in raw and "**export:** fall back to CSV for FEAT-109" in raw
    assert "### Documentation" in raw and "— [API rate limit docs](https://airtable.com/" in raw
    assert pipelines.fields("recWorkItem000107")["PR State"] == "OPEN"
    token_calls = [c for c, r in zip(first.calls(), first.requests, strict=True) if r.listener == "api"]
    assert token_calls == [
        ("GET", "listPullRequestComments"),
        ("POST", "createPullRequestComment"),
        ("GET", "listPullRequestComments"),
    ]

    again = pipelines.run(env, clone.path)  # the same step again: Airtable holds it all, nothing changes

    assert again.code == 0, again.log
    comment_calls = [c for c in again.calls() if "Comment" in c[1]]
    assert comment_calls == [("GET", "listPullRequestComments")]
    assert pipelines.bitbucket.comments(WS, SLUG, PR)[0].raw == raw
    assert "Bitbucket pull-request comment: unchanged (pull request #42: up to date)" in again.log
    print(f"re-run: {len(comment_calls)} comment request(s), 0 comment writes")


def test_a_new_push_updates_the_same_comment_in_place(pipelines):
    origin, clone = review_clone(pipelines)
    assert pipelines.run(pipelines.review_env(origin.rev_parse(BRANCH)), clone.path).code == 0
    first = pipelines.bitbucket.comments(WS, SLUG, PR)[0]
    origin.checkout(BRANCH)
    origin.commit("feat: bulk import FEAT-108", {"import.txt": "bulk"})
    origin.checkout("main")
    pipelines.clone(origin, BRANCH, name="mirror-2")
    clone2 = origin.pipelines_pr_checkout(pipelines.git.path("review-2"), BRANCH, "main", depth=None)
    (clone2.path / ".airtable-coda-sync.yml").write_text((clone.path / ".airtable-coda-sync.yml").read_text())

    result = pipelines.run(pipelines.review_env(origin.rev_parse(BRANCH), build=59), clone2.path)

    assert result.code == 0, result.log
    comments = pipelines.bitbucket.comments(WS, SLUG, PR)
    assert [c.id for c in comments] == [first.id]  # the same comment, updated (PUT), not a second one
    assert ("PUT", "updatePullRequestComment") in result.calls()
    assert "| FEAT-108 | Bulk import | In Review |" in comments[0].raw and "## [1.5.0](" in comments[0].raw


def test_duplicates_are_reduced_to_the_oldest_and_other_comments_are_left_alone(pipelines):
    origin, clone = review_clone(pipelines)
    bot = pipelines.token
    person = pipelines.bitbucket.add_comment(WS, SLUG, PR, f"Why is this here? > {MARKER}", author="reviewer")
    oldest = pipelines.bitbucket.add_comment(WS, SLUG, PR, f"{MARKER}\nold text", author=bot)
    newer = pipelines.bitbucket.add_comment(WS, SLUG, PR, f"{MARKER}\nolder run's duplicate", author=bot)

    result = pipelines.run(pipelines.review_env(origin.rev_parse(BRANCH)), clone.path)

    assert result.code == 0, result.log
    live = {c.id: c for c in pipelines.bitbucket.comments(WS, SLUG, PR)}
    assert set(live) == {person, oldest} and newer not in live
    assert live[oldest].raw.startswith(MARKER + "\n### Airtable records") and "old text" not in live[oldest].raw
    assert [c for c in result.calls() if c[0] in ("PUT", "DELETE", "POST") and "Comment" in c[1]] == [
        ("DELETE", "deletePullRequestComment"),
        ("PUT", "updatePullRequestComment"),
    ]


def test_two_pipelines_of_one_pull_request_at_once_leave_one_comment(pipelines):
    origin, clone = review_clone(pipelines)
    other = origin.pipelines_pr_checkout(pipelines.git.path("review-b"), BRANCH, "main", depth=None)
    (other.path / ".airtable-coda-sync.yml").write_text((clone.path / ".airtable-coda-sync.yml").read_text())
    head = origin.rev_parse(BRANCH)
    # both read the comments before either posts: the first two answers wait for each other, so each run finds
    # no comment and posts its own
    both_listed = threading.Barrier(2, timeout=30)
    lists = []

    def hold_first_two_lists(route: str, status: int, body):
        if route == "listPullRequestComments" and len(lists) < 2:
            lists.append(route)
            both_listed.wait()
        return body

    pipelines.bitbucket.add_response_hook(hold_first_two_lists)

    codes: list[int] = []
    start = threading.Barrier(2)

    def step(env: dict[str, str], cwd) -> None:
        start.wait()
        codes.append(run(env, cwd))

    threads = [
        threading.Thread(target=step, args=(pipelines.review_env(head, build=60), clone.path)),
        threading.Thread(target=step, args=(pipelines.review_env(head, build=61), other.path)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert codes == [0, 0]
    posts = [r for r in pipelines.bitbucket.requests if r.operation == "createPullRequestComment"]
    assert len(posts) == 2  # the race happened
    live = pipelines.bitbucket.comments(WS, SLUG, PR)
    assert len(live) == 1 and live[0].raw.startswith(MARKER)
    deleted = [c for c in pipelines.bitbucket.comments(WS, SLUG, PR, include_deleted=True) if c.deleted]
    assert len(deleted) == 1 and deleted[0].id > live[0].id  # the newer one went, in both runs' view


def test_without_a_token_there_is_no_comment_and_the_report_still_goes_through_the_proxy(pipelines):
    origin, clone = review_clone(pipelines)
    env = {k: v for k, v in pipelines.review_env(origin.rev_parse(BRANCH)).items() if k != "BITBUCKET_ACCESS_TOKEN"}

    result = pipelines.run(env, clone.path)

    assert result.code == 0, result.log
    assert pipelines.bitbucket.comments(WS, SLUG, PR) == []
    assert "No pull-request comment: BITBUCKET_ACCESS_TOKEN is not set" in result.log
    assert {r.listener for r in result.requests} == {"proxy"}


def test_the_token_never_reaches_the_log_even_with_debug(pipelines):
    origin, clone = review_clone(pipelines)

    result = pipelines.run(pipelines.review_env(origin.rev_parse(BRANCH), DEBUG="true"), clone.path)

    assert result.code == 0, result.log
    assert "DEBUG:" in result.log and "/comments" in result.log  # the requests are logged
    assert pipelines.token not in result.log
    assert len(pipelines.bitbucket.comments(WS, SLUG, PR)) == 1


def test_the_preview_is_versioned_as_the_merge_would_version_it(pipelines):
    """The preview and the release share one way of versioning: with PRERELEASE set, the pull request's notes
    are previewed as the release candidate the merge would publish."""
    origin, clone = review_clone(pipelines)
    env = {**pipelines.review_env(origin.rev_parse(BRANCH)), "PRERELEASE": "rc"}

    result = pipelines.run(env, clone.path)

    assert result.code == 0, result.log
    raw = pipelines.bitbucket.comments(WS, SLUG, PR)[0].raw
    assert "## [1.4.1-rc.1](https://bitbucket.org/acme/product/branches/compare/" in raw
