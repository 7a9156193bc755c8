"""The one-line detail of a Coda table target says why rows failed or what was left out of them."""

from __future__ import annotations

from pipe.sinks.coda_rows import CodaRowsOutcome, RowOutcome

OPTION = "'security' is not an option of the select column 'Type' (feat, fix); the cell was left out: add the option"


def outcome(*rows: RowOutcome, dry_run: bool = False) -> CodaRowsOutcome:
    return CodaRowsOutcome(table="Changelog", rows=list(rows), dry_run=dry_run)


def test_counts_alone_when_nothing_needs_saying():
    queued = RowOutcome("1.0.0", "a", "written", message="queued in Coda, not confirmed yet", confirmed=False)
    assert outcome(queued, RowOutcome("1.0.0", "b", "unchanged")).detail == (
        "1 written (1 queued, not confirmed), 1 unchanged"
    )
    planned = RowOutcome("1.0.0", "a", "skipped", message="dry run: 3 cell(s) not written")
    assert outcome(planned, dry_run=True).detail == "1 skipped (dry run)"
    assert outcome().detail == "no rows"


def test_failed_rows_say_why_and_notes_of_written_rows_are_kept():
    big = RowOutcome("1.0.0", "abc", "failed", message="the row is 88 KB, over Coda's 85 KB limit per row")
    noted = RowOutcome("1.0.0", "def", "written", message=f"{OPTION}; queued in Coda, not confirmed yet")
    assert outcome(noted, big).detail == (
        "1 written, 1 failed; 1.0.0/abc: the row is 88 KB, over Coda's 85 KB limit per row; " + OPTION
    )


def test_at_most_three_reasons_are_listed():
    rows = [RowOutcome("1.0.0", str(i), "failed", message=f"reason {i}") for i in range(5)]
    assert outcome(*rows).detail == (
        "5 failed; 1.0.0/0: reason 0; 1.0.0/1: reason 1; 1.0.0/2: reason 2 (and 2 more in the report)"
    )
