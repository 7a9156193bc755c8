"""The image run as Pipelines runs a pipe, for each kind of build, against the Airtable emulator.

Each test makes a real repository, clones it the way Pipelines' build setup does (depth 50, the
synthetic merge of a pull request, the detached HEAD of a tag), hands the clone to another user,
mounts it at /opt/atlassian/pipelines/agent/build and runs the image with the variables Pipelines
forwards plus only those the step passes. Assertions are on the emulator's records, the exit code,
the log (never a token, in any encoding) and the files left in the clone.

Records of the emulator's sample base (testkit/emulators/airtable/sample_seed.json) used here:
104 Merged, 106 In Progress, 107 Ready, 108 Planned (key FEAT-108).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID
from testkit.gitrepos import bitbucket_merge_message
from tests.container.harness import FAKE_JWT, Checkout, pipelines_setup, pipelines_variables

pytestmark = pytest.mark.container

TABLE = "Work Items"
WRITES = {"POST", "PATCH", "PUT", "DELETE"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def airtable(airtable_emulator):
    """The emulator plus a token made for this test (a value no log may show)."""
    token = airtable_emulator.add_token(
        token="acsTestToken.0f6c2d9e8b7a41c3b5e4d3c2b1a09f8e",
        scopes=["data.records:read", "data.records:write", "schema.bases:read"],
        bases=[SAMPLE_BASE_ID],
    )
    airtable_emulator.token = token
    return airtable_emulator


def step_variables(airtable, **extra: str) -> dict[str, str]:
    """What a user's `variables:` passes: the Airtable connection and key matching."""
    return {
        "AIRTABLE_TOKEN": airtable.token,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": TABLE,
        "AIRTABLE_API_URL": airtable.url,
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        **extra,
    }


def fields(airtable, record_id: str) -> dict:
    return airtable.record(SAMPLE_BASE_ID, TABLE, record_id)["fields"]


def writes(airtable) -> list[str]:
    return [f"{r.method} {r.path}" for r in airtable.requests if r.method in WRITES]


