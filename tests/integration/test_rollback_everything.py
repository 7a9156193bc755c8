"""Rolling back everything a merge run wrote, end to end through `pipe.flow.run`: the merge publishes to Airtable
(work items, release record), the CHANGELOG, the Coda table and the Coda page against the emulators; then
`STAGE: rollback` restores the work items, deletes the Coda rows the run created, removes the page section it
appended and takes its CHANGELOG section out of the clone, leaving alone (and reporting) what a person changed."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path

import pytest
import requests

import pipe.recovery.coda_page
import pipe.recovery.coda_rows
import pipe.sinks.coda_page
import pipe.sinks.coda_rows
from pipe.clients.coda import MutationPolling
from pipe.flow import run
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED
from testkit.gitrepos import bitbucket_merge_message
from testkit.journal_table import JOURNAL_TABLE, add_journal_table

CODA_TOKEN = "fake-coda-token-for-rollback-tests"
WRITES = ("PATCH", "POST", "PUT", "DELETE")
CHANGELOG = "# Changelog\n\n## 1.4.0 (2026-01-01)\n\n### Features\n\n* login page\n"
# The sample Changelog table with one more column, which the pipe does not write (people fill it in).
SEED = json.loads(CODA_SEED.read_text())
SEED["docs"][0]["tables"][0]["columns"].append({"name": "Reviewer", "type": "text"})

pytestmark = pytest.mark.coda_emulator(seed=SEED, mutation_delay=0.02, rate_limits=None)


@pytest.fixture(autouse=True)
def fast_polling(monkeypatch):
    """The emulator applies writes within 20 ms: poll at once instead of after Coda's usual seconds."""
    polling = functools.partial(MutationPolling, first_delay=0.0, interval=0.01, max_interval=0.05, timeout=5.0)
    for module in (pipe.sinks.coda_rows, pipe.sinks.coda_page, pipe.recovery.coda_rows, pipe.recovery.coda_page):
        monkeypatch.setattr(module, "MutationPolling", polling)


@pytest.fixture
def repo(git_repo_builder):
    """main: 1.4.0 tagged with a CHANGELOG, then a merged PR for FEAT-105 and a fix naming FEAT-106 by ID."""
    r = git_repo_builder("product")
    r.commit("feat: login page FEAT-101", {"app.txt": "1", "CHANGELOG.md": CHANGELOG})
    r.tag("1.4.0")
    r.branch("feature/FEAT-105-dark-mode")
    r.commit("feat(ui): dark mode", {"ui.txt": "dark"})
    r.checkout("main")
    r.merge("feature/FEAT-105-dark-mode", bitbucket_merge_message("feature/FEAT-105-dark-mode", 7))
    r.commit("fix: build image upgrade (recWorkItem000106)", {"ci.txt": "2"})
    return r


def merge_env(airtable, coda, repo, tmp_path: Path, **extra: str) -> dict[str, str]:
    coda.add_token(CODA_TOKEN)
    env = {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": airtable.url,
        "AIRTABLE_RELEASES_TABLE": "Releases",
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "CHANGELOG_FILE": "CHANGELOG.md",
        "CODA_API_TOKEN": CODA_TOKEN,
        "CODA_DOC_ID": SAMPLE_DOC_ID,
        "CODA_TABLE": "Changelog",
        "CODA_PAGE": "Release Notes",
        "CODA_API_URL": coda.url,
        "BITBUCKET_BRANCH": "main",
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "BITBUCKET_BUILD_NUMBER": "12",
        "REPORT_FILE": str(tmp_path / "report.json"),
    }
    env.update(extra)
    return env


def rollback_env(env: dict[str, str], tmp_path: Path, report: str = "rollback.json", **extra: str) -> dict[str, str]:
    """The rollback step: the journal names the tables, the step names the base and the doc."""
    step = {k: v for k, v in env.items() if k not in ("AIRTABLE_TABLE", "CODA_TABLE", "CODA_PAGE", "CHANGELOG_FILE")}
    step.update(
        STAGE="rollback",
        JOURNAL_FILE=str(tmp_path / "report.journal.jsonl"),
        REPORT_FILE=str(tmp_path / report),
        BITBUCKET_BUILD_NUMBER="13",
    )
    step.update(extra)
    return step


