"""A write whose answer was lost after the service carried it out, and whose retries then failed, is reported
failed but did change the service: the journal keeps it (marked unconfirmed), so STAGE=rollback restores it.
Found by the fault-injection suite (tests/integration/test_fault_injection.py)."""

from __future__ import annotations

import contextlib
import io
import json

from pipe.flow import run
from testkit import fault_scenario as fs
from testkit.emulators.airtable import Fault

RECORDS = 20


def journal_lines(scenario: fs.Scenario) -> list[dict]:
    path = scenario.report.with_name("report.journal.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def statuses(scenario: fs.Scenario) -> dict[str, str]:
    wanted = {fs.record_id(n) for n in range(1, RECORDS + 1)}
    return {
        r["id"]: r["fields"]["Status"]
        for r in scenario.airtable.records(fs.BASE_ID, fs.WORK_ITEMS)
        if r["id"] in wanted
    }


def test_an_applied_write_whose_answer_was_lost_is_journaled_and_rolled_back(
    airtable_emulator_factory, coda_emulator_factory, tmp_path
):
    airtable = airtable_emulator_factory()
    coda = coda_emulator_factory(seed=fs.CODA_SEED, rate_limits=None, mutation_delay=0.01)
    scenario = fs.prepare(airtable, coda, tmp_path, RECORDS)
    env = scenario.env()
    # The first batch of 10 records is carried out but its answer is lost; every retry is answered 503.
    airtable.inject(Fault(kind="drop", after_apply=True, method="PATCH", path=fs.WORK_ITEMS_PATH, times=1))
    airtable.inject(Fault(status=503, method="PATCH", path=fs.WORK_ITEMS_PATH, times=5))
    # The same for the Coda rows (one request), and the page append (never replayed). The first POST to the
    # rows is the pipe's zero-row write probe (before any write): let it through.
    coda.add_fault("delay", delay=0.001, method="POST", path=fs.CODA_ROWS_PATH, times=1)
    coda.add_fault("drop_after_apply", method="POST", path=fs.CODA_ROWS_PATH, times=1)
    coda.add_fault("status", status=503, method="POST", path=fs.CODA_ROWS_PATH, times=5)
    coda.add_fault("drop_after_apply", method="PUT", path="/pages/", times=1)

    with fs.pipe_pacing(0.01), contextlib.redirect_stdout(io.StringIO()):
        assert run(env, scenario.repo.path) == 1
    report = scenario.report_data()
    assert not any(r["written"] for r in report["records"])  # reported failed...
    first_batch = [fs.record_id(n) for n in range(1, 11)]
    assert [rid for rid, status in statuses(scenario).items() if status == "Merged"] == first_batch  # ...yet applied
    lines = journal_lines(scenario)
    unconfirmed = [line for line in lines if line.get("unconfirmed")]
    assert sorted({line["record"] for line in unconfirmed if line["table"] == fs.WORK_ITEMS}) == first_batch
    assert {line["before"] for line in unconfirmed if line["field"] == "Status"} == {"In Progress"}
    coda_rows = {line["record"] for line in unconfirmed if line["service"] == "coda" and line["table"] == fs.CODA_TABLE}
    assert len(coda_rows) == RECORDS
    assert [line["table"] for line in unconfirmed if line["table"].startswith("page ")] == [f"page {fs.CODA_PAGE}"]
    assert all("unconfirmed" not in line for line in lines if line not in unconfirmed)

    rollback = dict(env)  # the journal names the Coda table and page; the step names the doc
    rollback.update(STAGE="rollback", JOURNAL_FILE=str(scenario.report.with_name("report.journal.jsonl")))
    rollback["REPORT_FILE"] = str(tmp_path / "rollback.json")
    with fs.pipe_pacing(0.01), contextlib.redirect_stdout(io.StringIO()):
        assert run(rollback, scenario.repo.path) == 0
    assert set(statuses(scenario).values()) == {"In Progress"}  # the lost-answer batch was restored too
    # So were the Coda rows and the page section whose answers were lost: the rows deleted, the section removed.
    assert [r for r in coda.rows(fs.CODA_DOC_ID, fs.CODA_TABLE) if r.get("Release") == fs.VERSION] == []
    assert fs.MARKER not in coda.page_text(fs.CODA_DOC_ID, fs.CODA_PAGE)
