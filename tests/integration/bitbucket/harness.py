"""What the Bitbucket tests share: a repository mirrored into the Bitbucket emulator, the Airtable sample base
with the two optional fields (`PR State`, `Sync Error`) and a record people own, and runs of the pipe the way
Pipelines starts it (CI=true, the build's variables), with the report sent through the emulated auth proxy.

Sample work items: FEAT-105 In Review, 106 In Progress, 107 Ready, 108 Planned, 109 Blocked (people own it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipe.flow import run
from pipe.insights.report import REPORT_ID
from testkit.bitbucket_repo import mirror
from testkit.emulators.airtable import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN, SAMPLE_SEED_PATH
from testkit.emulators.bitbucket import BitbucketEmulator, LoggedRequest, Report
from testkit.gitrepos import GitRepoBuilder, GitRepoFactory

WS, SLUG = "acme", "product"
TABLE = "Work Items"
BRANCH = "feature/FEAT-107-rate-limit-docs"
LOOK_ALIKE = "recAbcdefghij12345"  # rec + 15 characters
CONFIG = "airtable:\n  fields:\n    pull_request_state: PR State\n    sync_error: Sync Error\n"
TABLE_URL = f"https://airtable.com/{SAMPLE_BASE_ID}/tblWorkItems00001"
WRITES = frozenset({"POST", "PUT", "DELETE"})


def airtable_seed() -> dict[str, Any]:
    data = json.loads(SAMPLE_SEED_PATH.read_text())
    table = next(t for t in data["bases"][0]["tables"] if t["name"] == TABLE)
    table["fields"] += [{"name": "PR State", "type": "singleLineText"}, {"name": "Sync Error", "type": "multilineText"}]
    table["records"].append(
        {"id": "recWorkItem000109", "fields": {"Name": "Legacy exporter", "Key": "FEAT-109", "Status": "Blocked"}}
    )
    return data


def origin_repo(git: GitRepoFactory, *messages: str, branch: str = BRANCH) -> GitRepoBuilder:
    """main with release 1.4.0 tagged, and `branch` off it with one commit per message (checked out: main)."""
    origin = git("origin")
    origin.commit("feat: login page FEAT-101", {"app.txt": "1"})
    origin.tag("1.4.0")
    origin.branch(branch)
    for index, message in enumerate(messages):
        origin.commit(message, {f"change-{index}.txt": message})
    origin.checkout("main")
    return origin


@dataclass
class Run:
    code: int
    log: str
    requests: list[LoggedRequest]  # what the Bitbucket emulator received during the run

    @property
    def writes(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r.method in WRITES]

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.operation or "") for r in self.requests]


class Pipelines:
    """Runs the pipe in a clone of `origin`, as a Pipelines step of repository acme/product would."""

    def __init__(
        self,
        airtable: AirtableEmulator,
        bitbucket: BitbucketEmulator,
        git: GitRepoFactory,
        capsys: pytest.CaptureFixture[str],
    ):
        self.airtable, self.bitbucket, self.git, self.capsys = airtable, bitbucket, git, capsys
        self.token = ""  # a repository access token with the `pullrequest` scope, once the repository is mirrored

    def clone(self, origin: GitRepoBuilder, branch: str, name: str = "build") -> GitRepoBuilder:
        mirror(self.bitbucket, origin, WS, SLUG)
        if not self.token:
            self.token = self.bitbucket.add_token(WS, SLUG, scopes=["pullrequest"], name="Release bot")
        clone = origin.pipelines_branch_checkout(self.git.path(name), branch)
        (clone.path / ".airtable-coda-sync.yml").write_text(CONFIG)
        return clone

    def env(self, commit: str, *, branch: str | None = BRANCH, build: int = 58, **extra: str) -> dict[str, str]:
        env = {
            "CI": "true",
            "BITBUCKET_BUILD_NUMBER": str(build),
            "BITBUCKET_COMMIT": commit,
            "BITBUCKET_WORKSPACE": WS,
            "BITBUCKET_REPO_SLUG": SLUG,
            "BITBUCKET_REPO_FULL_NAME": f"{WS}/{SLUG}",
            "BITBUCKET_GIT_HTTP_ORIGIN": f"http://bitbucket.org/{WS}/{SLUG}",
            "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
            "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
            "AIRTABLE_TABLE": TABLE,
            "AIRTABLE_API_URL": self.airtable.url,
            "KEY_PATTERN": r"FEAT-\d+",
            "KEY_FIELD": "Key",
            "BITBUCKET_API_URL": self.bitbucket.url,
            "BITBUCKET_API_PROXY": self.bitbucket.proxy_url,
        }
        if branch:
            env["BITBUCKET_BRANCH"] = branch
        env.update(extra)
        return env

    def review_env(self, commit: str, pr: int = 42, **extra: str) -> dict[str, str]:
        review = {"BITBUCKET_PR_ID": str(pr), "BITBUCKET_PR_DESTINATION_BRANCH": "main"}
        return self.env(commit, **review, BITBUCKET_ACCESS_TOKEN=self.token, **extra)

    def run(self, env: Mapping[str, str], cwd: Path) -> Run:
        self.bitbucket.clear_requests()
        self.capsys.readouterr()
        code = run(dict(env), cwd)
        captured = self.capsys.readouterr()
        return Run(code, captured.out + captured.err, self.bitbucket.requests)

    def report(self, commit: str) -> Report:
        return self.bitbucket.report(WS, SLUG, commit, REPORT_ID)

    def fields(self, record_id: str) -> dict[str, Any]:
        record = self.airtable.record(SAMPLE_BASE_ID, TABLE, record_id)
        assert record is not None
        return record["fields"]
