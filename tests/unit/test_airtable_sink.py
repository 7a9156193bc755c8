"""pipe.sinks.airtable_records: batches, record-by-record fallback, and stopping when Airtable itself fails."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from pipe.clients.airtable import AirtableConfigError, AirtableError
from pipe.clients.http import BudgetExceeded
from pipe.config.file import FieldMapping, Workflow
from pipe.model import FieldChange, RecordOutcome, RecordPlan
from pipe.recovery.journal_reader import read_journal
from pipe.sinks.airtable_records import RecordsChange
from pipe.sinks.journal import Journal

Respond = Callable[[list[str]], Exception | None]


class FakeClient:
    """Stands in for AirtableClient.update: `respond(record ids)` returns the exception to raise, or None."""

    table_name = "Work Items"

    def __init__(self, respond: Respond):
        self.respond = respond
        self.calls: list[list[str]] = []

    def update(self, updates: Sequence[tuple[str, dict]]) -> list[dict]:
        ids = [rid for rid, _ in updates]
        self.calls.append(ids)
        problem = self.respond(ids)
        if problem is not None:
            raise problem
        return [{"id": rid, "fields": fields} for rid, fields in updates]

    def records_by_id(self, ids: Sequence[str], fields: Sequence[str]) -> dict:
        return {}  # the read-back finds nothing to set again (tested against the emulator elsewhere)


@dataclass
class Written:
    """A plan and what the sink did with it."""

    plan: RecordPlan
    outcome: RecordOutcome

    @property
    def record_id(self) -> str | None:
        return self.plan.record_id

    @property
    def written(self) -> bool:
        return self.outcome.written

    @property
    def error(self) -> str | None:
        return self.outcome.error


def plans(count: int) -> list[RecordPlan]:
    return [
        RecordPlan(
            reference=f"rec{n:014d}",
            record_id=f"rec{n:014d}",
            changes=(FieldChange("Status", "Ready", "In Progress"),),
        )
        for n in range(count)
    ]


FACTS = SimpleNamespace(fields=SimpleNamespace(items=FieldMapping()), now=0, recent_window=900.0)


def write(client: FakeClient, journal: Journal, records: list[RecordPlan]) -> list[Written]:
    change = RecordsChange(client, records, FACTS, Workflow())  # type: ignore[arg-type]
    change.apply(journal, [])
    return [Written(p, change.outcomes.get(p.key, RecordOutcome())) for p in records]


def apply(respond: Respond, count: int) -> tuple[list[Written], FakeClient, Journal]:
    client = FakeClient(respond)
    journal = Journal(None, "run-1")
    return write(client, journal, plans(count)), client, journal


def on_call(number: int, problem: Exception) -> Respond:
    """Fail the `number`th request (1-based), answer the others."""
    seen = []

    def respond(ids: list[str]) -> Exception | None:
        seen.append(ids)
        return problem if len(seen) == number else None

    return respond


def test_writes_ten_records_per_request_and_journals_each():
    records, client, journal = apply(lambda ids: None, 23)

    assert [len(c) for c in client.calls] == [10, 10, 3]
    assert all(p.written and p.error is None for p in records)
    assert [e.record for e in journal.entries] == [p.record_id for p in records]


def test_a_refused_batch_is_retried_record_by_record():
    bad = "rec00000000000003"
    refusal = AirtableError("Airtable answered 422 INVALID_VALUE_FOR_COLUMN", status=422, error_type="X")
    records, client, _ = apply(lambda ids: refusal if bad in ids else None, 12)

    assert [len(c) for c in client.calls] == [10, *([1] * 10), 2]
    assert [p.record_id for p in records if not p.written] == [bad]
    assert records[3].error == str(refusal)


@pytest.mark.parametrize("status", [None, 429, 500, 503])
def test_when_airtable_itself_fails_the_sink_stops_and_marks_the_rest(status, caplog):
    failure = AirtableError(f"Airtable failed ({status})", status=status)
    with caplog.at_level(logging.ERROR, logger="pipe.airtable"):
        records, client, journal = apply(on_call(2, failure), 25)

    assert len(client.calls) == 2  # the third batch is not sent into a failing service
    assert [p.written for p in records] == [True] * 10 + [False] * 15
    assert {p.error for p in records[10:20]} == {str(failure)}
    assert {p.error for p in records[20:]} == {f"not written after an earlier failure: {failure}"}
    assert [e.record for e in journal.entries if not e.unconfirmed] == [p.record_id for p in records[:10]]
    # The failed batch may have been applied before its answer was lost: journaled, marked unconfirmed.
    assert [e.record for e in journal.entries if e.unconfirmed] == [p.record_id for p in records[10:20]]
    assert "Airtable stopped taking writes: 10 records written, 15 not" in caplog.text


def test_a_batch_refused_for_its_content_is_not_journaled():
    refusal = AirtableError("422", status=422, error_type="INVALID_VALUE_FOR_COLUMN")
    records, _, journal = apply(lambda ids: refusal, 3)

    assert not any(p.written for p in records)
    assert journal.entries == []  # Airtable answered: nothing was written


def test_the_batch_in_flight_when_the_time_budget_runs_out_is_journaled_unconfirmed():
    records, _, journal = apply(on_call(2, BudgetExceeded("out of time")), 15)

    assert [e.record for e in journal.entries] == [p.record_id for p in records]
    assert [e.unconfirmed for e in journal.entries] == [False] * 10 + [True] * 5
    assert [p.written for p in records] == [True] * 10 + [False] * 5


def test_unconfirmed_writes_are_marked_in_the_journal_file(tmp_path):
    path = tmp_path / "run.journal.jsonl"
    journal = Journal(path, "run-1")
    client = FakeClient(on_call(2, AirtableError("no answer", status=None)))
    write(client, journal, plans(12))
    journal.close()

    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert ["unconfirmed" in line for line in lines] == [False] * 10 + [True] * 2
    assert all(line["unconfirmed"] is True for line in lines[10:])
    contents = read_journal(path)  # a rollback reads unconfirmed lines like any other
    assert len(contents.records) == 12


def test_a_service_failure_during_the_record_by_record_retry_stops_too():
    refusal = AirtableError("422", status=422, error_type="INVALID_VALUE_FOR_COLUMN")
    outage = AirtableError("503 after retries", status=503)
    answers = iter([refusal, None, outage])
    records, client, _ = apply(lambda ids: next(answers, None), 14)

    assert [len(c) for c in client.calls] == [10, 1, 1]
    assert records[0].written and not any(p.written for p in records[1:])
    assert records[1].error == str(outage) and records[13].error.startswith("not written after an earlier failure")


def test_a_token_refused_before_any_write_is_a_configuration_error():
    refused = AirtableConfigError("Airtable refused access (403)")
    with pytest.raises(AirtableConfigError):
        apply(lambda ids: refused, 12)


def test_a_token_refused_after_some_writes_is_a_failed_sync_not_a_configuration_error():
    refused = AirtableConfigError("Airtable refused access (403)")
    records, client, _ = apply(on_call(2, refused), 25)

    assert len(client.calls) == 2
    assert sum(p.written for p in records) == 10
    assert all(str(refused) in p.error for p in records[10:])


def test_the_time_budget_running_out_counts_what_was_written(caplog):
    with caplog.at_level(logging.ERROR, logger="pipe.airtable"):
        records, client, _ = apply(on_call(3, BudgetExceeded("out of time")), 25)

    assert sum(p.written for p in records) == 20
    assert {p.error for p in records[20:]} == {
        "not written: the time budget (TIME_BUDGET) ran out; a re-run finishes the job"
    }
    assert "The time budget ran out: 20 records written, 5 left" in caplog.text


def test_the_time_budget_running_out_during_the_record_by_record_retry():
    refusal = AirtableError("422", status=422, error_type="X")
    answers = iter([refusal, None, refusal, BudgetExceeded("out of time")])
    records, _, _ = apply(lambda ids: next(answers, None), 5)

    assert [p.written for p in records] == [True, False, False, False, False]
    assert records[1].error == str(refusal)
    assert all(p.error.startswith("not written: the time budget") for p in records[2:])
