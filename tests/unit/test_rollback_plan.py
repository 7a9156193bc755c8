"""Planning a rollback from a journal and the records' current values (no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipe.recovery import rollback_journal_path, table_lines
from pipe.recovery.journal_reader import JournalContents, JournalLine, group_entries
from pipe.recovery.plan import FieldAction, RecordAction, looks_created, plan_rollback, same_value

RUN_TIME = "2026-03-01T12:00:00+00:00"


def line(n, record, field, before, after, *, service="airtable", table="Work Items", created=False, time=RUN_TIME):
    return JournalLine(service, table, record, field, before, after, "build #9", time, created, line=n)


def contents(*lines: JournalLine) -> JournalContents:
    return JournalContents(Path("run.journal.jsonl"), list(lines), group_entries(list(lines)))


def state(fields, created_time="2026-01-01T09:00:00.000Z"):
    return {"id": "?", "createdTime": created_time, "fields": fields}


A, B, C = "recAAAAAAAAAAAAAA", "recBBBBBBBBBBBBBB", "recCCCCCCCCCCCCCC"


def test_each_field_is_restored_skipped_or_already_as_before():
    journal = contents(
        line(1, A, "Status", "Ready", "In Progress"),
        line(2, A, "Branch", None, "feature/x"),
        line(3, A, "Last Run", "#40", "build #9"),
    )
    current = {("Work Items", A): state({"Status": "Blocked", "Branch": "feature/x"})}
    plan = plan_rollback(journal, current)
    record = plan.records[0]
    assert record.action is RecordAction.ROLL_BACK
    actions = {f.field: (f.action, f.current) for f in record.fields}
    assert actions == {
        "Status": (FieldAction.CHANGED_SINCE, "Blocked"),
        "Branch": (FieldAction.RESTORE, "feature/x"),
        "Last Run": (FieldAction.CHANGED_SINCE, None),  # emptied by a person: not the run's value any more
    }
    assert [f.field for f in record.to_restore] == ["Branch"]
    assert plan.counts()["fields_to_restore"] == 1 and plan.counts()["fields_changed_since"] == 2


def test_a_record_already_back_needs_nothing():
    journal = contents(line(1, A, "Status", "Ready", "In Progress"), line(2, A, "Branch", None, "x"))
    plan = plan_rollback(journal, {("Work Items", A): state({"Status": "Ready"})})
    assert plan.to_write == []
    assert plan.counts()["fields_already_restored"] == 2


def test_created_missing_and_other_services_are_only_reported():
    journal = contents(
        line(1, A, "Version", None, "1.5.0", table="Releases", created=True),
        line(2, B, "Status", "Ready", "Merged"),
        line(3, "1.5.0", "section", None, "## 1.5.0", service="file", table="CHANGELOG.md", created=None),
        line(4, "1.5.0/feat-x", "Description", None, "x", service="coda", table="Changelog", created=None),
        line(5, "?", "Notes", None, "x", table="Releases", created=True),
        line(6, C, "Status", "Ready", "Merged", service="sheets"),
    )
    plan = plan_rollback(journal, {("Work Items", B): None})
    actions = [(r.record, r.action) for r in plan.records]
    assert actions == [
        (A, RecordAction.CREATED),
        (B, RecordAction.MISSING),
        ("1.5.0", RecordAction.NOT_SUPPORTED),
        ("1.5.0/feat-x", RecordAction.NOT_SUPPORTED),
        ("?", RecordAction.NOT_SUPPORTED),
        (C, RecordAction.NOT_SUPPORTED),
    ]
    reasons = [r.reason for r in plan.records]
    assert "delete it by hand in 'Releases'" in reasons[0]
    assert "revert the commit" in reasons[2] and "Coda" in reasons[3] and "no record ID" in reasons[4]
    assert "sheets" in reasons[5]
    assert plan.to_write == []


def test_a_record_created_within_the_journal_is_not_restored_field_by_field():
    journal = contents(
        line(1, A, "Version", None, "1.5.0", table="Releases", created=True),
        line(2, A, "Environment", None, "staging", table="Releases", created=False),
    )
    assert plan_rollback(journal, {}).records[0].action is RecordAction.CREATED


def test_an_updated_record_whose_fields_were_all_empty_is_restored():
    """The build fills in a work item's empty link fields: every before is None, yet it was not created."""
    journal = contents(line(1, A, "Last Commit", None, "abc"), line(2, A, "Last Run", None, "build #9"))
    plan = plan_rollback(journal, {("Work Items", A): state({"Last Commit": "abc", "Last Run": "build #9"})})
    assert plan.records[0].action is RecordAction.ROLL_BACK and len(plan.records[0].to_restore) == 2


def test_without_the_marker_a_record_made_at_run_time_counts_as_created():
    old = [line(1, A, "Version", None, "1.5.0", table="Releases", created=None)]
    journal = contents(*old)
    made_then = state({"Version": "1.5.0"}, created_time="2026-03-01T11:59:58.000Z")
    made_before = state({"Version": "1.5.0"}, created_time="2026-02-01T08:00:00.000Z")
    assert plan_rollback(journal, {("Releases", A): made_then}).records[0].action is RecordAction.CREATED
    assert plan_rollback(journal, {("Releases", A): made_before}).records[0].action is RecordAction.ROLL_BACK
    assert not looks_created(journal.records[0], state({}, created_time="nonsense"))
    with_before = contents(line(1, A, "Status", "Ready", "Merged", created=None))
    assert not looks_created(with_before.records[0], made_then)


def test_without_current_values_every_field_is_shown_as_not_read():
    plan = plan_rollback(contents(line(1, A, "Status", "Ready", "In Progress")), None, dry_run=True)
    assert not plan.known
    assert plan.records[0].fields[0].action is FieldAction.UNKNOWN
    assert plan.to_write == [] and plan.counts()["fields_not_read"] == 1
    rows = table_lines(plan)
    assert "would restore" in rows[1] and "'Ready' if it still holds 'In Progress' (not read)" in rows[1]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (None, "", True),
        (None, [], True),
        (None, False, True),
        ("\n", None, True),  # a cleared rich text field reads back as a newline
        ("Notes\n", "Notes", True),
        ("2026-03-01T12:00:00.000Z", "2026-03-01T12:00:00+00:00", True),
        ("2026-03-01T12:00:00.000Z", "2026-03-01T12:00:01.000Z", False),
        ("2026-03-01", "2026-03-01T00:00:00Z", False),
        (["recA", "recB"], ["recA", "recB"], True),
        (["recA", "recB"], ["recB", "recA"], False),
        (3, 3.0, True),
        (True, 1, False),
        (0, None, False),
        ("Ready", "ready", False),
    ],
)
def test_same_value_compares_as_airtable_stores(a, b, same):
    assert same_value(a, b) is same
    assert same_value(b, a) is same


def test_the_rollback_journal_never_overwrites_the_journal_it_reads(tmp_path):
    journal = tmp_path / "report.journal.jsonl"
    assert rollback_journal_path(tmp_path / "rollback.json", journal) == tmp_path / "rollback.journal.jsonl"
    assert rollback_journal_path(tmp_path / "report.json", journal) == tmp_path / "report.journal.rollback.jsonl"
    assert rollback_journal_path(None, journal) == tmp_path / "report.journal.rollback.jsonl"
