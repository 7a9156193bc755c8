"""What a rollback will do, as plain data: per record, the fields to restore, the fields left alone
because a person (or a later run) changed them since, and the records that are only reported.

A field is restored only while it still holds what the journal says the run wrote (`after`); it
then gets back what it held before the run (`before`). A field that already holds `before` needs
nothing, so rolling back twice writes nothing the second time.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pipe.recovery.journal_reader import JournalContents, RecordHistory

AIRTABLE_RECORD_ID = re.compile(r"rec[A-Za-z0-9]{14}")
# A record whose journal does not say whether the run created it (journals written before the marker)
# counts as created when every journaled `before` is empty and Airtable created it at most this long
# before the run journaled its first write. A wrong guess only leaves a record as it is.
CREATED_WINDOW = timedelta(minutes=2)

NOT_SUPPORTED = {
    "file": (
        "files are not rolled back: the run changed {table} in its own clone of the repository; "
        "if that change was committed, revert the commit"
    ),
    "coda": (
        "Coda is not rolled back: Coda applies writes asynchronously and page content can only be "
        "appended; remove the rows or the page section of this release in Coda by hand"
    ),
    "coda automation": (
        "a triggered Coda automation cannot be taken back: undo by hand what the rule did in Coda, if anything"
    ),
}
CUT = (
    "the change journal in Airtable holds only the start of a value written here, so it is left alone: roll it "
    "back from the run's journal file (JOURNAL_FILE), which holds the whole value"
)

# What rolls back a kind of journaled target other than Airtable records (pipe.recovery.coda_rows, .coda_page,
# .changelog): a function from what the journal says about one row, page section or file to its plan.
Planner = Callable[[RecordHistory], "RecordRollback"]


def journal_kind(service: str, table: str) -> str:
    """`airtable`, `coda rows`, `coda page`, `coda automation`, `file` (or another service's name)."""
    if service == "coda":
        if table.startswith("page "):
            return "coda page"
        if table.startswith("automation "):
            return "coda automation"
        return "coda rows"
    return service


class FieldAction(enum.StrEnum):
    RESTORE = "restore"  # holds what the run wrote: write `before`
    ALREADY = "already"  # holds `before` already: nothing to write
    CHANGED_SINCE = "changed_since"  # holds something else: left alone and reported
    UNKNOWN = "unknown"  # current value not read (dry run without a token)


class RecordAction(enum.StrEnum):
    ROLL_BACK = "roll_back"
    DELETE = "delete"  # created by the run and unchanged since: deleted (Coda rows)
    CREATED = "created"  # created by the run: reported, never deleted or blanked
    MISSING = "missing"  # no longer in the table
    NOT_SUPPORTED = "not_supported"  # another service, or no usable record ID


@dataclass
class FieldRollback:
    field: str
    before: Any  # what the field held before the run: the value restored
    after: Any  # what the run wrote
    current: Any = None  # what it holds now (None when not read)
    action: FieldAction = FieldAction.UNKNOWN
    writes: int = 1  # how many journaled writes this sums up
    note: str | None = None  # what the log shows instead of the values (a page or file section)

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "current": self.current,
            "action": self.action.value,
            "writes": self.writes,
        }


@dataclass
class RecordRollback:
    service: str
    table: str
    record: str
    action: RecordAction
    fields: list[FieldRollback] = field(default_factory=list)
    reason: str | None = None  # why the record is only reported
    run_ids: list[str] = field(default_factory=list)
    written: bool = False
    error: str | None = None
    pending: bool = False  # written to Coda, not confirmed applied when polling stopped

    @property
    def kind(self) -> str:
        return journal_kind(self.service, self.table)

    @property
    def deletes(self) -> bool:
        """Created by the run, read, and found unchanged: to be deleted (Coda rows)."""
        return self.action is RecordAction.DELETE and all(f.action is not FieldAction.UNKNOWN for f in self.fields)

    @property
    def to_restore(self) -> list[FieldRollback]:
        return self.fields_with(FieldAction.RESTORE)

    def fields_with(self, action: FieldAction) -> list[FieldRollback]:
        return [f for f in self.fields if f.action is action] if self.action is RecordAction.ROLL_BACK else []

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "table": self.table,
            "record": self.record,
            "action": self.action.value,
            "reason": self.reason,
            "run_ids": list(self.run_ids),
            "fields": {f.field: f.as_dict() for f in self.fields},
            "written": self.written,
            "error": self.error,
            "pending": self.pending,
        }


