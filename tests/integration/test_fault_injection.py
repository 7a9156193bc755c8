"""Fault injection: a merge of 1,000 work items and 1,000 changelog rows against both emulators, with 429s,
503s, slow answers (some longer than the client's read timeout) and dropped connections (before and after
the write was carried out), then re-runs. Every record and row must end up right, none duplicated, nothing
lost, and no write may be replayed in a way that could duplicate it. The scenario and the checks are in
testkit/fault_scenario.py; benchmarks/fault_sync.py runs the same sync with real limits and prints figures.

Time is scaled by SCALE on both sides (the emulators' rate-limit windows and lockouts, the pipe's pacing,
waits after 429s, backoff and mutation polling), so the pipe's own pacing still keeps under the limits.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from pipe.flow import run
from testkit import fault_scenario as fs

SCALE = 0.05
READ_TIMEOUT = 1.5  # the pipe's read timeout in this test; one write per service is answered after 2 s


def write_methods(requests) -> Counter[str]:
    return Counter(r.method for r in fs.airtable_writes(requests))


def journal_lines(scenario: fs.Scenario) -> list[dict]:
    path = scenario.report.with_name(scenario.report.stem + ".journal.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def take_log(emulator, into: list) -> list:
    """The Airtable emulator's log since the last call (kept in `into` too), then cleared."""
    log = emulator.requests
    into.extend(log)
    emulator.reset_log()
    return log


@pytest.mark.slow
def test_faulty_merge_of_1000_records_and_rows_then_reruns_end_right_without_duplicates(
    airtable_emulator_factory, coda_emulator_factory, tmp_path
):
    airtable = airtable_emulator_factory(**fs.airtable_options(SCALE))  # sample seed, Airtable's limits scaled
    coda = coda_emulator_factory(seed=fs.CODA_SEED, **fs.coda_options(SCALE, mutation_delay=0.05))
    scenario = fs.prepare(airtable, coda, tmp_path)
    env = scenario.env(AIRTABLE_RATE_LIMIT_WAIT=str(30 * SCALE))
    transient = fs.inject_transient_faults(scenario, seed=1, beyond_timeout=READ_TIMEOUT + 0.5)
    exhausting = fs.inject_exhausting_faults(scenario, airtable_after=40, coda_after=1)

    airtable_log: list = []
    with fs.pipe_pacing(SCALE, read_timeout=READ_TIMEOUT) as pacing:
        # 1. Transient faults, and faults that outlast the retries: the run stops part-way and says so.
        assert run(env, scenario.repo.path) == 1
        first = pacing.take()
        assert fs.check_airtable(scenario, complete=False) == []
        assert fs.check_coda(scenario, complete=False) == []
        report = scenario.report_data()
        assert report["outcome"] == "failed"
        items = {fs.record_id(n) for n in range(1, fs.RECORDS + 1)}
        merged = {r["id"] for r in airtable.records(fs.BASE_ID, fs.WORK_ITEMS) if r["fields"]["Status"] == "Merged"}
        merged &= items
        reported = {r["record_id"] for r in report["records"] if r["written"]}
        assert 0 < len(reported) < fs.RECORDS
        assert reported <= merged  # a record reported written was written (a lost answer may add more)
        rows = [r for r in coda.rows(fs.CODA_DOC_ID, fs.CODA_TABLE) if r.get("Release") == fs.VERSION]
        assert 0 < len(rows) < fs.RECORDS
        assert coda.page_text(fs.CODA_DOC_ID, fs.CODA_PAGE).count(fs.MARKER) == 1  # applied, answer lost
        # Nothing changed without a journal line (writes whose answer was lost are journaled as unconfirmed).
        journal = journal_lines(scenario)
        assert merged <= {line["record"] for line in journal if line["table"] == fs.WORK_ITEMS}
        row_keys = {f"{fs.VERSION}/{row['Entry Key']}" for row in rows}
        assert row_keys <= {line["record"] for line in journal if line["table"] == fs.CODA_TABLE}
        assert first["airtable"]["retries"] > 0 and first["coda"]["retries"] > 0

        # 2. The re-run meets the transient faults not used up yet, and finishes the job.
        fs.retire(exhausting)
        take_log(airtable, airtable_log)
        coda_seen = len(coda.requests)
        assert run(env, scenario.repo.path) == 0
        assert fs.check_airtable(scenario) == []
        assert fs.check_coda(scenario) == []
        assert scenario.report_data()["outcome"] == "ok"
        rerun_coda = coda.requests[coda_seen:]
        assert not [r for r in rerun_coda if r.method == "PUT"]  # the release was found on the page

        # 3. Nothing left to do: a clean re-run reads and sends no write at all.
        airtable.clear_faults()
        coda.clear_faults()
        take_log(airtable, airtable_log)
        coda_seen = len(coda.requests)
        assert run(env, scenario.repo.path) == 0
        assert fs.airtable_writes(take_log(airtable, airtable_log)) == []
        assert fs.coda_writes(coda.requests[coda_seen:]) == []
        assert fs.check_airtable(scenario) == [] and fs.check_coda(scenario) == []
        pacing.take()

    # Every kind of fault was met, on both services.
    kinds = fs.fired_by_label(transient)
    for label in (
        "airtable 429",
        "airtable 503",
        "airtable delay",
        "airtable drop",
        "airtable drop_after_apply",
        "coda 429",
        "coda 503",
        "coda delay",
        "coda drop",
        "coda drop_after_apply",
    ):
        assert kinds[label] > 0, f"{label} never fired: {dict(kinds)}"
    assert all(fs.fired(f) > 0 for f in exhausting)

    # No write was sent in a form that a replay could duplicate: Airtable only ever got PATCHes (updates by
    # record ID and upserts on Version), never a create; Coda only keyed upserts, and the page append (whose
    # answer was lost) was sent once, never replayed.
    all_coda = coda.requests
    assert set(write_methods(airtable_log)) == {"PATCH"}
    assert fs.unkeyed_coda_upserts(all_coda) == []
    assert len([r for r in all_coda if r.method == "PUT" and "/pages/" in r.path]) == 1
