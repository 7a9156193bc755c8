"""What the tests of `STAGE: start` share: the Airtable sample base with a `Branch URL` field, a "Ready for Dev"
view and a few more records; a repository mirrored into the Bitbucket emulator; runs of the pipe as a custom
pipeline (`custom: start-work`) of acme/product starts it.

Sample work items: FEAT-107 'API rate limit docs' Ready, FEAT-108 'Bulk import' Planned, FEAT-106 In Progress
on feature/FEAT-106-build-image; added here: recWorkItem000112 'Search 🔎 über alles' Ready. `add_empty_title` and
`add_copy_of_107` add the records of the bad cases: recWorkItem000110 Ready with an empty title, and
recWorkItem000111 Ready, a copy of FEAT-107 whose Branch field still names FEAT-107's branch.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipe.flow import run
from testkit.bitbucket_repo import mirror
from testkit.emulators.airtable import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN, SAMPLE_SEED_PATH
from testkit.emulators.bitbucket import BitbucketEmulator, LoggedRequest
from testkit.gitrepos import GitRepoBuilder, GitRepoFactory

WS, SLUG = "acme", "product"
TABLE = "Work Items"
VIEW = "Ready for Dev"
REC_107, REC_108, REC_106 = "recWorkItem000107", "recWorkItem000108", "recWorkItem000106"
REC_EMPTY, REC_COPY, REC_UNICODE = "recWorkItem000110", "recWorkItem000111", "recWorkItem000112"
BRANCH_107 = f"feature/{REC_107}-api-rate-limit-docs"
REPO_URL = f"https://bitbucket.org/{WS}/{SLUG}"
PIPELINE = "start-work"  # `pipelines: custom: start-work:` in bitbucket-pipelines.yml
CONFIG = "airtable:\n  fields:\n    branch_url: Branch URL\n"


def airtable_seed() -> dict[str, Any]:
    data = json.loads(SAMPLE_SEED_PATH.read_text())
    table = next(t for t in data["bases"][0]["tables"] if t["name"] == TABLE)
    table["fields"].append({"name": "Branch URL", "type": "url"})
    table["views"] = [
        {"name": "Grid view"},
        {"name": VIEW, "filterByFormula": "{Status} = 'Ready'"},
        {"name": "Archived", "filterByFormula": "{Status} = 'Archived'"},
    ]
    table["records"].append(
        {"id": REC_UNICODE, "fields": {"Name": "Search 🔎 über alles", "Key": "FEAT-112", "Status": "Ready"}}
    )
    return data


def add_empty_title(airtable: AirtableEmulator) -> None:
    airtable.add_records(SAMPLE_BASE_ID, TABLE, [{"id": REC_EMPTY, "fields": {"Key": "FEAT-110", "Status": "Ready"}}])


def add_copy_of_107(airtable: AirtableEmulator) -> None:
    fields = {"Name": "API rate limit docs", "Key": "FEAT-111", "Status": "Ready", "Branch": BRANCH_107}
    airtable.add_records(SAMPLE_BASE_ID, TABLE, [{"id": REC_COPY, "fields": fields}])


@dataclass
class Run:
    code: int
    log: str
    bitbucket: list[LoggedRequest]
    airtable: list[Any]
    report: dict[str, Any] | None

    def bitbucket_calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.operation or "") for r in self.bitbucket]

    def airtable_calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.path) for r in self.airtable]

    @property
    def writes(self) -> list[str]:
        """Writes a service accepted; Airtable updates that name no field (the write-access probe) change nothing."""
        found = [f"Bitbucket {r.method} {r.path}" for r in self.bitbucket if r.method != "GET" and _ok(r.status)]
        for r in self.airtable:
            records = (r.body or {}).get("records") if isinstance(r.body, dict) else None
            probe = bool(records) and all(not rec.get("fields") for rec in records)
            if r.method in ("PATCH", "POST", "PUT", "DELETE") and _ok(r.status) and not probe:
                found.append(f"Airtable {r.method} {r.path}")
        return found


def _ok(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


class StartWork:
    """Runs the pipe in a clone of `origin` as `custom: start-work` of acme/product (or as a build) would."""

    def __init__(
        self,
        airtable: AirtableEmulator,
        bitbucket: BitbucketEmulator,
        git: GitRepoFactory,
        capsys: pytest.CaptureFixture[str],
        tmp: Path,
    ):
        self.airtable, self.bitbucket, self.git, self.capsys, self.tmp = airtable, bitbucket, git, capsys, tmp
        self.origin = git("origin")
        self.origin.commit("feat: login page FEAT-101", {"app.txt": "1"})
        self.origin.tag("1.4.0")
        mirror(bitbucket, self.origin, WS, SLUG, custom_pipelines=(PIPELINE,))
        self.token = bitbucket.add_token(WS, SLUG, scopes=["repository:write"], name="Start bot")
        self.runs = 0

    def clone(self, branch: str = "main") -> GitRepoBuilder:
        self.runs += 1
        clone = self.origin.pipelines_branch_checkout(self.git.path(f"clone-{self.runs}"), branch)
        (clone.path / ".airtable-coda-sync.yml").write_text(CONFIG)
        return clone

    def env(self, commit: str, **extra: str) -> dict[str, str]:
        env = {
            "CI": "true",
            "BITBUCKET_BUILD_NUMBER": "70",
            "BITBUCKET_COMMIT": commit,
            "BITBUCKET_WORKSPACE": WS,
            "BITBUCKET_REPO_SLUG": SLUG,
            "BITBUCKET_REPO_FULL_NAME": f"{WS}/{SLUG}",
            "BITBUCKET_GIT_HTTP_ORIGIN": f"http://bitbucket.org/{WS}/{SLUG}",
            "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
            "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
            "AIRTABLE_TABLE": TABLE,
            "AIRTABLE_API_URL": self.airtable.url,
            "BITBUCKET_API_URL": self.bitbucket.url,
            "BITBUCKET_API_PROXY": "",
            "CODE_INSIGHTS": "false",
            "REPORT_FILE": str(self.tmp / f"report-{self.runs}.json"),
        }
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}

    def start_env(self, **extra: str) -> dict[str, str]:
        """The custom pipeline `start-work` on main, with its RECORD_ID (or START_VIEW)."""
        values = {"STAGE": "start", "BITBUCKET_BRANCH": "main", "BITBUCKET_ACCESS_TOKEN": self.token, **extra}
        return self.env(self.origin.rev_parse("main"), **values)

    def run(self, env: Mapping[str, str], cwd: Path | None = None) -> Run:
        cwd = cwd or self.clone().path
        self.bitbucket.clear_requests()
        self.airtable.reset_log()
        self.capsys.readouterr()
        code = run(dict(env), cwd)
        captured = self.capsys.readouterr()
        report_path = Path(env["REPORT_FILE"]) if env.get("REPORT_FILE") else None
        report = json.loads(report_path.read_text()) if report_path and report_path.is_file() else None
        return Run(code, captured.out + captured.err, self.bitbucket.requests, self.airtable.requests, report)

    def fields(self, record_id: str) -> dict[str, Any]:
        record = self.airtable.record(SAMPLE_BASE_ID, TABLE, record_id)
        assert record is not None
        return record["fields"]

    def branches(self) -> dict[str, str]:
        return self.bitbucket.branches(WS, SLUG)
