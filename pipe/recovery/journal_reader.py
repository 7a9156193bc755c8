"""Read a journal (pipe.sinks.journal): one JSON object per line, one line per field written.

Every malformed line is listed at once, by file and line, and nothing is returned: a rollback never
starts from half a journal. Entries are grouped per service, table and record; when a field was
written several times, the earliest `before` (what it held before the first write) and the latest
`after` (what the last write left) count.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipe.errors import UserError
from pipe.files import FileRefused, read_regular_file
from pipe.sinks.journal import JournalEntry

REQUIRED_TEXT = ("service", "table", "record", "field")
REQUIRED_ANY = ("before", "after")
MAX_LISTED_PROBLEMS = 20
# One line per field written: a run that writes 10,000 records of 10 fields journals about 30 MB.
MAX_JOURNAL_BYTES = 64 * 1024 * 1024


class JournalError(UserError):
    """The journal file is missing, unreadable or has malformed lines: nothing was written."""


@dataclass(frozen=True)
class JournalLine(JournalEntry):
    """One journaled write of one field (`created` None: journals written before the marker existed), with the
    line it was read from (1-based)."""

    line: int = 0
    cut: bool = False  # a value was cut to fit a cell of the change journal in Airtable


@dataclass
class FieldHistory:
    field: str
    before: Any  # before the first write in the journal
    after: Any  # after the last write in the journal
    writes: int = 1
    lines: list[int] = dataclasses.field(default_factory=list)
    cut: bool = False  # the journal holds only the start of a value (pipe.sinks.journal_cells)


@dataclass
class RecordHistory:
    """Everything the journal says about one record (or row, page, file)."""

    service: str
    table: str
    record: str
    fields: dict[str, FieldHistory] = dataclasses.field(default_factory=dict)
    created: bool | None = None  # from the record's first entry
    first_time: str | None = None
    run_ids: list[str] = dataclasses.field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, str]:
        return self.service, self.table, self.record


@dataclass
class JournalContents:
    path: Path | None  # None: read from the change journal in Airtable (`source` says where)
    lines: list[JournalLine]
    records: list[RecordHistory]  # in order of first appearance
    source: str | None = None

    @property
    def where(self) -> str:
        return self.source or str(self.path)

    @property
    def run_ids(self) -> list[str]:
        return list(dict.fromkeys(e.run_id for e in self.lines if e.run_id))


def read_journal(path: Path) -> JournalContents:
    """Parse and group a journal file. Raises JournalError naming the file and every bad line, and for
    anything that is not a regular file of at most MAX_JOURNAL_BYTES (a FIFO is refused without waiting
    for a writer, `/dev/zero` without reading it)."""
    try:
        text = read_regular_file(path, "JOURNAL_FILE", limit=MAX_JOURNAL_BYTES).decode("utf-8")
    except FileRefused as exc:
        raise JournalError(f"{exc}; expected the journal file of a run") from None
    except FileNotFoundError:
        raise JournalError(
            f"JOURNAL_FILE: no such file {str(path)!r}. A run writes its journal beside its report "
            "(<report name>.journal.jsonl), and only when it wrote something."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JournalError(f"JOURNAL_FILE: {str(path)!r} cannot be read ({exc})") from None
    lines, problems = parse_journal_text(text)
    if problems:
        shown = [f"{path} {p}" for p in problems[:MAX_LISTED_PROBLEMS]]
        if len(problems) > MAX_LISTED_PROBLEMS:
            shown.append(f"... and {len(problems) - MAX_LISTED_PROBLEMS} more")
        noun = "line is" if len(problems) == 1 else "lines are"
        raise JournalError(
            f"JOURNAL_FILE: {len(problems)} {noun} not journal entries in {path}; nothing was rolled back. "
            "Each line must be one JSON object with service, table, record, field, before and after.",
            shown,
        )
    return JournalContents(path=path, lines=lines, records=group_entries(lines))


def parse_journal_text(text: str) -> tuple[list[JournalLine], list[str]]:
    """Entries and problems (`line N: ...`); blank lines are ignored."""
    entries: list[JournalLine] = []
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        entry, problem = parse_line(raw, number)
        if problem:
            problems.append(f"line {number}: {problem}")
        elif entry is not None:
            entries.append(entry)
    return entries, problems


def parse_line(raw: str, number: int) -> tuple[JournalLine | None, str | None]:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        cut = "; the line looks cut off (did the run stop while writing it?)" if not raw.rstrip().endswith("}") else ""
        return None, f"not valid JSON ({exc.msg} at column {exc.colno}){cut}"
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    missing = [k for k in (*REQUIRED_TEXT, *REQUIRED_ANY) if k not in data]
    if missing:
        return None, f"missing {', '.join(missing)}"
    for key in REQUIRED_TEXT:
        if not isinstance(data[key], str) or not data[key].strip():
            return None, f"{key} must be a non-empty string, got {data[key]!r}"
    for key in ("run_id", "time"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return None, f"{key} must be a string or null, got {data[key]!r}"
    created = data.get("created")
    if created is not None and not isinstance(created, bool):
        return None, f"created must be true, false or null, got {created!r}"
    entry = JournalLine(
        line=number,
        service=data["service"],
        table=data["table"],
        record=data["record"],
        field=data["field"],
        before=data["before"],
        after=data["after"],
        run_id=data.get("run_id"),
        time=data.get("time") or "",  # journals may lack it: then no creation time is compared
        created=created,
        unconfirmed=data.get("unconfirmed") is True,
    )
    return entry, None


def group_entries(entries: list[JournalLine]) -> list[RecordHistory]:
    """Per service, table and record, in file order: earliest before, latest after per field."""
    records: dict[tuple[str, str, str], RecordHistory] = {}
    for entry in entries:
        key = (entry.service, entry.table, entry.record)
        history = records.get(key)
        if history is None:
            history = RecordHistory(*key, created=entry.created, first_time=entry.time)
            records[key] = history
        if entry.run_id and entry.run_id not in history.run_ids:
            history.run_ids.append(entry.run_id)
        written = history.fields.get(entry.field)
        if written is None:
            history.fields[entry.field] = FieldHistory(
                entry.field, entry.before, entry.after, lines=[entry.line], cut=entry.cut
            )
        else:
            written.after = entry.after
            written.writes += 1
            written.lines.append(entry.line)
            written.cut = written.cut or entry.cut
    return list(records.values())
