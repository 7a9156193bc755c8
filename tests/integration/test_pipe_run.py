"""The build and review stages end to end: `pipe.flow.run` in-process, on real git clones shaped like
the ones Pipelines makes, against the Airtable emulator over HTTP.

Every test asserts on what Airtable ends up holding (the emulator's records), on the requests the
pipe sent (the emulator's request log), on the exit code, on the log the step shows and on the JSON
report. The sample seed's work items: FEAT-101/102 Released, 103 On Staging, 104 Merged, 105 In
Review, 106 In Progress, 107 Ready, 108 Planned (recWorkItem000101 ... recWorkItem000108).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from pipe.flow import run
from testkit.emulators.airtable import AirtableEmulator, Fault, LoggedRequest
from testkit.emulators.airtable.fixtures import (
    SAMPLE_BASE_ID,
    SAMPLE_READONLY_TOKEN,
    SAMPLE_READWRITE_TOKEN,
    SAMPLE_WORK_ITEMS_TABLE_ID,
)
from testkit.gitrepos import GitRepoBuilder, GitRepoFactory

TABLE = "Work Items"
REPO_LINK = "https://bitbucket.org/example-ws/product"
PIPELINE_UUID = "{3f1c2a9e-0d4b-4c8e-9a57-5b2d7e1f6a10}"
BUILD_NUMBER = "58"
LINKS = ("Last Commit", "Commit URL", "Build URL", "Last Run")
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})


@dataclass
class PipeRun:
    """One run of the pipe: its exit code, its log, its report and the requests it sent."""

    code: int
    log: str
    report: dict[str, Any] | None
    requests: list[LoggedRequest]

    @property
    def writes(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r.method in WRITE_METHODS and not r.path.endswith("/listRecords")]

    @property
    def reads(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r not in self.writes and "/meta/" not in r.path]

    @property
    def meta(self) -> list[LoggedRequest]:
        return [r for r in self.requests if "/meta/" in r.path]

    def record(self, reference: str) -> dict[str, Any]:
        assert self.report is not None, "no report was written"
        found = [r for r in self.report["records"] if r["reference"] == reference]
        assert len(found) == 1, f"{reference}: {found}"
        return found[0]

    def patched(self) -> dict[str, dict[str, Any]]:
        """Record ID -> fields, over every PATCH body of the run."""
        sent: dict[str, dict[str, Any]] = {}
        for request in self.writes:
            assert request.method == "PATCH", request
            for record in request.body["records"]:
                sent.setdefault(record["id"], {}).update(record["fields"])
        return sent


class Pipeline:
    """Runs the pipe the way a Pipelines step does: the step's variables plus the pipe's."""

    def __init__(self, emulator: AirtableEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
        self.emulator = emulator
        self.storage = tmp_path / "pipe-storage"
        self.capsys = capsys

    @property
    def report_path(self) -> Path:
        return self.storage / "airtable-coda-sync-report.json"

    def env(self, *, branch: str | None, commit: str, token: str | None = SAMPLE_READWRITE_TOKEN, **extra: str):
        env = {
            "BITBUCKET_COMMIT": commit,
            "BITBUCKET_BUILD_NUMBER": BUILD_NUMBER,
            "BITBUCKET_PIPELINE_UUID": PIPELINE_UUID,
            "BITBUCKET_REPO_FULL_NAME": "example-ws/product",
            "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/example-ws/product",
            "BITBUCKET_PIPE_STORAGE_DIR": str(self.storage),
            "KEY_PATTERN": r"FEAT-\d+",
            "KEY_FIELD": "Key",
            "DRY_RUN": "false",
            "DEBUG": "false",
        }
        if branch is not None:
            env["BITBUCKET_BRANCH"] = branch
        if token is not None:
            env.update(
                AIRTABLE_TOKEN=token,
                AIRTABLE_BASE_ID=SAMPLE_BASE_ID,
                AIRTABLE_TABLE=TABLE,
                AIRTABLE_API_URL=self.emulator.url,
            )
        env.update(extra)
        return env

    def run(self, env: Mapping[str, str], cwd: Path) -> PipeRun:
        self.emulator.reset_log()
        self.capsys.readouterr()
        code = run(dict(env), cwd)
        captured = self.capsys.readouterr()
        report_path = Path(env["REPORT_FILE"]) if env.get("REPORT_FILE") else self.report_path
        report = json.loads(report_path.read_text()) if report_path.exists() else None
        return PipeRun(code, captured.out + captured.err, report, self.emulator.requests)


@pytest.fixture
def pipeline(airtable_emulator: AirtableEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Pipeline:
    return Pipeline(airtable_emulator, tmp_path, capsys)


def fields_of(emulator: AirtableEmulator, record_id: str) -> dict[str, Any]:
    record = emulator.record(SAMPLE_BASE_ID, TABLE, record_id)
    assert record is not None, record_id
    return record["fields"]


def all_fields(emulator: AirtableEmulator) -> dict[str, dict[str, Any]]:
    return {r["id"]: r["fields"] for r in emulator.records(SAMPLE_BASE_ID, TABLE)}


def feature_origin(
    git_repo_builder: GitRepoFactory, branch: str, *messages: str, files: Mapping[str, str] | None = None
) -> GitRepoBuilder:
    """origin: main with one commit (plus `files`), and `branch` off it with one commit per message."""
    origin = git_repo_builder("origin")
    origin.commit("chore: start", files)
    origin.branch(branch)
    for message in messages:
        origin.commit(message)
    origin.checkout("main")
    return origin


def branch_build(
    git_repo_builder: GitRepoFactory, branch: str, *messages: str, depth: int = 50, **options: Any
) -> tuple[GitRepoBuilder, GitRepoBuilder]:
    origin = feature_origin(git_repo_builder, branch, *messages, **options)
    return origin, origin.pipelines_branch_checkout(git_repo_builder.path("build"), branch, depth=depth)


def links(sha: str) -> dict[str, str]:
    return {
        "Last Commit": sha,
        "Commit URL": f"{REPO_LINK}/commits/{sha}",
        "Build URL": f"{REPO_LINK}/pipelines/results/{BUILD_NUMBER}",
        "Last Run": PIPELINE_UUID,
    }


# -- build stage ------------------------------------------------------------------------------


def test_build_moves_a_ready_record_to_in_progress_and_writes_the_links(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-rate-limit-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: explain the rate limits")
    head = origin.rev_parse(branch)
    before = all_fields(pipeline.emulator)

    result = pipeline.run(pipeline.env(branch=branch, commit=head), clone.path)

    assert result.code == 0, result.log
    after = all_fields(pipeline.emulator)
    assert after["recWorkItem000107"] == {
        **before["recWorkItem000107"],
        "Status": "In Progress",
        "Branch": branch,
        **links(head),
    }
    assert {rid: f for rid, f in after.items() if rid != "recWorkItem000107"} == {
        rid: f for rid, f in before.items() if rid != "recWorkItem000107"
    }
    # one schema request, one read by key, one PATCH of exactly the changed fields, typecast off, then the
    # status read back (a concurrent run may have moved it back: docs/concurrency.md)
    assert [(r.method, r.status) for r in result.requests] == [("GET", 200), ("GET", 200), ("PATCH", 200), ("GET", 200)]
    assert result.meta[0].path == f"/v0/meta/bases/{SAMPLE_BASE_ID}/tables"
    assert result.reads[0].param("filterByFormula") == "{Key}='FEAT-107'"
    body = result.writes[0].body
    assert body["records"] == [
        {"id": "recWorkItem000107", "fields": {"Status": "In Progress", "Branch": branch, **links(head)}}
    ]
    assert body["typecast"] is False
    assert "Stage: build (push to branch feature/FEAT-107-rate-limit-docs)" in result.log
    assert "FEAT-107 (recWorkItem000107) 'API rate limit docs': status Ready -> In Progress; set " in result.log
    assert "Done: 1 record, 1 written, 0 unchanged, 0 skipped, 0 failed." in result.log

    report = result.report
    assert report["outcome"] == "ok" and report["stage"] == "build" and report["dry_run"] is False
    assert report["commit_range"]["head"] == head and report["commit_range"]["commits"] == [head]
    assert report["references"] == [{"kind": "key", "value": "FEAT-107", "source": "branch", "commit": None}]
    record = result.record("FEAT-107")
    assert record["record_id"] == "recWorkItem000107" and record["written"] is True
    assert record["status_before"] == "Ready" and record["status_after"] == "In Progress"
    assert record["fields"]["Status"] == {"before": "Ready", "after": "In Progress"}
    assert record["fields"]["Branch"] == {"before": None, "after": branch}
    assert record["url"] == f"https://airtable.com/{SAMPLE_BASE_ID}/{SAMPLE_WORK_ITEMS_TABLE_ID}/recWorkItem000107"
    assert report["summary"] == {"records": 1, "written": 1, "unchanged": 0, "skipped": 0, "failed": 0}
    journal = pipeline.report_path.with_name("airtable-coda-sync-report.journal.jsonl").read_text().splitlines()
    assert {json.loads(line)["field"] for line in journal} == {"Status", "Branch", *LINKS}


def test_record_id_in_a_commit_message_and_key_in_the_branch_name(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-import-docs"
    origin, clone = branch_build(
        git_repo_builder,
        branch,
        "feat: bulk import\n\nCloses https://airtable.com/appSampleProduct1/tblWorkItems00001/recWorkItem000108",
        "docs: describe the import",
    )
    head = origin.rev_parse(branch)
    mentioning = origin.rev_parse(f"{branch}~1")

    result = pipeline.run(pipeline.env(branch=branch, commit=head), clone.path)

    assert result.code == 0, result.log
    key_record = fields_of(pipeline.emulator, "recWorkItem000107")
    id_record = fields_of(pipeline.emulator, "recWorkItem000108")
    assert key_record["Status"] == id_record["Status"] == "In Progress"
    assert key_record["Last Commit"] == head  # named by the branch: the commit under test
    assert id_record["Last Commit"] == mentioning  # named by a commit: that commit
    assert id_record["Commit URL"] == f"{REPO_LINK}/commits/{mentioning}"
    assert id_record["Branch"] == key_record["Branch"] == branch
    # read by ID and by key, then both written in one batch
    formulas = sorted(r.param("filterByFormula") for r in result.reads[:2])
    assert formulas == ["RECORD_ID()='recWorkItem000108'", "{Key}='FEAT-107'"]
    # after the write, both statuses read back in one request
    assert result.reads[2].param("filterByFormula") == (
        "OR(RECORD_ID()='recWorkItem000107', RECORD_ID()='recWorkItem000108')"
    )
    assert len(result.writes) == 1 and set(result.patched()) == {"recWorkItem000107", "recWorkItem000108"}
    assert "References: 2 records (FEAT-107, recWorkItem000108)" in result.log
    assert "recWorkItem000108 'Bulk import': status Planned -> In Progress" in result.log
    assert result.report["references"] == [
        {"kind": "key", "value": "FEAT-107", "source": "branch", "commit": None},
        {"kind": "record_id", "value": "recWorkItem000108", "source": "commit", "commit": mentioning},
    ]
    assert result.record("recWorkItem000108")["status_before"] == "Planned"
    assert result.report["summary"]["written"] == 2


def test_re_running_the_same_pipeline_writes_nothing(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits for recWorkItem000108")
    env = pipeline.env(branch=branch, commit=origin.rev_parse(branch))
    first = pipeline.run(env, clone.path)
    assert first.code == 0 and len(first.writes) == 1, first.log
    stored = all_fields(pipeline.emulator)
    journal = pipeline.report_path.with_name("airtable-coda-sync-report.journal.jsonl")
    journal_lines = journal.read_text()

    again = pipeline.run(env, clone.path)

    assert again.code == 0, again.log
    assert [r.method for r in again.requests] == ["GET", "GET", "GET"]  # schema and two reads, no PATCH
    assert again.writes == []
    assert all_fields(pipeline.emulator) == stored
    assert "status In Progress; up to date, nothing to write" in again.log
    assert "Done: 2 records, 0 written, 2 unchanged, 0 skipped, 0 failed." in again.log
    assert again.report["summary"] == {"records": 2, "written": 0, "unchanged": 2, "skipped": 0, "failed": 0}
    assert all(r["fields"] == {} and r["written"] is False for r in again.report["records"])
    assert journal.read_text() == journal_lines  # nothing journaled: nothing written


def test_statuses_never_move_back_but_links_are_written(pipeline, git_repo_builder):
    branch = "feature/FEAT-104-audit-followup"
    origin, clone = branch_build(git_repo_builder, branch, "fix: audit export encoding\n\nSee also FEAT-105")
    head = origin.rev_parse(branch)

    result = pipeline.run(pipeline.env(branch=branch, commit=head), clone.path)

    assert result.code == 0, result.log
    merged = fields_of(pipeline.emulator, "recWorkItem000104")
    in_review = fields_of(pipeline.emulator, "recWorkItem000105")
    assert merged["Status"] == "Merged" and in_review["Status"] == "In Review"
    assert {k: merged[k] for k in LINKS} == links(head) and merged["Branch"] == branch
    assert merged["Merged At"] == "2026-01-14T13:05:00.000Z"  # the merge stage's field is not touched
    patched = result.patched()
    assert set(patched) == {"recWorkItem000104", "recWorkItem000105"}
    assert all("Status" not in fields for fields in patched.values())
    assert "FEAT-104 (recWorkItem000104) 'Audit log export': status Merged; set " in result.log
    record = result.record("FEAT-104")
    assert record["status_before"] == record["status_after"] == "Merged" and "Status" not in record["fields"]
    assert record["written"] is True


def test_a_status_people_own_is_left_alone(pipeline, git_repo_builder):
    pipeline.emulator.add_records(
        SAMPLE_BASE_ID,
        TABLE,
        [
            {"id": "recBlockedItem001", "fields": {"Name": "Waiting on legal", "Key": "FEAT-120", "Status": "Blocked"}},
            {"id": "recWontDoItem0001", "fields": {"Name": "Fax export", "Key": "FEAT-121", "Status": "Won't Do"}},
        ],
    )
    branch = "feature/FEAT-120-terms"
    origin, clone = branch_build(git_repo_builder, branch, "feat: terms page, drops FEAT-121")
    head = origin.rev_parse(branch)

    result = pipeline.run(pipeline.env(branch=branch, commit=head), clone.path)

    assert result.code == 0, result.log
    assert fields_of(pipeline.emulator, "recBlockedItem001")["Status"] == "Blocked"
    assert fields_of(pipeline.emulator, "recWontDoItem0001")["Status"] == "Won't Do"
    assert fields_of(pipeline.emulator, "recBlockedItem001")["Last Commit"] == head
    assert all("Status" not in fields for fields in result.patched().values())
    assert "FEAT-120 (recBlockedItem001) 'Waiting on legal': status Blocked; set " in result.log
    assert result.record("FEAT-121")["status_after"] == "Won't Do"
    assert "Status" not in result.record("FEAT-120")["fields"]


def test_a_missing_record_is_reported_and_skipped_while_the_others_sync(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(
        git_repo_builder, branch, "docs: link recMissingItem001", "docs: and FEAT-999, which nobody made"
    )

    result = pipeline.run(pipeline.env(branch=branch, commit=origin.rev_parse(branch)), clone.path)

    assert result.code == 0, result.log
    assert fields_of(pipeline.emulator, "recWorkItem000107")["Status"] == "In Progress"
    assert pipeline.emulator.record(SAMPLE_BASE_ID, TABLE, "recMissingItem001") is None
    assert set(result.patched()) == {"recWorkItem000107"}
    assert "- recMissingItem001: skipped, no such record in the table" in result.log
    assert "- FEAT-999: skipped, no record has this key" in result.log
    assert "Done: 3 records, 1 written, 0 unchanged, 2 skipped, 0 failed." in result.log
    assert result.record("recMissingItem001")["skipped"] == "no such record in the table"
    assert result.record("FEAT-999")["record_id"] is None and result.record("FEAT-999")["written"] is False
    assert result.report["outcome"] == "ok"


# -- configuration and permissions -------------------------------------------------------------

BAD_MAPPING = {".airtable-coda-sync.yml": "airtable:\n  fields:\n    branch: Git Branch\n"}


def test_an_unknown_mapped_field_stops_the_run_before_any_write(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits", files=BAD_MAPPING)
    before = all_fields(pipeline.emulator)

    result = pipeline.run(pipeline.env(branch=branch, commit=origin.rev_parse(branch)), clone.path)

    assert result.code == 2, result.log
    assert [(r.method, r.path) for r in result.requests] == [("GET", f"/v0/meta/bases/{SAMPLE_BASE_ID}/tables")]
    assert all_fields(pipeline.emulator) == before
    assert "ERROR: Table 'Work Items' (tblWorkItems00001) has no field 'Git Branch' (branch)" in result.log
    assert result.report is None  # exit 2: stopped before anything was done


def test_without_schema_scope_the_read_finds_the_unknown_field(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits", files=BAD_MAPPING)
    before = all_fields(pipeline.emulator)
    env = pipeline.env(branch=branch, commit=origin.rev_parse(branch), token=SAMPLE_READONLY_TOKEN)

    result = pipeline.run(env, clone.path)

    assert result.code == 2, result.log
    assert [(r.method, r.status) for r in result.requests] == [("GET", 403), ("GET", 422)]
    assert "Git Branch" in result.reads[0].query["fields[]"]
    assert all_fields(pipeline.emulator) == before
    assert "ERROR: Unknown field name: \"Git Branch\" in table 'Work Items' of base appSampleProduct1" in result.log
    assert result.report is None


def test_a_read_only_token_is_refused_at_the_first_write(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits for recWorkItem000108")
    before = all_fields(pipeline.emulator)
    env = pipeline.env(branch=branch, commit=origin.rev_parse(branch), token=SAMPLE_READONLY_TOKEN)

    result = pipeline.run(env, clone.path)

    assert result.code == 2, result.log
    # no schema scope: 403, then the reads work, then the one PATCH is refused (and not retried)
    assert [(r.method, r.status) for r in result.requests] == [("GET", 403), ("GET", 200), ("GET", 200), ("PATCH", 403)]
    assert all_fields(pipeline.emulator) == before
    assert "Airtable refused access to table 'Work Items' of base appSampleProduct1 while updating records" in (
        result.log
    )
    assert "data.records:write" in result.log


# -- dry runs ---------------------------------------------------------------------------------


def test_a_dry_run_without_any_token_finds_the_references_and_sends_nothing(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits for recWorkItem000108")
    env = pipeline.env(branch=branch, commit=origin.rev_parse(branch), token=None, DRY_RUN="true")
    assert not any(name.startswith("AIRTABLE_") for name in env)

    result = pipeline.run(env, clone.path)

    assert result.code == 0, result.log
    assert result.requests == []
    assert "References: 2 records (FEAT-107, recWorkItem000108)" in result.log
    assert "No AIRTABLE_TOKEN" in result.log and "Dry run: nothing is written" in result.log
    assert "- FEAT-107: status (not read) -> In Progress; would set Status='In Progress'" in result.log
    report = result.report
    assert report["dry_run"] is True and report["outcome"] == "planned"
    assert {r["reference"] for r in report["records"]} == {"FEAT-107", "recWorkItem000108"}
    assert all(r["current_values_known"] is False and r["written"] is False for r in report["records"])
    assert result.record("FEAT-107")["fields"]["Branch"] == {"before": None, "after": branch}


def test_a_dry_run_with_a_token_reads_but_writes_nothing(pipeline, git_repo_builder):
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits for recWorkItem000108")
    before = all_fields(pipeline.emulator)

    result = pipeline.run(pipeline.env(branch=branch, commit=origin.rev_parse(branch), DRY_RUN="true"), clone.path)

    assert result.code == 0, result.log
    assert [r.method for r in result.requests] == ["GET", "GET", "GET"] and result.writes == []
    assert all_fields(pipeline.emulator) == before
    assert "FEAT-107 (recWorkItem000107) 'API rate limit docs': status Ready -> In Progress; would set " in result.log
    assert "Dry run: 2 records, 0 written" in result.log
    record = result.record("FEAT-107")
    assert record["current_values_known"] is True and record["written"] is False
    assert record["fields"]["Status"] == {"before": "Ready", "after": "In Progress"}
    assert result.report["outcome"] == "planned" and result.report["dry_run"] is True
    assert not pipeline.report_path.with_name("airtable-coda-sync-report.journal.jsonl").exists()


# -- clones -----------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_shallow_clone_of_a_branch_is_deepened_to_find_every_commit(pipeline, git_repo_builder, depth):
    origin = git_repo_builder("origin")
    origin.commits(4, "chore: main {i}")
    branch = "feature/bulk-import"
    origin.branch(branch)
    origin.commit("feat: import for recWorkItem000108")
    origin.commit("feat: importer docs FEAT-107")
    origin.commits(3, "chore: tidy {i}")
    origin.checkout("main")
    origin.commit("chore: main moved on")
    clone = origin.pipelines_branch_checkout(git_repo_builder.path("build"), branch, depth=depth)
    assert clone.is_shallow() and clone.count() == depth

    result = pipeline.run(pipeline.env(branch=branch, commit=origin.rev_parse(branch)), clone.path)

    assert result.code == 0, result.log
    assert fields_of(pipeline.emulator, "recWorkItem000107")["Status"] == "In Progress"
    assert fields_of(pipeline.emulator, "recWorkItem000108")["Status"] == "In Progress"
    commit_range = result.report["commit_range"]
    assert len(commit_range["commits"]) == 5 and commit_range["base"] == origin.rev_parse("main~1")
    assert commit_range["fetched"] and commit_range["warnings"] == []
    assert "Fetched git fetch" in result.log


def test_a_detached_head_without_a_branch_uses_the_commits(pipeline, git_repo_builder):
    branch = "feature/FEAT-106-image"
    origin, clone = branch_build(git_repo_builder, branch, "chore: new image for recWorkItem000108")
    head = origin.rev_parse(branch)
    clone.detach(head)
    assert clone.current_branch() is None

    result = pipeline.run(pipeline.env(branch=None, commit=head), clone.path)

    assert result.code == 0, result.log
    assert "no branch, tag, pull request or deployment found" in result.log
    assert set(result.patched()) == {"recWorkItem000108"}  # FEAT-106 is only in the branch name
    written = fields_of(pipeline.emulator, "recWorkItem000108")
    assert written["Status"] == "In Progress" and written["Last Commit"] == head
    assert "Branch" not in written  # there is no branch to link
    assert result.report["stage"] == "build" and result.report["commit_range"]["commits"] == [head]


# -- review stage -----------------------------------------------------------------------------


def test_review_of_a_pull_request_checkout_sets_in_review_and_the_pr_link(pipeline, git_repo_builder):
    source = "feature/FEAT-106-build-image"
    origin = feature_origin(git_repo_builder, source, "chore: new build image", "chore: cache layers")
    origin.commit("feat: bulk import FEAT-108")  # on main after the branch forked
    clone = origin.pipelines_pr_checkout(git_repo_builder.path("pr"), source, "main")
    source_sha = origin.rev_parse(source)
    synthetic = clone.head()
    assert synthetic != source_sha and clone.git("rev-parse", "HEAD^1") == source_sha
    env = pipeline.env(branch=source, commit=source_sha, BITBUCKET_PR_ID="17", BITBUCKET_PR_DESTINATION_BRANCH="main")

    result = pipeline.run(env, clone.path)

    assert result.code == 0, result.log
    written = fields_of(pipeline.emulator, "recWorkItem000106")
    assert written["Status"] == "In Review"
    assert written["Pull Request"] == f"{REPO_LINK}/pull-requests/17"
    assert {k: written[k] for k in LINKS} == links(source_sha)  # never the synthetic merge commit
    assert fields_of(pipeline.emulator, "recWorkItem000108")["Status"] == "Planned"  # main's commit, not the PR's
    assert set(result.patched()) == {"recWorkItem000106"}
    assert "Stage: review (pull request #17)" in result.log
    assert "status In Progress -> In Review" in result.log
    commit_range = result.report["commit_range"]
    assert commit_range["head"] == source_sha and synthetic not in commit_range["commits"]
    assert len(commit_range["commits"]) == 2
    assert result.record("FEAT-106")["fields"]["Pull Request"]["after"] == f"{REPO_LINK}/pull-requests/17"


# -- failures, secrets, rate limits -----------------------------------------------------------


@pytest.mark.parametrize(("fail_on_error", "exit_code"), [("true", 1), ("false", 0)])
def test_a_record_airtable_refuses_is_reported_and_the_others_written(
    pipeline, git_repo_builder, fail_on_error, exit_code
):
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits for FEAT-108")  # one read, five requests
    refusal = {"error": {"type": "INVALID_VALUE_FOR_COLUMN", "message": 'Field "Branch" cannot accept the value'}}
    # the batch of both records and then FEAT-107 alone are refused; FEAT-108 alone goes through
    fault = pipeline.emulator.inject(Fault(status=422, body=refusal, times=2, method="PATCH"))
    env = pipeline.env(branch=branch, commit=origin.rev_parse(branch), FAIL_ON_ERROR=fail_on_error)

    result = pipeline.run(env, clone.path)

    assert result.code == exit_code, result.log
    assert fault.fired == 2
    assert [(r.method, r.status) for r in result.writes] == [("PATCH", 422), ("PATCH", 422), ("PATCH", 200)]
    assert fields_of(pipeline.emulator, "recWorkItem000107")["Status"] == "Ready"
    assert fields_of(pipeline.emulator, "recWorkItem000108")["Status"] == "In Progress"
    assert "writing them one by one" in result.log
    assert "FEAT-107 (recWorkItem000107) 'API rate limit docs': status Ready -> In Progress; FAILED: " in result.log
    assert "Failed: 2 records, 1 written, 0 unchanged, 0 skipped, 1 failed." in result.log
    assert ("FAIL_ON_ERROR is false" in result.log) is (fail_on_error == "false")
    assert result.report["outcome"] == "failed"
    assert "INVALID_VALUE_FOR_COLUMN" in result.record("FEAT-107")["error"]
    assert result.record("FEAT-107")["written"] is False and result.record("FEAT-108")["written"] is True


def test_with_debug_the_token_never_appears_in_the_log_or_the_report(pipeline, git_repo_builder, tmp_path):
    token = pipeline.emulator.add_token(
        "fake-airtable-token-debugrun-3c9a7f",
        scopes=["data.records:read", "data.records:write", "schema.bases:read"],
        bases=[SAMPLE_BASE_ID],
    )
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits for recWorkItem000108")
    report_file = tmp_path / "out" / "report.json"
    env = pipeline.env(
        branch=branch, commit=origin.rev_parse(branch), token=token, DEBUG="true", REPORT_FILE=str(report_file)
    )

    result = pipeline.run(env, clone.path)

    assert result.code == 0, result.log
    assert all(r.headers["authorization"] == f"Bearer {token}" for r in result.requests)  # it was used
    assert "DEBUG: " in result.log and f'"PATCH /v0/{SAMPLE_BASE_ID}/Work%20Items' in result.log
    journal = report_file.with_name("report.journal.jsonl")
    for text in (result.log, report_file.read_text(), journal.read_text()):
        assert token not in text
        assert "debugrun-3c9a7f" not in text
    assert result.report["summary"]["written"] == 2


def test_a_429_is_waited_out_and_the_run_completes(airtable_emulator_factory, tmp_path, capsys, git_repo_builder):
    emulator = airtable_emulator_factory(rate_limit_per_base=5, penalty_seconds=0.2)
    pipeline = Pipeline(emulator, tmp_path, capsys)
    branch = "feature/FEAT-107-docs"
    origin, clone = branch_build(git_repo_builder, branch, "docs: limits")
    env = pipeline.env(branch=branch, commit=origin.rev_parse(branch), AIRTABLE_RATE_LIMIT_WAIT="0.3")
    # Another client has just used up the base's five requests of this second.
    headers = {"Authorization": f"Bearer {SAMPLE_READWRITE_TOKEN}"}
    for _ in range(5):
        url = f"{emulator.url}/v0/{SAMPLE_BASE_ID}/{TABLE}?maxRecords=1"
        assert requests.get(url, headers=headers, timeout=5).status_code == 200

    result = pipeline.run(env, clone.path)

    assert result.code == 0, result.log
    statuses = [r.status for r in result.requests]
    assert statuses[0] == 429 and 200 in statuses
    assert statuses.count(429) <= 4  # one second of lockouts, retried every 0.3 s
    assert [r.method for r in result.requests if r.status == 200][-2:] == ["PATCH", "GET"]  # written, read back
    assert fields_of(emulator, "recWorkItem000107")["Status"] == "In Progress"
    # AIRTABLE_RATE_LIMIT_WAIT and then a random part of a spread as long as the wait, doubling with each lockout
    # up to three times it (runs locked out together do not come back together: docs/many-pipelines.md)
    waits = [float(w) for w in re.findall(r"answered 429; retrying in ([0-9.]+)s", result.log)]
    assert waits and 0.3 <= waits[0] <= 0.6 and all(0.3 <= w <= 1.2 for w in waits), waits
    assert result.report["http"]["airtable"]["429"] == statuses.count(429)
    assert result.report["outcome"] == "ok"
