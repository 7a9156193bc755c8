"""A journal of every write: service, table, record, field, before, after, run id, time.

Lines are appended as JSON (one object per field written) and flushed as they happen, so a run
that dies half way still leaves an exact trail of what it changed. `created` says whether the write
created the record (true), updated an existing one (false), or the sink cannot tell (null); a
rollback (pipe.recovery) never blanks a record the run created. A write sent without an answer saying
whether it was carried out (the connection dropped, or the service kept failing, after an attempt that may
have been applied) is journaled with `"unconfirmed": true`: a rollback covers it either way (a field that
still holds its `before` needs nothing).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pipe.files import open_for_append


@dataclass(frozen=True)
class JournalEntry:
    service: str
    table: str
    record: str
    field: str
    before: Any
    after: Any
    run_id: str | None
    time: str | None
    created: bool | None = None
    unconfirmed: bool = False  # sent, but no answer said whether the service carried it out


def journal_path(report_path: Path | None) -> Path | None:
    """A run's journal lies beside its report: `<report name>.journal.jsonl` (none without a report)."""
    if report_path is None:
        return None
    return report_path.with_name(report_path.stem + ".journal.jsonl")


class Journal:
    """`path` None: kept in memory only. `root`: the folder the journal file is written within, through no link
    (pipe.files); default the file's own folder."""

    def __init__(self, path: Path | None, run_id: str | None, root: Path | None = None, variable: str = "REPORT_FILE"):
        self.path = path
        self.run_id = run_id
        self.root = root if root is not None else (path.parent if path is not None else None)
        self.variable = variable
        self.entries: list[JournalEntry] = []
        self._file: TextIO | None = None

    def record(
        self,
        service: str,
        table: str,
        record: str,
        changes: dict[str, tuple[Any, Any]],
        *,
        created: bool | None = None,
        unconfirmed: bool = False,
    ) -> None:
        now = datetime.now(tz=UTC).isoformat(timespec="milliseconds")  # orders the runs of one pipeline
        for field, (before, after) in changes.items():
            entry = JournalEntry(service, table, record, field, before, after, self.run_id, now, created, unconfirmed)
            self.entries.append(entry)
            self._write(entry)

    def _write(self, entry: JournalEntry) -> None:
        if self.path is None:
            return
        if self._file is None:
            assert self.root is not None
            self._file = open_for_append(self.path, self.root, self.variable, create_parents=True)
        data = asdict(entry)
        if not entry.unconfirmed:
            del data["unconfirmed"]  # only unconfirmed writes carry the key
        file = self._file
        file.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
        file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