@dataclass
class RollbackPlan:
    journal: str
    entries: int
    run_ids: list[str]
    records: list[RecordRollback]
    known: bool  # current values were read from Airtable
    dry_run: bool = False

    @property
    def to_write(self) -> list[RecordRollback]:
        return [r for r in self.records if r.to_restore or r.deletes]

    def of_kind(self, kind: str) -> list[RecordRollback]:
        """What is to be written to one kind of target (`airtable`, `coda rows`...)."""
        return [r for r in self.to_write if r.kind == kind]

    def counts(self) -> dict[str, int]:
        rolled = [r for r in self.records if r.action in (RecordAction.ROLL_BACK, RecordAction.DELETE)]
        deleting = [r for r in self.records if r.action is RecordAction.DELETE]
        return {
            "records": len(self.records),
            "fields_to_restore": sum(len(r.to_restore) for r in rolled),
            "fields_restored": sum(len(r.to_restore) for r in rolled if r.written),
            "fields_changed_since": sum(len(r.fields_with(FieldAction.CHANGED_SINCE)) for r in rolled),
            "fields_already_restored": sum(len(r.fields_with(FieldAction.ALREADY)) for r in rolled),
            "fields_not_read": sum(len(r.fields_with(FieldAction.UNKNOWN)) for r in rolled),
            "records_failed": sum(1 for r in rolled if r.error),
            "records_to_delete": len(deleting),
            "records_deleted": sum(1 for r in deleting if r.written),
            "records_created_by_the_run": sum(1 for r in self.records if r.action is RecordAction.CREATED),
            "records_missing": sum(1 for r in self.records if r.action is RecordAction.MISSING),
            "records_not_supported": sum(1 for r in self.records if r.action is RecordAction.NOT_SUPPORTED),
        }

    @property
    def failed(self) -> bool:
        return any(r.error for r in self.records)


def plan_rollback(
    contents: JournalContents,
    current: Mapping[tuple[str, str], Mapping[str, Any] | None] | None,
    *,
    dry_run: bool = False,
    planners: Mapping[str, Planner] | None = None,
) -> RollbackPlan:
    """`current` maps (table, record ID) to the record as Airtable gives it (`fields`, `createdTime`),
    or None when it is not in the table; `current=None` means nothing could be read. `planners` plan the
    other kinds of targets (`journal_kind`); without one, a kind is only reported."""
    records = [_plan_record(history, current, planners or {}) for history in contents.records]
    return RollbackPlan(
        journal=contents.where,
        entries=len(contents.lines),
        run_ids=contents.run_ids,
        records=records,
        known=current is not None,
        dry_run=dry_run,
    )


def _plan_record(
    history: RecordHistory,
    current: Mapping[tuple[str, str], Mapping[str, Any] | None] | None,
    planners: Mapping[str, Planner],
) -> RecordRollback:
    fields = [FieldRollback(h.field, h.before, h.after, writes=h.writes) for h in history.fields.values()]
    plan = RecordRollback(
        history.service, history.table, history.record, RecordAction.ROLL_BACK, fields, run_ids=list(history.run_ids)
    )
    if any(h.cut for h in history.fields.values()):
        plan.action, plan.reason = RecordAction.NOT_SUPPORTED, CUT
        return plan
    if history.service != "airtable":
        kind = journal_kind(history.service, history.table)
        planner = planners.get(kind)
        if planner is not None:
            return planner(history)
        template = NOT_SUPPORTED.get(kind) or NOT_SUPPORTED.get(
            history.service, "the pipe does not roll back writes to {service}"
        )
        plan.action = RecordAction.NOT_SUPPORTED
        plan.reason = template.format(table=history.table, service=history.service)
        return plan
    if not AIRTABLE_RECORD_ID.fullmatch(history.record):
        plan.action = RecordAction.NOT_SUPPORTED
        plan.reason = f"the journal gives no record ID ({history.record!r}); find the record by hand"
        return plan
    if history.created:
        plan.action = RecordAction.CREATED
        plan.reason = _created_reason(history.table)
        return plan
    if current is None:
        return plan  # fields stay UNKNOWN: what would be restored if nobody changed them
    state = current.get((history.table, history.record))
    if state is None:
        plan.action = RecordAction.MISSING
        plan.reason = "the record is no longer in the table (deleted, or AIRTABLE_BASE_ID names another base)"
        return plan
    if history.created is None and looks_created(history, state):
        plan.action = RecordAction.CREATED
        plan.reason = _created_reason(history.table) + " (judged from its creation time)"
        return plan
    values = state.get("fields") or {}
    for f in fields:
        f.current = values.get(f.field)
        if same_value(f.current, f.before):
            f.action = FieldAction.ALREADY
        elif same_value(f.current, f.after):
            f.action = FieldAction.RESTORE
        else:
            f.action = FieldAction.CHANGED_SINCE
    return plan


def _created_reason(table: str) -> str:
    return (
        f"left in place, never deleted (people may have linked or edited it since); "
        f"delete it by hand in {table!r} if it should go"
    )


def looks_created(history: RecordHistory, state: Mapping[str, Any]) -> bool:
    """For journals without the `created` marker: every before empty and the record made by the run."""
    if any(not _blank(f.before) for f in history.fields.values()):
        return False
    created, first = _instant(state.get("createdTime")), _instant(history.first_time)
    if created is None or first is None:
        return False
    return created >= first - CREATED_WINDOW


def same_value(a: Any, b: Any) -> bool:
    """Equal as Airtable stores them: empty cells (None, '', [], false) are alike, text is compared
    without surrounding whitespace, timestamps as instants, integral floats as ints."""
    if _blank(a) and _blank(b):
        return True
    if isinstance(a, str) and isinstance(b, str):
        if a.strip() == b.strip():
            return True
        ta, tb = _instant(a), _instant(b)
        return ta is not None and tb is not None and ta == tb
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


def _blank(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | dict) and not value


def _instant(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a time zone, else None (dates, versions and other text)."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
