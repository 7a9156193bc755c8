"""Roll back the CHANGELOG section a run wrote, in the rollback step's clone: a change ready to commit, never pushed.

The journal holds the version's section as the run wrote it (`after`) and the section it replaced (`before`,
None when the run added it; journals of older runs hold the whole file there, and its section is taken from
it). In the clone's file, the version's section:

| holds                      | the rollback                                                         |
|----------------------------|----------------------------------------------------------------------|
| what the run wrote         | puts back the section it replaced, or removes it (`restore`)         |
| what it replaced, or none  | nothing (`already`)                                                  |
| anything else              | nothing, reported (`changed_since`: edited by a person or a later run) |

Written like the sync writes it (pipe.files: atomic, through no link, never in .git/); a file left empty (the
run had created it) is removed. The pipe never commits or pushes: the log says how to.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipe.files import FileRefused, check_output, read_clone_file, write_file
from pipe.recovery.journal_reader import RecordHistory
from pipe.recovery.plan import FieldAction, FieldRollback, RecordAction, RecordRollback
from pipe.sinks.changelog_file import ChangelogPathError, changelog_path, section_of, updated_changelog
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.rollback")

KIND = "file"
VARIABLE = "CHANGELOG_FILE"
MAX_CHANGELOG_BYTES = 16 * 1024 * 1024


def without_section(text: str, version: str) -> str:
    """The changelog without `version`'s section: the inverse of adding it (pipe.sinks.changelog_file)."""
    section = section_of(text, version)
    if section is None:
        return text
    start = text.index(section)
    rest = text[:start] + text[start + len(section) :]
    if start + len(section) == len(text):  # it was the last section: no blank lines left at the end
        rest = rest.rstrip("\n") + ("\n" if rest.strip() else "")
    return rest


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").strip() == (b or "").strip()


@dataclass
class ChangelogRestorer:
    root: Path  # the rollback step's clone
    texts: dict[tuple[str, str], str] = field(default_factory=dict)  # the file's new text, by (file, version)

    kind = KIND

    def read(self, histories: Sequence[RecordHistory]) -> None:
        """Nothing to read ahead: each file is read while planning (reads only)."""

    def plan(self, history: RecordHistory) -> RecordRollback:
        record = RecordRollback(
            history.service, history.table, history.record, RecordAction.ROLL_BACK, [], run_ids=history.run_ids
        )
        written = history.fields.get("section")
        if written is None:
            record.action = RecordAction.NOT_SUPPORTED
            record.reason = f"the pipe writes only release sections to files; {', '.join(history.fields)} unknown"
            return record
        version, display = history.record, history.table
        try:
            path = changelog_path(self.root, display)
            text = self._read(path)
        except (ChangelogPathError, FileRefused, OSError, UnicodeDecodeError) as exc:
            record.action = RecordAction.NOT_SUPPORTED
            record.reason = f"{display} cannot be rolled back in this clone: {exc}"
            return record
        wrote = _section(written.after, version)
        wanted = _section(written.before, version)
        current = section_of(text, version)
        f = FieldRollback("section", wanted, wrote, current, writes=written.writes)
        record.fields.append(f)
        if _same(current, wanted):
            f.action = FieldAction.ALREADY
            f.note = f"the section of {version} is as before the run" if wanted else f"{version} is not in the file"
        elif _same(current, wrote):
            f.action = FieldAction.RESTORE
            new = without_section(text, version) if wanted is None else updated_changelog(text, version, wanted)
            self.texts[(display, version)] = new
            f.note = f"the section of {version} -> " + ("removed" if wanted is None else "the one the run replaced")
        else:
            f.action = FieldAction.CHANGED_SINCE
            f.note = f"the section of {version} was edited since the run; left alone"
        return record

    def _read(self, path: Path) -> str:
        if not path.exists() and not path.is_symlink():
            return ""
        data = read_clone_file(path, self.root, VARIABLE, limit=MAX_CHANGELOG_BYTES, shown=str(path))
        return data.decode("utf-8")

    def apply(self, records: Sequence[RecordRollback], journal: Journal) -> None:
        root = self.root.resolve()
        for record in records:
            text = self.texts.get((record.table, record.record))
            if text is None:
                continue
            relative = Path(record.table)
            try:
                if text.strip():
                    write_file(relative, text, root, VARIABLE)
                else:  # the run made the file: it goes (unlink never follows a link)
                    check_output(relative, root, VARIABLE)
                    (root / relative).unlink(missing_ok=True)
            except (OSError, FileRefused) as exc:
                record.error = f"{VARIABLE}: {exc}"
                continue
            record.written = True
            f = record.fields[0]
            journal.record("file", record.table, record.record, {"section": (f.current, f.before)}, created=False)
            log.info(
                "%s: the section of %s is rolled back in the clone, not committed: commit and push it, e.g. "
                "git commit -m 'Roll back the %s release notes' -- %s && git push",
                record.table,
                record.record,
                record.record,
                record.table,
            )


def _section(value: object, version: str) -> str | None:
    """The version's section in a journaled value (a section, or a whole file from older journals)."""
    if not isinstance(value, str) or not value.strip():
        return None
    return section_of(value, version) or value
