"""Rolling back a run from its journal, end to end: `pipe.flow.run` writes a journal on a real
repository against the Airtable emulator, then `pipe.recovery.rollback_mode` restores the records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyairtable import Api

from pipe.config import load_settings, variable_names
from pipe.flow import run, run_with
from pipe.log import Redactor, configure_logging
from pipe.recovery import rollback_mode
from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.gitrepos import bitbucket_merge_message

WRITES = ("PATCH", "POST", "PUT", "DELETE")
TABLE = "Work Items"


@pytest.fixture
def repo(git_repo_builder):
    """A feature branch whose commits name FEAT-108 (Planned), FEAT-107 (Ready) and FEAT-106 by record
    ID (already In Progress: the build writes only its empty link fields)."""
    r = git_repo_builder("product")
    r.commit("chore: start", {"app.txt": "0"})
    r.branch("feature/FEAT-108-bulk-import")
    r.commit("feat: bulk import FEAT-108", {"import.txt": "1"})
    r.commit("docs: rate limits FEAT-107, build image recWorkItem000106", {"docs.txt": "1"})
    return r


def run_env(emulator, repo, tmp_path: Path, **extra) -> dict[str, str]:
    env = {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": TABLE,
        "AIRTABLE_API_URL": emulator.url,
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "BITBUCKET_BRANCH": "main",
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "BITBUCKET_BUILD_NUMBER": "12",
        "REPORT_FILE": str(tmp_path / "report.json"),
    }
    env.update(extra)
    return env


def rollback(env: dict[str, str], repo, journal: Path, *, dry_run: bool = False, report: str = "rollback.json"):
    """What the rollback step does: settings from the environment, then run_rollback."""
    env = {**env, "REPORT_FILE": str(Path(env["REPORT_FILE"]).with_name(report)), "BITBUCKET_BUILD_NUMBER": "13"}
    configure_logging(Redactor([env.get("AIRTABLE_TOKEN", "")]), debug=False)
    env = {**env, "STAGE": "rollback", "JOURNAL_FILE": str(journal), "DRY_RUN": "true" if dry_run else "false"}
    settings = load_settings(env, repo.path)
    return run_with(settings, env, repo.path, rollback_mode)


def records(emulator, table=TABLE) -> dict[str, dict]:
    return {r["id"]: r["fields"] for r in emulator.records(SAMPLE_BASE_ID, table)}


def writes(emulator) -> list[str]:
    return [f"{r.method} {r.path}" for r in emulator.requests if r.method in WRITES]


def build(emulator, repo, tmp_path) -> tuple[dict[str, str], Path]:
    env = run_env(emulator, repo, tmp_path, BITBUCKET_BRANCH="feature/FEAT-108-bulk-import")
    assert run(env, repo.path) == 0
    journal = tmp_path / "report.journal.jsonl"
    assert journal.is_file()
    return env, journal


def test_rollback_restores_every_field_the_build_wrote(airtable_emulator, repo, tmp_path, capsys):
    before = records(airtable_emulator)
    env, journal = build(airtable_emulator, repo, tmp_path)
    after_run = records(airtable_emulator)
    assert after_run["recWorkItem000108"]["Status"] == "In Progress"
    assert after_run["recWorkItem000108"]["Last Run"] == "build #12"  # each updated record carries the run id
    assert after_run["recWorkItem000106"]["Last Commit"]  # only empty fields were filled in: still rolled back
    capsys.readouterr()

    assert rollback(env, repo, journal) == 0
    assert records(airtable_emulator) == before
    out = capsys.readouterr().out
    assert "restored" in out and "'In Progress' -> 'Planned'" in out
    assert SAMPLE_READWRITE_TOKEN not in out

    report_text = (tmp_path / "rollback.json").read_text()
    assert SAMPLE_READWRITE_TOKEN not in report_text
    report = json.loads(report_text)
    assert report["stage"] == "rollback" and report["outcome"] == "ok"
    assert report["run_ids"] == ["build #12"]
    assert report["summary"]["fields_changed_since"] == 0
    assert report["summary"]["fields_restored"] == report["summary"]["fields_to_restore"] > 0
    # The restores have a journal of their own, beside the rollback's report.
    undo = tmp_path / "rollback.journal.jsonl"
    assert report["rollback_journal"] == str(undo)
    lines = [json.loads(line) for line in undo.read_text().splitlines()]
    status = next(e for e in lines if e["record"] == "recWorkItem000108" and e["field"] == "Status")
    assert (status["before"], status["after"], status["run_id"]) == ("In Progress", "Planned", "build #13")


def test_a_field_changed_after_the_run_is_skipped_and_reported(airtable_emulator, repo, tmp_path, capsys):
    before = records(airtable_emulator)
    env, journal = build(airtable_emulator, repo, tmp_path)
    table = Api(SAMPLE_READWRITE_TOKEN, endpoint_url=airtable_emulator.url).table(SAMPLE_BASE_ID, TABLE)
    table.update("recWorkItem000108", {"Status": "Blocked"})  # a person, after the run
    capsys.readouterr()

    assert rollback(env, repo, journal) == 0
    now = records(airtable_emulator)
    assert now["recWorkItem000108"]["Status"] == "Blocked"
    assert now["recWorkItem000108"].get("Branch") == before["recWorkItem000108"].get("Branch")  # the rest is restored
    assert now["recWorkItem000108"].get("Last Run") == before["recWorkItem000108"].get("Last Run")
    assert now["recWorkItem000107"] == before["recWorkItem000107"]
    out = capsys.readouterr().out
    skipped = [line for line in out.splitlines() if "recWorkItem000108" in line and "Status" in line]
    assert len(skipped) == 1 and "skipped" in skipped[0] and "'Blocked'" in skipped[0]
    assert "WARNING: 1 field changed after the run and left alone" in out
    report = json.loads((tmp_path / "rollback.json").read_text())
    record = next(r for r in report["records"] if r["record"] == "recWorkItem000108")
    assert record["fields"]["Status"] == {
        "before": "Planned",
        "after": "In Progress",
        "current": "Blocked",
        "action": "changed_since",
        "writes": 1,
    }


def test_rolling_back_twice_writes_nothing_the_second_time(airtable_emulator, repo, tmp_path, capsys):
    env, journal = build(airtable_emulator, repo, tmp_path)
    assert rollback(env, repo, journal) == 0
    restored = records(airtable_emulator)
    airtable_emulator.reset_log()
    capsys.readouterr()
    assert rollback(env, repo, journal, report="again.json") == 0
    assert writes(airtable_emulator) == []
    assert records(airtable_emulator) == restored
    assert "already as before" in capsys.readouterr().out
    assert not (tmp_path / "again.journal.jsonl").exists()  # nothing written, nothing journaled


def test_a_rollback_can_itself_be_rolled_back(airtable_emulator, repo, tmp_path):
    env, journal = build(airtable_emulator, repo, tmp_path)
    after_run = records(airtable_emulator)
    assert rollback(env, repo, journal) == 0
    assert rollback(env, repo, tmp_path / "rollback.journal.jsonl", report="redo.json") == 0
    assert records(airtable_emulator) == after_run


def test_a_malformed_journal_stops_before_anything_is_read_or_written(airtable_emulator, repo, tmp_path, capsys):
    env, journal = build(airtable_emulator, repo, tmp_path)
    after_run = records(airtable_emulator)
    lines = journal.read_text().splitlines()
    lines.insert(1, '{"service": "airtable", "table": "Work Items"')  # cut off half way
    journal.write_text("\n".join(lines) + "\n")
    airtable_emulator.reset_log()
    capsys.readouterr()

    assert rollback(env, repo, journal) == 2
    assert airtable_emulator.requests == []
    assert records(airtable_emulator) == after_run
    out = capsys.readouterr().out
    assert f"{journal} line 2: not valid JSON" in out
    assert "nothing was rolled back" in out


def test_a_missing_journal_is_bad_input(airtable_emulator, repo, tmp_path, capsys):
    env = run_env(airtable_emulator, repo, tmp_path)
    assert rollback(env, repo, tmp_path / "nope.journal.jsonl") == 2
    assert "JOURNAL_FILE: no such file" in capsys.readouterr().out


def test_dry_run_prints_the_plan_and_writes_nothing(airtable_emulator, repo, tmp_path, capsys):
    env, journal = build(airtable_emulator, repo, tmp_path)
    after_run = records(airtable_emulator)
    airtable_emulator.reset_log()
    capsys.readouterr()

    assert rollback(env, repo, journal, dry_run=True) == 0
    assert writes(airtable_emulator) == []
    assert records(airtable_emulator) == after_run
    out = capsys.readouterr().out
    assert "Dry run: nothing is written" in out
    row = next(line for line in out.splitlines() if "recWorkItem000108" in line and "Status" in line)
    assert "would restore" in row and "'In Progress' -> 'Planned'" in row
    assert SAMPLE_READWRITE_TOKEN not in out
    assert not (tmp_path / "rollback.journal.jsonl").exists()
    report = json.loads((tmp_path / "rollback.json").read_text())
    assert report["outcome"] == "planned" and report["rollback_journal"] is None


def test_dry_run_without_a_token_shows_what_would_be_restored(airtable_emulator, repo, tmp_path, capsys):
    env, journal = build(airtable_emulator, repo, tmp_path)
    airtable_emulator.reset_log()
    capsys.readouterr()
    no_token = {k: v for k, v in env.items() if not k.startswith("AIRTABLE_")} | {"DRY_RUN": "true"}
    assert rollback(no_token, repo, journal, dry_run=True) == 0
    assert airtable_emulator.requests == []
    out = capsys.readouterr().out
    assert "if it still holds 'In Progress' (not read)" in out


def test_a_journal_of_several_runs_goes_back_to_before_the_first(airtable_emulator, repo, tmp_path):
    before = records(airtable_emulator)
    env, journal = build(airtable_emulator, repo, tmp_path)
    repo.commit("feat: import from CSV FEAT-108 FEAT-104", {"csv.txt": "1"})
    later = {**env, "BITBUCKET_COMMIT": repo.head(), "BITBUCKET_BUILD_NUMBER": "14"}
    assert run(later, repo.path) == 0  # appends to the same journal
    assert "build #14" in journal.read_text()
    assert rollback(env, repo, journal) == 0
    assert records(airtable_emulator) == before


def test_a_refused_restore_fails_the_step_and_the_others_are_written(airtable_emulator, repo, tmp_path, capsys):
    before = records(airtable_emulator)
    env, journal = build(airtable_emulator, repo, tmp_path)
    # Airtable refuses FEAT-107's before-value (an option deleted since): the batch fails, then that record.
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    for e in entries:
        if e["record"] == "recWorkItem000107" and e["field"] == "Status":
            e["before"] = "Parked"
    journal.write_text("".join(json.dumps(e) + "\n" for e in entries))
    capsys.readouterr()
    assert rollback(env, repo, journal) == 1
    now = records(airtable_emulator)
    assert now["recWorkItem000108"] == before["recWorkItem000108"]
    assert now["recWorkItem000107"]["Status"] == "In Progress"  # not restored
    out = capsys.readouterr().out
    assert "Airtable refused a batch of 3 records" in out
    failed = [line for line in out.splitlines() if "FAILED" in line]
    assert len(failed) == 6 and all("recWorkItem000107" in line for line in failed)
    assert "ERROR: Not restored: Work Items recWorkItem000107: Airtable answered 422 INVALID_MULTIPLE_CHOICE" in out
    assert "1 record failed" in out
    report = json.loads((tmp_path / "rollback.json").read_text())
    assert report["outcome"] == "failed" and report["summary"]["records_failed"] == 1
    undo = (tmp_path / "rollback.journal.jsonl").read_text()
    assert "recWorkItem000108" in undo and "recWorkItem000107" not in undo  # only what was written


def test_when_airtable_refuses_the_token_the_rollback_stops_instead_of_retrying(
    airtable_emulator, repo, tmp_path, capsys
):
    env, journal = build(airtable_emulator, repo, tmp_path)
    after_run = records(airtable_emulator)
    airtable_emulator.reset_log()
    airtable_emulator.inject(Fault(status=401, method="PATCH", times=None))  # revoked after the reads
    capsys.readouterr()
    assert rollback(env, repo, journal) == 1
    assert writes(airtable_emulator) == [f"PATCH /v0/{SAMPLE_BASE_ID}/Work%20Items"]  # no record-by-record retry
    assert records(airtable_emulator) == after_run
    out = capsys.readouterr().out
    assert "AIRTABLE_TOKEN: Airtable refused the token" in out and SAMPLE_READWRITE_TOKEN not in out
    assert json.loads((tmp_path / "rollback.json").read_text())["summary"]["records_failed"] == 3
    assert not (tmp_path / "rollback.journal.jsonl").exists()


def test_a_field_deleted_since_stops_the_rollback_before_any_write(airtable_emulator, repo, tmp_path, capsys):
    env, journal = build(airtable_emulator, repo, tmp_path)
    with journal.open("a") as f:
        f.write(
            json.dumps(
                {
                    "service": "airtable",
                    "table": TABLE,
                    "record": "recWorkItem000107",
                    "field": "Estimate",
                    "before": 3,
                    "after": 5,
                    "run_id": "build #12",
                    "time": "2026-01-01T00:00:00+00:00",
                }
            )
            + "\n"
        )
    airtable_emulator.reset_log()
    capsys.readouterr()
    assert rollback(env, repo, journal) == 2
    assert writes(airtable_emulator) == []
    out = capsys.readouterr().out
    assert f"Reading the records {journal} names failed, so nothing was rolled back" in out
    assert 'Unknown field name: "Estimate"' in out


@pytest.fixture
def merged_repo(git_repo_builder):
    r = git_repo_builder("product")
    r.commit("feat: login page FEAT-101", {"app.txt": "1"})
    r.tag("1.4.0")
    r.branch("feature/FEAT-105-dark-mode")
    r.commit("feat(ui): dark mode", {"ui.txt": "dark"})
    r.checkout("main")
    r.merge("feature/FEAT-105-dark-mode", bitbucket_merge_message("feature/FEAT-105-dark-mode", 7))
    return r


def test_records_the_run_created_are_reported_and_its_changelog_is_rolled_back_in_the_clone(
    airtable_emulator, merged_repo, tmp_path, capsys
):
    before = records(airtable_emulator)
    env = run_env(
        airtable_emulator,
        merged_repo,
        tmp_path,
        BITBUCKET_BRANCH="main",
        AIRTABLE_RELEASES_TABLE="Releases",
        CHANGELOG_FILE="CHANGELOG.md",
    )
    assert run(env, merged_repo.path) == 0
    release = next(
        r for r in airtable_emulator.records(SAMPLE_BASE_ID, "Releases") if r["fields"]["Version"] == "1.5.0"
    )
    capsys.readouterr()

    assert rollback(env, merged_repo, tmp_path / "report.journal.jsonl") == 0
    assert records(airtable_emulator) == before  # FEAT-105 back to In Review, its link fields back
    assert any(r["id"] == release["id"] for r in airtable_emulator.records(SAMPLE_BASE_ID, "Releases"))
    assert not (merged_repo.path / "CHANGELOG.md").exists()  # the run made it for its section: it goes
    out = capsys.readouterr().out
    created = next(line for line in out.splitlines() if release["id"] in line)
    assert "created by the run" in created and "delete it by hand in 'Releases'" in created
    assert "(fields: Version, Notes, Date, Work Items)" in created
    changelog = next(line for line in out.splitlines() if "file: CHANGELOG.md" in line)
    assert "restored" in changelog and "the section of 1.5.0 -> removed" in changelog
    assert "CHANGELOG.md changed in this clone and not committed: commit and push" in out
    summary = json.loads((tmp_path / "rollback.json").read_text())["summary"]
    assert summary["records_created_by_the_run"] == 1 and summary["records_not_supported"] == 0


@pytest.mark.skipif("JOURNAL_FILE" not in variable_names(), reason="STAGE=rollback is not wired into pipe.flow yet")
def test_the_pipe_rolls_back_with_stage_rollback(airtable_emulator, repo, tmp_path, capsys):
    before = records(airtable_emulator)
    env, journal = build(airtable_emulator, repo, tmp_path)
    step = {
        **{k: v for k, v in env.items() if k != "AIRTABLE_TABLE"},  # the journal names its tables
        "STAGE": "rollback",
        "JOURNAL_FILE": journal.name,  # relative to the clone...
        "REPORT_FILE": str(tmp_path / "rollback.json"),
    }
    journal.rename(repo.path / journal.name)  # ...where an artifact lands
    capsys.readouterr()
    assert run({**step, "DRY_RUN": "true"}, repo.path) == 0
    assert "would restore" in capsys.readouterr().out
    assert run(step, repo.path) == 0
    assert records(airtable_emulator) == before
    out = capsys.readouterr().out
    assert "Stage: rollback" in out and SAMPLE_READWRITE_TOKEN not in out
    assert run({**step, "JOURNAL_FILE": "missing.jsonl"}, repo.path) == 2
    del step["JOURNAL_FILE"]
    assert run(step, repo.path) == 2
    assert "JOURNAL_FILE: is required with STAGE: rollback" in capsys.readouterr().out