def state(airtable, coda, repo) -> dict:
    changelog = repo.path / "CHANGELOG.md"
    return {
        "work items": {r["id"]: r["fields"] for r in airtable.records(SAMPLE_BASE_ID, "Work Items")},
        "coda rows": sorted(json.dumps(r, sort_keys=True) for r in coda.rows(SAMPLE_DOC_ID, "Changelog")),
        "page": coda.page_text(SAMPLE_DOC_ID, "Release Notes"),
        "changelog": changelog.read_text() if changelog.exists() else None,
    }


def coda_writes(coda, since: int = 0) -> list[str]:
    return [f"{r.method} {r.path}" for r in coda.requests[since:] if r.method in WRITES]


def release_rows(coda, release: str = "1.5.0") -> list[dict]:
    return [r for r in coda.rows(SAMPLE_DOC_ID, "Changelog") if r["Release"] == release]


def coda_api(coda, method: str, path: str, body: dict) -> None:
    """What a person does in Coda (through the API, as the emulator has no UI)."""
    url = f"{coda.url}/docs/{SAMPLE_DOC_ID}{path}"
    answer = requests.request(method, url, json=body, headers={"Authorization": f"Bearer {CODA_TOKEN}"}, timeout=5)
    assert answer.status_code == 202, answer.text
    coda.flush()


def edit_row(coda, row: dict, **cells: str) -> None:
    table = coda.table_id(SAMPLE_DOC_ID, "Changelog")
    row_id = next(
        rid
        for rid, r in zip(coda.row_ids(SAMPLE_DOC_ID, "Changelog"), coda.rows(SAMPLE_DOC_ID, "Changelog"), strict=True)
        if r["Entry Key"] == row["Entry Key"] and r["Release"] == row["Release"]
    )
    edit = {"row": {"cells": [{"column": name, "value": value} for name, value in cells.items()]}}
    coda_api(coda, "PUT", f"/tables/{table}/rows/{row_id}", edit)


def test_a_rollback_puts_back_everything_the_merge_wrote(airtable_emulator, coda_emulator, repo, tmp_path, capsys):
    before = state(airtable_emulator, coda_emulator, repo)
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    merged = state(airtable_emulator, coda_emulator, repo)
    assert len(release_rows(coda_emulator)) == 2 and merged["page"].count("release 1.5.0") == 1
    assert "## [1.5.0]" in merged["changelog"] and merged["work items"] != before["work items"]
    capsys.readouterr()

    assert run(rollback_env(env, tmp_path), repo.path) == 0
    assert state(airtable_emulator, coda_emulator, repo) == before
    out = capsys.readouterr().out
    deleted = [line for line in out.splitlines() if "coda: Changelog" in line]
    assert len(deleted) == 2 and all(
        "deleted" in line and "created by the run, unchanged since" in line for line in deleted
    )
    page = next(line for line in out.splitlines() if "coda: page Release Notes" in line)
    assert "restored" in page and "the section of release 1.5.0 (" in page and "-> removed" in page
    assert "the section of 1.5.0 -> removed" in out
    assert "commit and push the change to keep it (the pipe never pushes)" in out
    assert "Rollback: 14 fields restored, 2 rows deleted, 0 changed since and left alone" in out
    assert CODA_TOKEN not in out and SAMPLE_READWRITE_TOKEN not in out

    report = json.loads((tmp_path / "rollback.json").read_text())
    assert report["outcome"] == "ok"
    assert report["summary"]["records_deleted"] == 2 and report["summary"]["records_not_supported"] == 0
    assert report["http"]["coda"]["requests"] > 0
    undo = [json.loads(line) for line in (tmp_path / "rollback.journal.jsonl").read_text().splitlines()]
    assert {(e["service"], e["table"]) for e in undo} >= {
        ("coda", "Changelog"),
        ("coda", "page Release Notes"),
        ("file", "CHANGELOG.md"),
        ("airtable", "Work Items"),
    }
    section = next(e for e in undo if e["service"] == "file")
    assert section["before"].startswith("## [1.5.0]") and section["after"] is None