def git_status(checkout: Checkout) -> str:
    """`git status --porcelain` of the clone, as root on the host (the clone belongs to uid 1000)."""
    return subprocess.run(
        ["git", "-c", "safe.directory=*", "status", "--porcelain", "--untracked-files=all"],
        cwd=checkout.path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def assert_clean_run(run, airtable, checkout: Checkout) -> None:
    assert run.exit_code == 0, run.log
    assert "Traceback" not in run.log, run.log
    run.assert_no_secret(airtable.token, FAKE_JWT)
    assert git_status(checkout) == "", "the pipe left changes in the user's clone"


def expect_https_links(record: dict) -> None:
    """Links written to Airtable must be https. Pipelines sets BITBUCKET_GIT_HTTP_ORIGIN to
    http://bitbucket.org/<workspace>/<repo>; a pipe that builds links from it writes http:// links.
    Called after a test's other assertions, so a known failure here leaves them checked."""
    links = {k: v for k, v in record.items() if k in ("Pull Request", "Commit URL", "Build URL")}
    assert all(v.startswith("https://bitbucket.org/acme/product/") for v in links.values()), links


def report(checkout: Checkout, airtable) -> dict:
    """The JSON report the pipe writes under BITBUCKET_PIPE_STORAGE_DIR (root-owned, written as root)."""
    path = checkout.pipe_storage / "airtable-coda-sync-report.json"
    assert path.is_file(), f"no report in {checkout.pipe_storage}: {list(checkout.pipe_storage.iterdir())}"
    text = path.read_text()
    for variant in (airtable.token,):
        assert variant not in text
    return json.loads(text)


# -- a branch push: build stage ---------------------------------------------------------------------

BRANCH = "feature/recWorkItem000107-rate-limit-docs"


def feature_branch_checkout(git_repo_builder, *, origin_reachable: bool = True) -> Checkout:
    origin = git_repo_builder("origin")
    origin.commits(3, "chore: groundwork {i}")
    origin.branch(BRANCH)
    origin.commit("docs: explain the API rate limits")
    origin.commit("feat: bulk import groundwork (FEAT-108)")
    repo = origin.pipelines_branch_checkout(git_repo_builder.path("build"), BRANCH)
    return pipelines_setup(repo, origin, origin_reachable=origin_reachable)


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_branch_push_moves_records_to_in_progress(run_pipe, git_repo_builder, airtable, debug):
    checkout = feature_branch_checkout(git_repo_builder)
    env = pipelines_variables(checkout, commit=checkout.head, branch=BRANCH)
    run = run_pipe(checkout, env, step_variables(airtable, DEBUG=str(debug).lower()))

    assert_clean_run(run, airtable, checkout)
    assert "Stage: build" in run.log
    for record_id in ("recWorkItem000107", "recWorkItem000108"):
        after = fields(airtable, record_id)
        assert after["Status"] == "In Progress", (record_id, after, run.log)
        assert after["Branch"] == BRANCH
        assert after["Last Commit"] == checkout.head
    assert fields(airtable, "recWorkItem000106")["Status"] == "In Progress"  # untouched
    assert fields(airtable, "recWorkItem000104")["Status"] == "Merged"  # untouched
    data = report(checkout, airtable)
    assert json.dumps(data)  # parsed
    assert (checkout.pipe_storage / "airtable-coda-sync-report.json").stat().st_uid == 0
    if debug:
        assert re.search(r"^DEBUG: .*PATCH /v0/", run.log, flags=re.M), "DEBUG shows no HTTP request"
    else:
        assert "DEBUG:" not in run.log
    expect_https_links(fields(airtable, "recWorkItem000107"))


def test_rerunning_the_step_writes_nothing(run_pipe, git_repo_builder, airtable):
    checkout = feature_branch_checkout(git_repo_builder)
    env = pipelines_variables(checkout, commit=checkout.head, branch=BRANCH)
    first = run_pipe(checkout, env, step_variables(airtable))
    assert_clean_run(first, airtable, checkout)
    assert writes(airtable), "the first run wrote nothing"
    airtable.reset_log()

    second = run_pipe(checkout, env, step_variables(airtable))
    assert_clean_run(second, airtable, checkout)
    assert writes(airtable) == []
    assert re.search(r"\b0 written\b", second.log), second.log


def test_shallow_clone_whose_origin_the_pipe_cannot_reach(run_pipe, git_repo_builder, airtable):
    """Depth 50, origin = Bitbucket's http URL behind the build container's proxy: the pipe warns,
    uses the commits it has and does not hang. FEAT-108 is only named beyond the 50-commit window."""
    origin = git_repo_builder("origin")
    origin.commits(2)
    origin.branch(BRANCH)
    origin.commit("feat: bulk import groundwork (FEAT-108)")
    origin.fast_import(60, "chore: step {}".format)
    origin.commit("docs: explain the API rate limits")
    repo = origin.pipelines_branch_checkout(git_repo_builder.path("build"), BRANCH, depth=50)
    assert repo.is_shallow() and repo.count() == 50
    checkout = pipelines_setup(repo, origin, origin_reachable=False)

    env = pipelines_variables(checkout, commit=checkout.head, branch=BRANCH)
    run = run_pipe(checkout, env, step_variables(airtable))

    assert_clean_run(run, airtable, checkout)
    assert run.seconds < 90
    assert "WARNING" in run.log and "fetch" in run.log, run.log
    assert fields(airtable, "recWorkItem000107")["Status"] == "In Progress"
    assert fields(airtable, "recWorkItem000108")["Status"] == "Planned", "a commit outside the clone was used"


# -- a pull-request pipeline: review stage -------------------------------------------------------------


def test_pull_request_uses_the_source_commit_not_the_synthetic_merge(run_pipe, git_repo_builder, airtable):
    """HEAD is a merge of main into the source branch; main's own commits (FEAT-106) are not the PR's."""
    origin = git_repo_builder("origin")
    origin.commits(2)
    origin.branch(BRANCH)
    origin.commit("docs: explain the API rate limits")
    origin.commit("feat: bulk import groundwork (FEAT-108)")
    source = origin.head()
    origin.checkout("main")
    origin.commit("fix: build image cache (FEAT-106)")
    repo = origin.pipelines_pr_checkout(git_repo_builder.path("build"), BRANCH, "main")
    assert repo.head() != source and repo.rev_parse("HEAD^1") == source  # the synthetic merge
    checkout = pipelines_setup(repo, origin, origin_reachable=False)
    env = pipelines_variables(checkout, commit=source, branch=BRANCH, pr_id=7, pr_destination="main")
    before_106 = fields(airtable, "recWorkItem000106")

    run = run_pipe(checkout, env, step_variables(airtable))

    assert_clean_run(run, airtable, checkout)
    assert "Stage: review" in run.log
    for record_id in ("recWorkItem000107", "recWorkItem000108"):
        after = fields(airtable, record_id)
        assert after["Status"] == "In Review", (record_id, after, run.log)
        assert after["Pull Request"].endswith("://bitbucket.org/acme/product/pull-requests/7")
        assert after["Last Commit"] == source
    assert fields(airtable, "recWorkItem000106") == before_106
    expect_https_links(fields(airtable, "recWorkItem000107"))


# -- a tag build: merge stage ------------------------------------------------------------------------


def release_history(git_repo_builder):
    """main: FEAT-106 before v1.0.0; then a merged PR of BRANCH (107) and a FEAT-108 commit."""
    origin = git_repo_builder("origin")
    origin.commits(2)
    origin.commit("fix: build image cache (FEAT-106)")
    origin.tag("v1.0.0", annotated=True)
    origin.branch(BRANCH)
    origin.commit("docs: explain the API rate limits")
    origin.checkout("main")
    origin.merge(BRANCH, message=bitbucket_merge_message(BRANCH, 5))
    origin.commit("feat: bulk import (FEAT-108)")
    return origin


@pytest.mark.parametrize("origin_reachable", [True, False], ids=["origin-reachable", "origin-unreachable"])
def test_tag_build_on_a_detached_head_marks_the_release_merged(run_pipe, git_repo_builder, airtable, origin_reachable):
    origin = release_history(git_repo_builder)
    tagged = origin.tag("v1.1.0", annotated=True)
    repo = origin.pipelines_tag_checkout(git_repo_builder.path("build"), "v1.1.0")
    assert repo.current_branch() is None  # detached HEAD
    checkout = pipelines_setup(repo, origin, origin_reachable=origin_reachable)
    env = pipelines_variables(checkout, commit=tagged, tag="v1.1.0")
    assert "BITBUCKET_BRANCH" not in env

    run = run_pipe(checkout, env, step_variables(airtable))

    assert_clean_run(run, airtable, checkout)
    assert "Stage: merge" in run.log
    for record_id in ("recWorkItem000107", "recWorkItem000108"):
        after = fields(airtable, record_id)
        assert after["Status"] == "Merged", (record_id, after, run.log)
        assert after.get("Merged At"), after
    assert fields(airtable, "recWorkItem000106")["Status"] == "In Progress", "a commit of v1.0.0 was used"


# -- a deployment step: deploy stage ------------------------------------------------------------------


def test_deployment_step_moves_merged_records_on(run_pipe, git_repo_builder, airtable):
    origin = git_repo_builder("origin")
    origin.commits(2)
    origin.tag("v1.0.0", annotated=True)
    origin.commit("feat: audit log export (FEAT-104)")
    repo = origin.pipelines_branch_checkout(git_repo_builder.path("build"), "main")
    checkout = pipelines_setup(repo, origin)
    env = pipelines_variables(checkout, commit=checkout.head, branch="main", deployment="staging")

    run = run_pipe(checkout, env, step_variables(airtable))

    assert_clean_run(run, airtable, checkout)
    assert "Stage: deploy" in run.log
    assert fields(airtable, "recWorkItem000104")["Status"] == "On Staging", run.log


# -- dry run, and a repository with a pipe/ folder of its own -----------------------------------------


def test_dry_run_without_a_token_writes_nothing_and_ignores_a_pipe_folder_in_the_repo(
    run_pipe, git_repo_builder, airtable
):
    origin = git_repo_builder("origin")
    origin.commits(2)
    origin.branch(BRANCH)
    origin.commit(
        "chore: a package named like ours (FEAT-108)",
        files={"pipe/__init__.py": "", "pipe/__main__.py": "print('SHADOWED')\nraise SystemExit(99)\n"},
    )
    repo = origin.pipelines_branch_checkout(git_repo_builder.path("build"), BRANCH)
    checkout = pipelines_setup(repo, origin)
    variables = step_variables(airtable, DRY_RUN="true")
    del variables["AIRTABLE_TOKEN"]

    run = run_pipe(checkout, pipelines_variables(checkout, commit=checkout.head, branch=BRANCH), variables)

    assert_clean_run(run, airtable, checkout)
    assert "SHADOWED" not in run.log
    assert "Dry run" in run.log
    assert airtable.requests == [], "a dry run without a token must not call Airtable"
    assert fields(airtable, "recWorkItem000108")["Status"] == "Planned"


# -- shared storage ----------------------------------------------------------------------------------


def test_report_is_shared_with_later_steps(run_pipe, git_repo_builder, airtable):
    checkout = feature_branch_checkout(git_repo_builder)
    run = run_pipe(
        checkout, pipelines_variables(checkout, commit=checkout.head, branch=BRANCH), step_variables(airtable)
    )
    assert_clean_run(run, airtable, checkout)
    written = [p for p in checkout.shared_storage.rglob("*") if p.is_file()]
    assert written, f"nothing in BITBUCKET_PIPE_SHARED_STORAGE_DIR; log:\n{run.log}"
    for path in written:
        assert path.stat().st_mode & 0o004, f"{path.name} is not readable by later steps"
        assert airtable.token not in path.read_text(errors="replace")
