"""How a journal entry is kept in the Airtable change journal (AIRTABLE_JOURNAL_TABLE): one record per field
written, values as text people can read and the rollback can read back exactly.

Values (`before`, `after`): empty cell for None; text as is, unless it would read back as something else (a
text such as `true`, `12` or `[1]` is kept in JSON quotes); anything else (numbers, booleans, lists, a webhook
payload) as JSON. So `Planned` reads `Planned`, `["rec…"]` reads `["rec…"]`, and reading a cell back gives
the value written. A value longer than `CELL_LIMIT` characters is cut, and says so at its end: the rollback then
leaves that record alone (the journal file has the whole value).

The entry key, `<run> #<n> <digest>`, is what entries are upserted on: the digest of the entry's content makes a
replayed request write the same record again instead of a second one, and `<n>` (the entry's place in the run,
zero-padded) keeps the run's order among entries of the same second.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from pipe.sinks.journal import JournalEntry

# Airtable's long text holds 100,000 characters (its support pages; not in the API reference): the reading chosen.
CELL_LIMIT = 100_000
CUT_NOTE = "\n… [cut by airtable-coda-sync: {total} characters in all; the journal file holds the whole value]"
_CUT = re.compile(r"\n… \[cut by airtable-coda-sync: \d+ characters in all; the journal file holds the whole value\]$")


def to_cell(value: Any, limit: int = CELL_LIMIT) -> str | None:
    """The text kept for a value (None: an empty cell)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False) if _reads_as_json(value) else value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    if len(text) <= limit:
        return text
    note = CUT_NOTE.format(total=len(text))
    return text[: limit - len(note)] + note


def from_cell(text: Any) -> tuple[Any, bool]:
    """(the value, whether it was cut) for a cell read back; an empty cell is None."""
    if text is None or text == "":
        return None, False
    if not isinstance(text, str):
        return text, False
    if _CUT.search(text):
        return text, True
    try:
        return json.loads(text), False
    except ValueError:
        return text, False


def _reads_as_json(text: str) -> bool:
    if not text:
        return True  # "" is kept as "" (an empty cell would read back as None)
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def entry_key(entry: JournalEntry, number: int) -> str:
    """`build #12 #00003 9f2c4e1a7b`: the run, the entry's place in it, a digest of what it says."""
    content = [entry.service, entry.table, entry.record, entry.field, entry.before, entry.after, entry.time]
    digest = hashlib.sha256(json.dumps(content, default=str, sort_keys=True).encode("utf-8")).hexdigest()[:10]
    return f"{entry.run_id or 'no run id'} #{number:05d} {digest}"


def change_of(entry: JournalEntry) -> str | None:
    """`created`, `updated`, or None when the write does not say."""
    if entry.created is None:
        return None
    return "created" if entry.created else "updated"


def created_of(change: Any) -> bool | None:
    if change == "created":
        return True
    if change == "updated":
        return False
    return None