def test_rolling_back_twice_writes_nothing_the_second_time(airtable_emulator, coda_emulator, repo, tmp_path, capsys):
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    assert run(rollback_env(env, tmp_path), repo.path) == 0
    rolled_back = state(airtable_emulator, coda_emulator, repo)
    since = len(coda_emulator.requests)
    airtable_emulator.reset_log()
    capsys.readouterr()
    assert run(rollback_env(env, tmp_path, report="again.json"), repo.path) == 0
    assert coda_writes(coda_emulator, since) == []
    assert [r for r in airtable_emulator.requests if r.method == "PATCH"] == []
    assert state(airtable_emulator, coda_emulator, repo) == rolled_back
    out = capsys.readouterr().out
    assert "release 1.5.0 is not on the page" in out and "1.5.0 is not in the file" in out


def test_what_a_person_changed_since_is_left_alone_and_reported(
    airtable_emulator, coda_emulator, repo, tmp_path, capsys
):
    before = state(airtable_emulator, coda_emulator, repo)
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    dark, fix = sorted(release_rows(coda_emulator), key=lambda r: r["Description"])[::-1]
    edit_row(coda_emulator, dark, Description="Dark mode, reviewed")  # a cell the run wrote
    edit_row(coda_emulator, fix, Reviewer="Ada")  # a column the run does not write
    page = coda_emulator.page_content(SAMPLE_DOC_ID, "Release Notes")
    bullet = next(line for line in page if "dark mode" in line["content"].lower())
    person = {"insertionMode": "append", "elementId": bullet["id"], "canvasContent": {"format": "markdown"}}
    person["canvasContent"]["content"] = "Tested on staging by Ada"
    coda_api(coda_emulator, "PUT", f"/pages/{coda_emulator.pages(SAMPLE_DOC_ID)[0]['id']}", {"contentUpdate": person})
    changelog = repo.path / "CHANGELOG.md"
    changelog.write_text(changelog.read_text().replace("dark mode", "dark mode (beta)"))
    edited = state(airtable_emulator, coda_emulator, repo)
    capsys.readouterr()

    assert run(rollback_env(env, tmp_path), repo.path) == 0
    now = state(airtable_emulator, coda_emulator, repo)
    assert now["work items"] == before["work items"]  # Airtable: nobody changed them
    assert (now["coda rows"], now["page"], now["changelog"]) == (
        edited["coda rows"],
        edited["page"],
        edited["changelog"],
    )
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if "coda: Changelog" in line]
    assert len(rows) == 2 and all("created by the run" in line and "left in place" in line for line in rows)
    assert any("'Description' changed" in line for line in rows) and any(
        "'Reviewer' filled in" in line for line in rows
    )
    page_line = next(line for line in out.splitlines() if "coda: page Release Notes" in line)
    assert "skipped" in page_line and "holds a line the run did not write ('Tested on staging by Ada')" in page_line
    file_line = next(line for line in out.splitlines() if "file: CHANGELOG.md" in line)
    assert "skipped" in file_line and "the section of 1.5.0 was edited since the run; left alone" in file_line
    assert "3 records created by the run and left in place" in out  # the two rows and the release record


def test_a_row_the_run_updated_gets_its_cells_back(airtable_emulator, coda_emulator, repo, tmp_path, capsys):
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    row = next(r for r in release_rows(coda_emulator) if r["Description"] == "dark mode")
    edit_row(coda_emulator, row, Description="Dark mode (edited in Coda)", Reviewer="Ada")
    edited = state(airtable_emulator, coda_emulator, repo)
    second = {**env, "BITBUCKET_BUILD_NUMBER": "14", "REPORT_FILE": str(tmp_path / "second.json")}
    assert run(second, repo.path) == 0  # the run writes the description back from the commits
    assert next(r for r in release_rows(coda_emulator) if r["Entry Key"] == row["Entry Key"])["Description"] == (
        "dark mode"
    )
    capsys.readouterr()

    journal = tmp_path / "second.journal.jsonl"
    assert run(rollback_env(env, tmp_path, JOURNAL_FILE=str(journal)), repo.path) == 0
    assert state(airtable_emulator, coda_emulator, repo)["coda rows"] == edited["coda rows"]
    line = next(x for x in capsys.readouterr().out.splitlines() if "coda: Changelog" in x and "Description" in x)
    assert "restored" in line and "'dark mode' -> 'Dark mode (edited in Coda)'" in line


