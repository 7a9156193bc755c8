"""pipe.sinks.airtable_records reads statuses back after writing: it sets a status again where a run at the
same time moved it back, never one people own, and reports records it could not check as failed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace

from pipe.clients.airtable import AirtableError
from pipe.config.file import FieldMapping, Workflow
from pipe.model import FieldChange, RecordOutcome, RecordPlan, RecordState
from pipe.sinks.airtable_records import RecordsChange
from pipe.sinks.journal import Journal

NOW = int(datetime(2026, 3, 1, 12, 0, tzinfo=UTC).timestamp())
RECENT = "2026-03-01T11:59:00.000Z"
FACTS = SimpleNamespace(fields=SimpleNamespace(items=FieldMapping()), now=NOW, recent_window=900.0)
STAGED_AT_FACTS = SimpleNamespace(
    fields=SimpleNamespace(items=FieldMapping(staged_at="Staged At")), now=NOW, recent_window=900.0
)


class Airtable:
    """The records as another run left them after this run's write; `fail_reads` makes the read-back fail."""

    table_name = "Work Items"

    def __init__(self, after_our_write: dict[str, dict], fail_reads: bool = False):
        self.state = after_our_write
        self.fail_reads = fail_reads
        self.writes: list[list[tuple[str, dict]]] = []

    def update(self, updates: Sequence[tuple[str, dict]]) -> list[dict]:
        self.writes.append(list(updates))
        if len(self.writes) > 1:  # a repair: it lands
            for record_id, fields in updates:
                self.state[record_id].update(fields)
        return []

    def records_by_id(self, ids: Sequence[str], fields: Sequence[str]) -> dict[str, RecordState]:
        if self.fail_reads:
            raise AirtableError("Airtable answered 503 RETRIABLE_ERROR while reading records by ID", status=503)
        return {rid: RecordState(record_id=rid, fields=dict(self.state[rid])) for rid in ids if rid in self.state}


def plan(record_id: str, before: str, after: str) -> RecordPlan:
    return RecordPlan(reference=record_id, record_id=record_id, changes=(FieldChange("Status", before, after),))


def apply(client: Airtable, plans: list[RecordPlan]) -> dict[str, RecordOutcome]:
    change = RecordsChange(client, plans, FACTS, Workflow())  # type: ignore[arg-type]
    change.apply(Journal(None, "run-1"), [])
    return change.outcomes


def test_a_status_a_run_at_the_same_time_moved_back_is_set_again_to_what_recent_times_imply():
    # This staging run wrote On Staging; a slower branch build then wrote In Progress; production's Released At
    # is there (recent), so the furthest is Released, further than what this run wrote.
    client = Airtable({"recA": {"Status": "In Progress", "Released At": RECENT, "Merged At": RECENT}})
    outcomes = apply(client, [plan("recA", "Merged", "On Staging")])
    assert client.writes[1] == [("recA", {"Status": "Released"})]
    assert outcomes["recA"] == RecordOutcome(written=True, repaired="Released")
    assert client.state["recA"]["Status"] == "Released"


def test_a_status_people_took_over_meanwhile_is_left_alone():
    client = Airtable({"recA": {"Status": "Blocked", "Released At": RECENT}})
    outcomes = apply(client, [plan("recA", "Merged", "On Staging")])
    assert len(client.writes) == 1 and outcomes["recA"] == RecordOutcome(written=True)


def test_stage_times_from_long_ago_do_not_move_a_reopened_record():
    client = Airtable({"recA": {"Status": "In Progress", "Released At": "2025-01-01T00:00:00.000Z"}})
    outcomes = apply(client, [plan("recA", "Ready", "In Progress")])
    assert len(client.writes) == 1 and outcomes["recA"].repaired is None


def test_records_whose_status_could_not_be_read_back_are_written_and_failed():
    client = Airtable({"recA": {"Status": "On Staging"}, "recB": {}}, fail_reads=True)
    outcomes = apply(client, [plan("recA", "Merged", "On Staging"), plan("recB", "Ready", "In Progress")])
    for key in ("recA", "recB"):
        assert outcomes[key].written and outcomes[key].error is not None
        assert "could not be read back" in outcomes[key].error and "re-run" in outcomes[key].error


def test_a_merge_landing_after_a_staging_deploy_is_set_again_when_staged_at_is_mapped():
    # The merge read the record before the staging deploy wrote it; its Merged landed after On Staging.
    client = Airtable({"recA": {"Status": "Merged", "Merged At": RECENT, "Staged At": RECENT}})
    change = RecordsChange(client, [plan("recA", "In Review", "Merged")], STAGED_AT_FACTS, Workflow())  # type: ignore[arg-type]
    change.apply(Journal(None, "run-1"), [])
    assert client.writes[1] == [("recA", {"Status": "On Staging"})]


def test_without_staged_at_nothing_tells_that_staging_was_deployed():
    # The gap docs/concurrency.md names: without the field, a merge landing last leaves Merged.
    client = Airtable({"recA": {"Status": "Merged", "Merged At": RECENT}})
    outcomes = apply(client, [plan("recA", "In Review", "Merged")])
    assert len(client.writes) == 1 and outcomes["recA"].repaired is None


def test_a_branch_build_landing_after_its_review_is_set_again_when_reviewed_at_is_mapped():
    # The build read the record before the review wrote it; its In Progress landed after In Review.
    facts = SimpleNamespace(
        fields=SimpleNamespace(items=FieldMapping(reviewed_at="Reviewed At")), now=NOW, recent_window=900.0
    )
    client = Airtable({"recA": {"Status": "In Progress", "Reviewed At": RECENT}})
    change = RecordsChange(client, [plan("recA", "Ready", "In Progress")], facts, Workflow())  # type: ignore[arg-type]
    change.apply(Journal(None, "run-1"), [])
    assert client.writes[1] == [("recA", {"Status": "In Review"})]


def test_without_reviewed_at_a_build_landing_last_leaves_in_progress():
    # The gap docs/concurrency.md names when the field is not mapped.
    client = Airtable({"recA": {"Status": "In Progress"}})
    outcomes = apply(client, [plan("recA", "Ready", "In Progress")])
    assert len(client.writes) == 1 and outcomes["recA"].repaired is None
