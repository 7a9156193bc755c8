"""Reading journals: entries grouped per record, earliest before and latest after, and every
malformed line named by file and line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipe.errors import EXIT_BAD_INPUT, UserError
from pipe.recovery import journal_reader
from pipe.recovery.journal_reader import JournalError, parse_journal_text, read_journal
from pipe.sinks.journal import Journal


def entry(record="recAAAAAAAAAAAAAA", field="Status", before=None, after="x", **extra) -> str:
    data = {
        "service": "airtable",
        "table": "Work Items",
        "record": record,
        "field": field,
        "before": before,
        "after": after,
        "run_id": "build #1",
        "time": "2026-01-01T10:00:00+00:00",
    }
    data.update(extra)
    return json.dumps(data)


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "report.journal.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_what_the_sinks_journal(tmp_path):
    path = tmp_path / "run.journal.jsonl"
    journal = Journal(path, "build #7")
    journal.record("airtable", "Work Items", "recAAAAAAAAAAAAAA", {"Status": ("Ready", "In Progress")}, created=False)
    journal.record("airtable", "Releases", "recBBBBBBBBBBBBBB", {"Version": (None, "1.5.0")}, created=True)
    journal.record("file", "CHANGELOG.md", "1.5.0", {"section": (None, "## 1.5.0\n")})
    journal.close()
    contents = read_journal(path)
    assert [(r.service, r.table, r.record, r.created) for r in contents.records] == [
        ("airtable", "Work Items", "recAAAAAAAAAAAAAA", False),
        ("airtable", "Releases", "recBBBBBBBBBBBBBB", True),
        ("file", "CHANGELOG.md", "1.5.0", None),
    ]
    status = contents.records[0].fields["Status"]
    assert (status.before, status.after, status.writes, status.lines) == ("Ready", "In Progress", 1, [1])
    assert contents.run_ids == ["build #7"]


def test_a_field_written_several_times_counts_its_earliest_before_and_latest_after(tmp_path):
    path = write(
        tmp_path,
        entry(before="Ready", after="In Progress", run_id="build #1"),
        entry(field="Branch", before=None, after="feature/x", run_id="build #1"),
        "",
        entry(before="In Progress", after="In Review", run_id="build #2"),
        entry(record="recBBBBBBBBBBBBBB", before="Planned", after="Merged", run_id="build #2"),
        entry(before="Blocked", after="Merged", run_id="build #3"),
    )
    contents = read_journal(path)
    first, second = contents.records
    assert (first.fields["Status"].before, first.fields["Status"].after) == ("Ready", "Merged")
    assert first.fields["Status"].writes == 3 and first.fields["Status"].lines == [1, 4, 6]
    assert first.fields["Branch"].after == "feature/x"
    assert first.run_ids == ["build #1", "build #2", "build #3"]
    assert second.record == "recBBBBBBBBBBBBBB" and second.fields["Status"].before == "Planned"
    assert contents.run_ids == ["build #1", "build #2", "build #3"]
    assert len(contents.lines) == 5  # the blank line is not an entry


def test_an_empty_journal_has_nothing_to_roll_back(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    assert read_journal(path).records == []


def test_entries_without_the_created_marker_are_read_as_unknown(tmp_path):
    contents = read_journal(write(tmp_path, entry(), entry(record="recBBBBBBBBBBBBBB", created=None)))
    assert [r.created for r in contents.records] == [None, None]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"service": "airtable", "table": "Work Items"', "line 2: not valid JSON"),
        ("not json at all}", "line 2: not valid JSON"),
        ("[1, 2]", "line 2: expected a JSON object, got list"),
        (json.dumps({"service": "airtable", "table": "T", "record": "r"}), "line 2: missing field, before, after"),
        (entry(record=""), "line 2: record must be a non-empty string, got ''"),
        (entry(field=3), "line 2: field must be a non-empty string, got 3"),
        (entry(run_id=7), "line 2: run_id must be a string or null, got 7"),
        (entry(created="yes"), "line 2: created must be true, false or null, got 'yes'"),
    ],
)
def test_a_malformed_line_is_named_by_file_and_line(tmp_path, line, problem):
    path = write(tmp_path, entry(), line, entry(after="y"))
    with pytest.raises(JournalError) as caught:
        read_journal(path)
    error = caught.value
    assert isinstance(error, UserError) and error.exit_code == EXIT_BAD_INPUT
    assert str(path) in str(error) and "nothing was rolled back" in str(error)
    assert len(error.problems) == 1 and error.problems[0].startswith(f"{path} {problem}")


def test_a_line_cut_off_when_the_run_stopped_says_so(tmp_path):
    path = write(tmp_path, entry(), entry()[:40])
    with pytest.raises(JournalError) as caught:
        read_journal(path)
    assert "line 2: not valid JSON" in caught.value.render() and "cut off" in caught.value.render()


def test_every_malformed_line_is_listed_at_once(tmp_path):
    path = write(tmp_path, "{", entry(), "[]", "3")
    with pytest.raises(JournalError) as caught:
        read_journal(path)
    assert [p.split(":")[0] for p in caught.value.problems] == [f"{path} line {n}" for n in (1, 3, 4)]
    assert str(caught.value).startswith("JOURNAL_FILE: 3 lines are not journal entries")


def test_parse_journal_text_returns_entries_and_problems():
    entries, problems = parse_journal_text(entry() + "\n\n" + "{oops\n")
    assert len(entries) == 1 and entries[0].line == 1
    assert problems and problems[0].startswith("line 3: not valid JSON")


def test_a_missing_or_unreadable_journal_is_bad_input(tmp_path):
    with pytest.raises(JournalError, match="JOURNAL_FILE: no such file"):
        read_journal(tmp_path / "nope.jsonl")
    with pytest.raises(JournalError, match="is a folder"):
        read_journal(tmp_path)
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(JournalError, match="cannot be read"):
        read_journal(binary)


def test_a_fifo_a_device_and_a_huge_file_are_refused_without_reading(tmp_path, monkeypatch):
    fifo = tmp_path / "journal.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(JournalError, match=r"JOURNAL_FILE: '.*journal.jsonl' is a FIFO \(named pipe\), not a regular"):
        read_journal(fifo)  # opening a FIFO to read it waits for a writer: it must not even wait
    with pytest.raises(JournalError, match=r"JOURNAL_FILE: '/dev/zero' is a character device, not a regular file"):
        read_journal(Path("/dev/zero"))
    monkeypatch.setattr(journal_reader, "MAX_JOURNAL_BYTES", 1024)
    big = tmp_path / "big.jsonl"
    big.write_text(entry() * 20)
    with pytest.raises(JournalError, match=r"is larger than 1024 bytes"):
        read_journal(big)