def test_a_dry_run_of_the_rollback_writes_nothing(airtable_emulator, coda_emulator, repo, tmp_path, capsys):
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    merged = state(airtable_emulator, coda_emulator, repo)
    since = len(coda_emulator.requests)
    airtable_emulator.reset_log()
    capsys.readouterr()
    assert run(rollback_env(env, tmp_path, DRY_RUN="true"), repo.path) == 0
    assert (
        coda_writes(coda_emulator, since) == [] and [r for r in airtable_emulator.requests if r.method == "PATCH"] == []
    )
    assert state(airtable_emulator, coda_emulator, repo) == merged
    out = capsys.readouterr().out
    assert out.count("would delete") == 2 and "would restore" in out
    assert "Rollback: 14 fields to restore, 2 rows to delete" in out


def test_the_rollback_needs_the_coda_doc_the_journal_does_not_name(
    airtable_emulator, coda_emulator, repo, tmp_path, capsys
):
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    merged = state(airtable_emulator, coda_emulator, repo)
    step = {k: v for k, v in rollback_env(env, tmp_path).items() if not k.startswith("CODA_")}
    capsys.readouterr()
    assert run(step, repo.path) == 2
    assert state(airtable_emulator, coda_emulator, repo) == merged
    assert "CODA_API_TOKEN: is required to roll back the run's Coda writes" in capsys.readouterr().out


def test_a_run_is_rolled_back_from_the_change_journal_in_airtable(
    airtable_emulator, coda_emulator, repo, tmp_path, capsys
):
    add_journal_table(airtable_emulator)
    before = state(airtable_emulator, coda_emulator, repo)
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path, AIRTABLE_JOURNAL_TABLE=JOURNAL_TABLE)
    assert run(env, repo.path) == 0
    (tmp_path / "report.journal.jsonl").unlink()  # no artifact: the journal in Airtable is all there is
    step = rollback_env(env, tmp_path, JOURNAL_RUN="build #12")
    del step["JOURNAL_FILE"]
    capsys.readouterr()

    assert run(step, repo.path) == 0
    assert state(airtable_emulator, coda_emulator, repo) == before
    out = capsys.readouterr().out
    assert f"Rollback of AIRTABLE_JOURNAL_TABLE '{JOURNAL_TABLE}', run 'build #12':" in out
    assert "Rollback: 14 fields restored, 2 rows deleted" in out
    # The rollback's own writes are journaled there too, as stage rollback of its run.
    rollback_entries = [
        r["fields"]
        for r in airtable_emulator.records(SAMPLE_BASE_ID, JOURNAL_TABLE)
        if r["fields"]["Run"] == "build #13"
    ]
    assert rollback_entries and {e["Stage"] for e in rollback_entries} == {"rollback"}
    assert "The restores are appended to the change journal in Airtable" in out


def test_journal_run_naming_no_run_lists_the_runs_there(airtable_emulator, coda_emulator, repo, tmp_path, capsys):
    add_journal_table(airtable_emulator)
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path, AIRTABLE_JOURNAL_TABLE=JOURNAL_TABLE)
    assert run(env, repo.path) == 0
    merged = state(airtable_emulator, coda_emulator, repo)
    step = rollback_env(env, tmp_path, JOURNAL_RUN="build #21")
    del step["JOURNAL_FILE"]
    capsys.readouterr()
    assert run(step, repo.path) == 2
    assert state(airtable_emulator, coda_emulator, repo) == merged
    out = capsys.readouterr().out
    assert (
        f"JOURNAL_RUN: got 'build #21'; the table '{JOURNAL_TABLE}' (AIRTABLE_JOURNAL_TABLE) holds no entry of that "
        "run. Runs journaled most recently: 'build #12'."
    ) in out
    assert "Nothing was written." in out


