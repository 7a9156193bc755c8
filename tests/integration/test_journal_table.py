"""The change journal in Airtable (AIRTABLE_JOURNAL_TABLE), end to end: `pipe.flow.run` on a real repository
against the Airtable emulator appends every write of the run there, after the run's writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipe.flow import run
from pipe.sinks.journal_cells import from_cell
from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.journal_table import JOURNAL_TABLE, add_journal_table, journal_entries

WRITES = ("PATCH", "POST", "PUT", "DELETE")


@pytest.fixture
def repo(git_repo_builder):
    """A feature branch naming FEAT-108 (Planned), FEAT-107 (Ready) and recWorkItem000106 (In Progress)."""
    r = git_repo_builder("product")
    r.commit("chore: start", {"app.txt": "0"})
    r.branch("feature/FEAT-108-bulk-import")
    r.commit("feat: bulk import FEAT-108", {"import.txt": "1"})
    r.commit("docs: rate limits FEAT-107, build image recWorkItem000106", {"docs.txt": "1"})
    return r


def build_env(emulator, repo, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": emulator.url,
        "AIRTABLE_JOURNAL_TABLE": JOURNAL_TABLE,
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "BITBUCKET_BRANCH": "feature/FEAT-108-bulk-import",
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "BITBUCKET_BUILD_NUMBER": "12",
        "REPORT_FILE": str(tmp_path / "report.json"),
    }
    env.update(extra)
    return env


def writes(emulator, table: str | None = None) -> list[str]:
    found = [f"{r.method} {r.path}" for r in emulator.requests if r.method in WRITES and "listRecords" not in r.path]
    return [w for w in found if table is None or table.replace(" ", "%20") in w]


def file_journal(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "report.journal.jsonl").read_text().splitlines()]


def work_items(emulator) -> dict[str, dict]:
    return {r["id"]: r["fields"] for r in emulator.records(SAMPLE_BASE_ID, "Work Items")}


def test_every_write_of_the_run_is_appended_to_the_journal_table(airtable_emulator, repo, tmp_path, capsys):
    add_journal_table(airtable_emulator)
    assert run(build_env(airtable_emulator, repo, tmp_path), repo.path) == 0

    expected = file_journal(tmp_path)
    entries = journal_entries(airtable_emulator)
    assert len(entries) == len(expected) > 10  # more than one request's worth
    for entry, line in zip(entries, expected, strict=True):
        assert entry["Run"] == "build #12" and entry["Stage"] == "build"
        assert (entry["Service"], entry["Table"], entry["Record"], entry["Field"]) == (
            line["service"],
            line["table"],
            line["record"],
            line["field"],
        )
        assert from_cell(entry.get("Before")) == (line["before"], False)
        assert from_cell(entry.get("After")) == (line["after"], False)
        assert entry["Change"] == "updated" and "Unconfirmed" not in entry
        assert entry["Pipeline"] == "https://bitbucket.org/acme/product/pipelines/results/12"
        assert entry["Entry"].startswith("build #12 #0")
    status = next(e for e in entries if e["Record"] == "recWorkItem000108" and e["Field"] == "Status")
    assert (status["Before"], status["After"]) == ("Planned", "In Progress")  # plain text, readable in Airtable
    # appended after the run's writes, 10 entries per request
    journal_writes = writes(airtable_emulator, JOURNAL_TABLE)
    assert len(journal_writes) == -(-len(expected) // 10)
    assert writes(airtable_emulator)[-len(journal_writes) :] == journal_writes
    out = capsys.readouterr().out
    assert f"Airtable change journal: written ({len(expected)} entries appended to '{JOURNAL_TABLE}')" in out


def test_a_rerun_that_writes_nothing_appends_nothing(airtable_emulator, repo, tmp_path):
    add_journal_table(airtable_emulator)
    env = build_env(airtable_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    count = len(journal_entries(airtable_emulator))
    airtable_emulator.reset_log()
    assert run(env, repo.path) == 0
    assert writes(airtable_emulator) == []
    assert len(journal_entries(airtable_emulator)) == count


def test_a_journal_table_without_a_mapped_field_stops_the_run_with_nothing_written(
    airtable_emulator, repo, tmp_path, capsys
):
    add_journal_table(airtable_emulator, renamed={"Before": "Old Value"})
    before = work_items(airtable_emulator)
    airtable_emulator.reset_log()
    assert run(build_env(airtable_emulator, repo, tmp_path), repo.path) == 2
    assert writes(airtable_emulator) == []
    assert work_items(airtable_emulator) == before
    out = capsys.readouterr().out
    assert f"Table '{JOURNAL_TABLE}' (tblChangeJournal1) has no field 'Before' (before)" in out
    assert "airtable.journal section. Nothing was written." in out
    assert "airtable.journal.before: there is no field 'Before'" in out


def test_a_missing_journal_table_stops_the_run_with_nothing_written(airtable_emulator, repo, tmp_path, capsys):
    airtable_emulator.reset_log()
    assert run(build_env(airtable_emulator, repo, tmp_path, AIRTABLE_JOURNAL_TABLE="Change Jurnal"), repo.path) == 2
    assert writes(airtable_emulator) == []
    out = capsys.readouterr().out
    assert "AIRTABLE_JOURNAL_TABLE: there is no table 'Change Jurnal' in base appSampleProduct1" in out


def test_a_stage_option_missing_from_a_single_select_stops_the_run(airtable_emulator, repo, tmp_path, capsys):
    add_journal_table(airtable_emulator)
    airtable_emulator.reset_log()
    env = build_env(airtable_emulator, repo, tmp_path)
    airtable_emulator.add_table(SAMPLE_BASE_ID, {"name": "Audit", "fields": _fields_with_stages(["merge", "deploy"])})
    assert run({**env, "AIRTABLE_JOURNAL_TABLE": "Audit"}, repo.path) == 2
    assert writes(airtable_emulator) == []
    assert "airtable.journal.stage: 'Stage' has no option 'build'" in capsys.readouterr().out


def _fields_with_stages(stages: list[str]) -> list[dict]:
    from testkit.journal_table import JOURNAL_TABLE_SPEC

    fields = [{k: v for k, v in f.items() if k != "id"} for f in JOURNAL_TABLE_SPEC["fields"]]
    for f in fields:
        if f["name"] == "Stage":
            f["options"] = {"choices": stages}
    return fields


def test_a_journal_table_that_refuses_the_entries_is_reported_and_the_sync_is_done(
    airtable_emulator, repo, tmp_path, capsys
):
    add_journal_table(airtable_emulator)
    airtable_emulator.inject(Fault(status=422, method="PATCH", path=JOURNAL_TABLE, times=None))
    assert run(build_env(airtable_emulator, repo, tmp_path), repo.path) == 0  # never blocks the sync
    assert work_items(airtable_emulator)["recWorkItem000108"]["Status"] == "In Progress"
    assert journal_entries(airtable_emulator) == []
    out = capsys.readouterr().out
    assert "WARNING: The change journal in Airtable is incomplete: 0 of" in out
    assert "The journal file beside the report holds every write; the run itself is not affected." in out
    assert "Airtable change journal: skipped (0 of" in out
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["outcome"] == "ok"
    target = next(t for t in report["targets"] if t["target"] == "Airtable change journal")
    assert target["status"] == "skipped" and target["changes"]["not_appended"] == len(file_journal(tmp_path))


def test_a_dry_run_checks_the_table_and_appends_nothing(airtable_emulator, repo, tmp_path, capsys):
    add_journal_table(airtable_emulator)
    airtable_emulator.reset_log()
    assert run(build_env(airtable_emulator, repo, tmp_path, DRY_RUN="true"), repo.path) == 0
    assert writes(airtable_emulator) == []
    out = capsys.readouterr().out
    assert f"Airtable change journal: planned (would append every write of the run to '{JOURNAL_TABLE}')" in out
