"""The journal table's target when Airtable fails for a while: the run goes on, the journal is reported as not
appended (no network: a stand-in client)."""

from __future__ import annotations

import pytest

from pipe.clients.airtable import AirtableConfigError, AirtableError
from pipe.config.file import JournalFields
from pipe.sinks.journal import Journal
from pipe.sinks.journal_table import JournalTableTarget, Stamp


class FailingAirtable:
    table_name = "Change Journal"

    def __init__(self, error: Exception):
        self.error = error
        self.schema_reads = 0

    def schema(self, variable: str):
        self.schema_reads += 1
        raise self.error


def journal_with_one_entry() -> Journal:
    journal = Journal(None, "build #12")
    journal.record("airtable", "Work Items", "recWorkItem000108", {"Status": ("Planned", "In Progress")})
    return journal


def test_a_journal_table_airtable_fails_to_read_is_read_again_and_reported_not_appended(caplog):
    client = FailingAirtable(AirtableError("Airtable answered 500 while reading the base schema", status=500))
    target = JournalTableTarget(client, JournalFields(), Stamp("build", "build #12", None))  # type: ignore[arg-type]
    change = target.prepare()  # no exception: the sync goes on
    assert change.fields is None
    result = change.apply(journal_with_one_entry(), [])
    assert client.schema_reads == 2  # read again before appending
    assert result.status == "skipped" and not result.failed
    assert "0 of 1 entry appended to 'Change Journal', then: Airtable answered 500" in result.detail
    assert "The change journal in Airtable is incomplete" in caplog.text


def test_a_journal_table_that_does_not_match_stops_the_run_while_preparing():
    client = FailingAirtable(AirtableConfigError("AIRTABLE_JOURNAL_TABLE: there is no table 'Change Journal'"))
    target = JournalTableTarget(client, JournalFields(), Stamp("build", "build #12", None))  # type: ignore[arg-type]
    with pytest.raises(AirtableConfigError):
        target.prepare()
