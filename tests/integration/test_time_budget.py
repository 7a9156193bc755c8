"""TIME_BUDGET: when the budget runs out the pipe stops sending, reports what is left, exits 1, and a
re-run finishes the job."""

from __future__ import annotations

import json

from pipe.flow import run
from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN


def test_budget_running_out_during_retries_stops_cleanly_and_a_rerun_finishes(
    airtable_emulator, git_repo_builder, tmp_path, capsys
):
    repo = git_repo_builder("product")
    repo.commit("chore: base", {"a": "1"})
    repo.branch("feature/FEAT-107-docs")
    repo.commit("docs: limits FEAT-107 and FEAT-108", {"b": "1"})
    env = {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": airtable_emulator.url,
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "BITBUCKET_BRANCH": "feature/FEAT-107-docs",
        "REPORT_FILE": str(tmp_path / "report.json"),
        "TIME_BUDGET": "1.5",
    }
    airtable_emulator.inject(Fault(status=503, method="PATCH", times=None))
    assert run(env, repo.path) == 1
    out = capsys.readouterr().out
    assert "The time budget ran out: 0 records written, 2 left" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["outcome"] == "failed"
    assert {r["error"] for r in report["records"]} == {
        "not written: the time budget (TIME_BUDGET) ran out; a re-run finishes the job"
    }
    statuses = {
        r["fields"]["Key"]: r["fields"]["Status"] for r in airtable_emulator.records(SAMPLE_BASE_ID, "Work Items")
    }
    assert (statuses["FEAT-107"], statuses["FEAT-108"]) == ("Ready", "Planned")

    airtable_emulator.clear_faults()
    assert run(env, repo.path) == 0
    statuses = {
        r["fields"]["Key"]: r["fields"]["Status"] for r in airtable_emulator.records(SAMPLE_BASE_ID, "Work Items")
    }
    assert (statuses["FEAT-107"], statuses["FEAT-108"]) == ("In Progress", "In Progress")