def test_a_journal_cut_to_fit_airtable_leaves_that_record_alone(airtable_emulator, coda_emulator, repo, tmp_path):
    """A value over a cell's 100,000 characters is cut in the journal table: that record is not rolled back."""
    add_journal_table(airtable_emulator)
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path, AIRTABLE_JOURNAL_TABLE=JOURNAL_TABLE)
    assert run(env, repo.path) == 0
    table = airtable_emulator.records(SAMPLE_BASE_ID, JOURNAL_TABLE)
    page = next(r for r in table if r["fields"]["Table"] == "page Release Notes")
    cut = copy.deepcopy(page["fields"])
    cut["After"] += "\n… [cut by airtable-coda-sync: 100042 characters in all; the journal file holds the whole value]"
    api = f"{airtable_emulator.url}/v0/{SAMPLE_BASE_ID}/{JOURNAL_TABLE}"
    requests.patch(
        api,
        json={"records": [{"id": page["id"], "fields": {"After": cut["After"]}}]},
        headers={"Authorization": f"Bearer {SAMPLE_READWRITE_TOKEN}"},
        timeout=5,
    ).raise_for_status()
    step = rollback_env(env, tmp_path, JOURNAL_RUN="build #12")
    del step["JOURNAL_FILE"]
    assert run(step, repo.path) == 0
    assert coda_emulator.page_text(SAMPLE_DOC_ID, "Release Notes").count("release 1.5.0") == 1  # left alone
    assert release_rows(coda_emulator) == []  # the rest is rolled back
    report = json.loads((tmp_path / "rollback.json").read_text())
    record = next(r for r in report["records"] if r["table"] == "page Release Notes")
    assert record["action"] == "not_supported" and "roll it back from the run's journal file" in record["reason"]


def test_a_rollback_step_in_the_same_pipeline_can_run_twice_from_the_journal_table(
    airtable_emulator, coda_emulator, repo, tmp_path, capsys
):
    """The sync and the rollback steps of one pipeline share its run ID: the journal table then holds both under
    it, and a second rollback of that run finds everything as before and writes nothing."""
    add_journal_table(airtable_emulator)
    before = state(airtable_emulator, coda_emulator, repo)
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path, AIRTABLE_JOURNAL_TABLE=JOURNAL_TABLE)
    assert run(env, repo.path) == 0
    step = rollback_env(env, tmp_path, JOURNAL_RUN="build #12", BITBUCKET_BUILD_NUMBER="12")
    del step["JOURNAL_FILE"]
    assert run(step, repo.path) == 0
    assert state(airtable_emulator, coda_emulator, repo) == before
    since = len(coda_emulator.requests)
    airtable_emulator.reset_log()
    capsys.readouterr()

    assert run({**step, "REPORT_FILE": str(tmp_path / "again.json")}, repo.path) == 0
    assert coda_writes(coda_emulator, since) == []
    assert [r for r in airtable_emulator.requests if r.method == "PATCH"] == []
    assert state(airtable_emulator, coda_emulator, repo) == before
    assert "Rollback: 0 fields restored, 0 changed since and left alone" in capsys.readouterr().out


def test_rolling_the_rollback_back_redoes_the_fields_and_the_changelog(
    airtable_emulator, coda_emulator, repo, tmp_path, capsys
):
    env = merge_env(airtable_emulator, coda_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    merged = state(airtable_emulator, coda_emulator, repo)
    assert run(rollback_env(env, tmp_path), repo.path) == 0
    capsys.readouterr()
    redo = rollback_env(env, tmp_path, report="redo.json", JOURNAL_FILE=str(tmp_path / "rollback.journal.jsonl"))
    assert run(redo, repo.path) == 0
    now = state(airtable_emulator, coda_emulator, repo)
    assert now["work items"] == merged["work items"] and now["changelog"] == merged["changelog"]
    assert release_rows(coda_emulator) == [] and "release 1.5.0" not in now["page"]  # the sync step brings them back
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if "coda: Changelog" in line and "not found" in line]
    assert "release 1.5.0 is not on the page (a rollback removed it)" in out
