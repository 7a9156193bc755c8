"""Apply changelog rows to a Coda table: read the release's rows, upsert only what differs, journal, confirm.

- Columns are resolved once (names or IDs from `CodaColumns` -> column IDs); a mapped column that does
  not exist, is ambiguous or is a formula column stops the run before anything is written.
- Reads only the rows of the releases being written (one `query` filter on the release column), with
  `X-Coda-Doc-Version: latest`, so a re-run right after a run sees the rows that run wrote and sends nothing
  (a plain read serves a snapshot that may not hold them yet). Coda refuses such a read while the doc has
  writes pending (runs at the same time write to it); it is retried every `fresh_read_interval` seconds for
  up to `fresh_read_timeout` (never past the run's TIME_BUDGET), then the snapshot is read instead: the
  upserts are keyed, so a row written again from a stale read is still one row.
- A row whose cells all equal the table's is `unchanged` and not sent, so re-running a release sends no
  write at all. A changed row sends its key cells and the changed cells only; a new row sends every cell.
- Rows are upserted on (release, entry key), in requests under Coda's 2 MB body limit. A row edit over
  the 85 KB row limit is `failed` and never sent (Coda would refuse the whole batch with it). A batch Coda
  refuses with a 400 is retried row by row, so one bad row does not stop the others.
- Select columns with a fixed option list: a value that is not an option is left out of the row (and
  out of the comparison), with a message saying which option to add; the rest of the row is written.
- Every accepted write (202) is journaled; a batch that failed without an answer saying whether Coda took
  it (dropped connection, 429 or 5xx after the retries) is journaled as unconfirmed. Mutations are then
  polled up to `MutationPolling.timeout`; those Coda has not completed by then are reported as queued, not
  confirmed (not as failures).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pipe.clients.coda import (
    MAX_ROW_BYTES,
    CodaClient,
    CodaColumn,
    CodaConfigError,
    CodaError,
    CodaRow,
    CodaStaleRead,
    CodaTable,
    MutationPolling,
    batch_rows,
    row_edit_size,
)
from pipe.clients.http import BudgetExceeded
from pipe.config.file import CodaColumns
from pipe.model import Status, TargetResult
from pipe.plan.changelog import KEY_COLUMNS, ChangelogRow
from pipe.plan.release import ReleasePlan
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.coda")

RowStatus = Literal["written", "unchanged", "failed", "skipped"]


@dataclass(frozen=True)
class CellChange:
    column: str  # logical column name (CodaColumns field)
    coda_column: str  # the Coda column's name
    before: Any  # None for a new row
    after: Any


@dataclass
class RowOutcome:
    release: str
    entry_key: str
    status: RowStatus
    changes: list[CellChange] = field(default_factory=list)
    message: str | None = None
    request_id: str | None = None
    confirmed: bool | None = None  # written rows: Coda completed the write within the polling bound

    @property
    def key(self) -> str:
        return f"{self.release}/{self.entry_key}"

    def note(self, text: str) -> None:
        self.message = f"{self.message}; {text}" if self.message else text


@dataclass(frozen=True)
class MutationOutcome:
    request_id: str
    rows: tuple[str, ...]  # row keys the request wrote
    confirmed: bool  # False: queued, not confirmed when polling stopped
    warning: str | None = None


@dataclass
class CodaRowsOutcome:
    table: str
    rows: list[RowOutcome] = field(default_factory=list)
    mutations: list[MutationOutcome] = field(default_factory=list)
    dry_run: bool = False

    def with_status(self, status: RowStatus) -> list[RowOutcome]:
        return [r for r in self.rows if r.status == status]

    @property
    def written(self) -> list[RowOutcome]:
        return self.with_status("written")

    @property
    def unchanged(self) -> list[RowOutcome]:
        return self.with_status("unchanged")

    @property
    def failed(self) -> list[RowOutcome]:
        return self.with_status("failed")

    @property
    def skipped(self) -> list[RowOutcome]:
        return self.with_status("skipped")

    @property
    def pending(self) -> list[MutationOutcome]:
        """Writes Coda accepted but had not completed when polling stopped."""
        return [m for m in self.mutations if not m.confirmed]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def detail(self) -> str:
        """One line for the log and the report, e.g. `2 written (1 queued, not confirmed), 8 unchanged`."""
        parts = []
        for status in ("written", "unchanged", "failed", "skipped"):
            rows = self.with_status(status)
            if rows:
                part = f"{len(rows)} {status}"
                unconfirmed = sum(1 for r in rows if r.confirmed is False)
                if unconfirmed:
                    part += f" ({unconfirmed} queued, not confirmed)"
                parts.append(part)
        if not parts:
            return "no rows"
        return ", ".join(parts) + (" (dry run)" if self.dry_run else "") + self._reasons()

    def _reasons(self, shown: int = 3) -> str:
        """Why rows failed, and what was left out of written ones (e.g. a missing select option), so the log
        says what to fix: `; 1.4.0/abc…: the row is 88 KB, over Coda's 85 KB limit…`."""
        reasons: dict[str, None] = {}
        for row in self.failed:
            reasons.setdefault(f"{row.key}: {row.message or 'not written'}")
        for row in self.rows:
            for note in (row.message or "").split("; ") if row.status != "failed" else ():
                if note and not note.startswith(_ROUTINE_NOTES):
                    reasons.setdefault(note)
        if not reasons:
            return ""
        listed = list(reasons)
        more = f" (and {len(listed) - shown} more in the report)" if len(listed) > shown else ""
        return "; " + "; ".join(listed[:shown]) + more


# Row notes the counts already say (queued writes, dry runs); not repeated as reasons.
_ROUTINE_NOTES = ("queued in Coda, not confirmed yet", "dry run:")


@dataclass
class _Write:
    outcome: RowOutcome
    cells: list[tuple[str, Any]]  # (column ID, value) sent
    journal: dict[str, tuple[Any, Any]]  # Coda column name -> (before, after)
    created: bool = False  # no row of the table had the key: the upsert adds one


@dataclass
class PreparedRows:
    """What `CodaRowSink.prepare` read and worked out; `write` sends it."""

    table: CodaTable | None  # None: no rows to write
    mapping: dict[str, CodaColumn]
    outcome: CodaRowsOutcome
    writes: list[_Write]

    @property
    def changes(self) -> bool:
        return bool(self.writes)

    def preview(self) -> CodaRowsOutcome:
        """The outcome of a dry run: the rows to write are `skipped`, with the cells that would change."""
        for write in self.writes:
            write.outcome.status = "skipped"
            write.outcome.note(f"dry run: {len(write.outcome.changes)} cell(s) not written")
        self.outcome.dry_run = True
        return self.outcome


class CodaRowSink:
    def __init__(
        self,
        client: CodaClient,
        table: str,
        columns: CodaColumns,
        journal: Journal,
        *,
        polling: MutationPolling | None = None,
        probe: bool = True,
        fresh_read_timeout: float = 60.0,
        fresh_read_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self.client = client
        self.table = table
        self.columns = columns
        self.journal = journal
        self.polling = polling or MutationPolling()
        self.probe = probe  # prove write access with a zero-row upsert before the run's first write
        self.fresh_read_timeout = fresh_read_timeout
        self.fresh_read_interval = fresh_read_interval
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # spreads the reads of runs waiting for the same doc

    def apply(self, rows: Sequence[ChangelogRow], *, dry_run: bool = False) -> CodaRowsOutcome:
        """Read, then (unless a dry run) write: `prepare` and `write` in one call."""
        prepared = self.prepare(rows)
        if dry_run:
            return prepared.preview()
        return self.write(prepared)

    def prepare(self, rows: Sequence[ChangelogRow]) -> PreparedRows:
        """Read the columns and the releases' rows; work out the cells to write. Reads only; a table or column
        problem raises CodaConfigError (nothing written)."""
        if not rows:
            return PreparedRows(None, {}, CodaRowsOutcome(table=self.table), [])
        table = self.client.table(self.table)
        if table.table_type == "view":
            raise CodaConfigError(
                f"CODA_TABLE: {table.name!r} ({table.id}) is a view; Coda upserts rows only into base tables. "
                "Give the name or ID of the table the view shows."
            )
        mapping = self._resolve_columns(table)
        outcome = CodaRowsOutcome(table=table.name)
        writes: list[_Write] = []
        seen: set[tuple[str, str]] = set()
        by_release: dict[str, list[ChangelogRow]] = {}
        for row in rows:
            if not row.release or not row.entry_key:
                outcome.rows.append(
                    RowOutcome(row.release, row.entry_key, "skipped", message="no release or entry key to match on")
                )
            elif (row.release, row.entry_key) in seen:
                outcome.rows.append(
                    RowOutcome(row.release, row.entry_key, "skipped", message="the same entry key is listed twice")
                )
            else:
                seen.add((row.release, row.entry_key))
                by_release.setdefault(row.release, []).append(row)
        for release, group in by_release.items():
            current = self._release_rows(table, mapping["release"].id, release)
            existing: dict[str, list[CodaRow]] = {}
            for found in current:
                existing.setdefault(_text(found.values.get(mapping["entry_key"].id)), []).append(found)
            for row in group:
                result, write = self._compare(row, mapping, existing.get(row.entry_key, []))
                outcome.rows.append(result)
                if write is not None:
                    writes.append(write)
        return PreparedRows(table, mapping, outcome, writes)

    def _release_rows(self, table: CodaTable, column: str, release: str) -> list[CodaRow]:
        """The release's rows, read fresh (`latest`) while the doc's pending writes allow it, else as Coda's
        snapshot has them (see the module's docstring)."""
        start = self._clock()
        deadline = self.client.policy.deadline
        while True:
            try:
                return self.client.rows(table, where=(column, release), latest=True)
            except CodaStaleRead:
                pause = self.fresh_read_interval * self._rng.uniform(0.5, 1.5)  # runs waiting read apart
                next_read = self._clock() + pause
                if next_read - start > self.fresh_read_timeout or (deadline is not None and next_read > deadline):
                    log.info(
                        "The Coda doc kept writes pending for %.0f s; reading the rows of %s as Coda's snapshot has "
                        "them (rows it does not show yet are written again, once)",
                        self._clock() - start,
                        release,
                    )
                    return self.client.rows(table, where=(column, release))
                log.debug("the Coda doc has writes pending; reading the rows of %s again shortly", release)
                self._sleep(pause)

    def write(self, prepared: PreparedRows) -> CodaRowsOutcome:
        """Upsert the prepared rows, journal them, poll Coda until they are applied (bounded)."""
        if prepared.table is None or not prepared.writes:
            return prepared.outcome
        self._write(prepared.table, prepared.mapping, prepared.writes)
        self._confirm(prepared.outcome)
        return prepared.outcome

    # -- columns -----------------------------------------------------------------------------------

    def _resolve_columns(self, table: CodaTable) -> dict[str, CodaColumn]:
        """Logical name -> Coda column for every mapped column; every problem listed before any write."""
        columns = self.client.columns(table)
        by_id = {c.id: c for c in columns}
        by_name: dict[str, list[CodaColumn]] = {}
        for column in columns:
            by_name.setdefault(column.name, []).append(column)
        mapping: dict[str, CodaColumn] = {}
        problems: list[str] = []
        for logical, ref in self.columns.written().items():
            found = [by_id[ref]] if ref in by_id else by_name.get(ref, [])
            if not found:
                problems.append(f"coda.columns.{logical}: table {table.name!r} has no column {ref!r}")
            elif len(found) > 1:
                ids = ", ".join(c.id for c in found)
                problems.append(
                    f"coda.columns.{logical}: table {table.name!r} has {len(found)} columns named {ref!r} ({ids}); "
                    "give the column ID"
                )
            elif found[0].calculated:
                problems.append(
                    f"coda.columns.{logical}: column {ref!r} of table {table.name!r} is a formula column, which Coda "
                    "does not write"
                )
            else:
                mapping[logical] = found[0]
        if problems:
            names = ", ".join(repr(c.name) for c in columns) or "none"
            raise CodaConfigError(
                f"the Coda table {table.name!r} does not match the config file's coda.columns (nothing was written). "
                f"Its columns: {names}. Create the columns, or map them (or set them to null) in coda.columns.",
                problems,
            )
        return mapping

    # -- comparison --------------------------------------------------------------------------------

    def _compare(
        self, row: ChangelogRow, mapping: dict[str, CodaColumn], matches: list[CodaRow]
    ) -> tuple[RowOutcome, _Write | None]:
        result = RowOutcome(row.release, row.entry_key, "unchanged")
        wanted: dict[str, Any] = {}
        keys = {"release": row.release, "entry_key": row.entry_key}
        for logical, column in mapping.items():
            value = keys[logical] if logical in keys else row.cells.get(logical)
            if column.options is not None and not _blank(value) and _text(value) not in column.options:
                options = ", ".join(column.options) or "none"
                text = (
                    f"{value!r} is not an option of the select column {column.name!r} ({options}); "
                    f"the cell was left out: add the option in Coda, or set coda.columns.{logical} to null"
                )
                if logical in KEY_COLUMNS:
                    result.status = "failed"
                    result.note(text)
                    return result, None
                result.note(text)
                continue
            wanted[logical] = value
        if len(matches) > 1:
            result.note(f"{len(matches)} rows of the table have this key; Coda updates them all")
        changes: list[CellChange] = []
        for logical, value in wanted.items():
            column = mapping[logical]
            if not matches:
                changes.append(CellChange(logical, column.name, None, value))
                continue
            differing = [m for m in matches if not _same(column, value, m.values.get(column.id))]
            if differing:
                changes.append(CellChange(logical, column.name, differing[0].values.get(column.id), value))
        if not changes:
            return result, None
        result.changes = changes
        send = {k: wanted[k] for k in KEY_COLUMNS} | {c.column: c.after for c in changes}
        cells = [(mapping[logical].id, _cell_value(value)) for logical, value in send.items()]
        size = row_edit_size(cells)
        if size > MAX_ROW_BYTES:
            result.status = "failed"
            result.note(
                f"the row is {size / 1024:.0f} KB, over Coda's 85 KB limit per row, and was not sent; "
                "shorten the commit's description or leave the largest column out in coda.columns"
            )
            return result, None
        journal = {c.coda_column: (c.before, c.after) for c in changes}
        return result, _Write(result, cells, journal, created=not matches)

    # -- writing -----------------------------------------------------------------------------------

    def _write(self, table: CodaTable, mapping: dict[str, CodaColumn], writes: list[_Write]) -> None:
        keys = [mapping[k].id for k in KEY_COLUMNS]
        batches = batch_rows([w.cells for w in writes], keys)
        for number, batch in enumerate(batches):
            chunk = [writes[i] for i in batch]
            try:
                self._send(table, keys, chunk)
            except BudgetExceeded:
                for left in batches[number:]:
                    for i in left:
                        writes[i].outcome.status = "failed"
                        writes[i].outcome.note("the run's time budget ran out before this row was sent")
                return
            except CodaError as exc:
                if len(chunk) == 1 or exc.status != 400:
                    for write in chunk:
                        write.outcome.status = "failed"
                        write.outcome.note(str(exc))
                    continue
                log.warning("Coda refused a batch of %d rows (%s); writing them one by one", len(chunk), exc.detail)
                for write in chunk:
                    try:
                        self._send(table, keys, [write])
                    except CodaError as single:
                        write.outcome.status = "failed"
                        write.outcome.note(str(single))

    def _send(self, table: CodaTable, keys: list[str], chunk: list[_Write]) -> None:
        try:
            request_id = self.client.upsert_rows(table, [w.cells for w in chunk], keys)
        except (CodaError, BudgetExceeded) as exc:
            if isinstance(exc, BudgetExceeded) or _outcome_unknown(exc):
                # No answer said whether Coda queued the upsert (an attempt may have been applied and its answer
                # lost before the retries failed): journaled as unconfirmed, so the trail stays complete.
                for write in chunk:
                    self.journal.record("coda", table.name, write.outcome.key, write.journal, unconfirmed=True)
            raise
        for write in chunk:
            write.outcome.status = "written"
            write.outcome.request_id = request_id
            write.outcome.confirmed = False
            self.journal.record("coda", table.name, write.outcome.key, write.journal, created=write.created)

    def _confirm(self, outcome: CodaRowsOutcome) -> None:
        by_request: dict[str, list[RowOutcome]] = {}
        for row in outcome.written:
            if row.request_id:
                by_request.setdefault(row.request_id, []).append(row)
        if not by_request:
            return
        try:
            statuses = self.client.wait_for_mutations(list(by_request), self.polling)
        except (CodaError, BudgetExceeded) as exc:
            count = len(by_request)
            log.warning("polling Coda for %d write(s) failed (%s); they are reported as not confirmed", count, exc)
            statuses = {}
        for request_id, rows in by_request.items():
            status = statuses.get(request_id)
            confirmed = bool(status and status.completed)
            warning = status.warning if status else None
            outcome.mutations.append(MutationOutcome(request_id, tuple(r.key for r in rows), confirmed, warning))
            for row in rows:
                row.confirmed = confirmed
                if warning:
                    row.note(f"Coda completed the write with a warning: {warning}")
                elif not confirmed:
                    row.note("queued in Coda, not confirmed yet")


def _outcome_unknown(exc: CodaError) -> bool:
    """No answer, or 429/5xx after the policy's retries: an earlier attempt may have been carried out."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


def _cell_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return list(value)
    return value


def _blank(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).replace("\r\n", "\n")


def _texts(value: Any) -> list[str]:
    return [_text(x) for x in value] if isinstance(value, list | tuple) else [_text(value)]


def _same(column: CodaColumn, wanted: Any, have: Any) -> bool:
    """Whether a cell read back (`simpleWithArrays`) already holds the value the plan wants."""
    if column.type == "checkbox":
        return bool(wanted) == (have is True or _text(have).lower() == "true")
    if _blank(wanted) or _blank(have):
        return _blank(wanted) and _blank(have)
    if isinstance(wanted, list | tuple) or isinstance(have, list | tuple):
        return _texts(wanted) == _texts(have)
    if column.type == "date" and isinstance(wanted, str) and isinstance(have, str):
        return wanted[:10] == have[:10]  # Coda may answer a date as an ISO date-time in the doc's time zone
    if isinstance(wanted, int | float) and not isinstance(wanted, bool):
        try:
            return float(have) == float(wanted)
        except (TypeError, ValueError):
            return False
    return _text(wanted) == _text(have)


# -- the run's target ----------------------------------------------------------------------------------


def target(run: TargetRun) -> CodaRowsTarget | Fixed | None:
    coda, release = run.settings.coda, run.plan.release
    if not coda.doc_id or not coda.table or release is None:
        return None
    name = f"Coda table {coda.table}"
    if run.clients.coda is None:  # a dry run without a token: show what would be sent
        return Fixed(TargetResult(name, "planned", f"{len(release.rows)} rows (not read: no CODA_API_TOKEN)"))
    return CodaRowsTarget(
        CodaRowSink(run.clients.coda, coda.table, coda.columns, Journal(None, None), probe=not run.dry_run),
        release,
        name,
    )


@dataclass
class CodaRowsTarget:
    sink: CodaRowSink
    release: ReleasePlan
    name: str

    def prepare(self) -> CodaRowsChange:
        prepared = self.sink.prepare(self.release.rows)
        if prepared.changes and self.sink.probe and prepared.table is not None:
            # rows will be written: prove write access now, by upserting zero rows (nothing else written yet). A
            # refusal is a CodaConfigError (stops the run); a service failing for a while only a warning.
            try:
                self.sink.client.probe_row_write(prepared.table)
            except (CodaError, BudgetExceeded) as exc:
                log.warning("Could not prove write access to %s (%s); going on: the write will tell.", self.name, exc)
        return CodaRowsChange(self.sink, prepared, f"Coda table {prepared.outcome.table}")


@dataclass
class CodaRowsChange:
    sink: CodaRowSink
    prepared: PreparedRows
    name: str

    def preview(self) -> TargetResult:
        outcome = self.prepared.preview()
        return TargetResult(self.name, "planned" if outcome.skipped else "unchanged", outcome.detail)

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        self.sink.journal = journal
        try:
            outcome = self.sink.write(self.prepared)
        except (CodaError, CodaConfigError) as exc:
            return TargetResult(self.name, "failed", _message(exc))
        return TargetResult(self.name, rows_status(outcome), outcome.detail)


def rows_status(outcome: CodaRowsOutcome) -> Status:
    if outcome.failed:
        return "failed"
    if outcome.pending:
        return "pending"  # Coda accepted the rows but had not applied them when polling stopped
    return "written" if outcome.written else "unchanged"


def _message(exc: Exception) -> str:
    problems = getattr(exc, "problems", None)
    return f"{exc} {'; '.join(problems)}" if problems else str(exc)


# For the rollback (pipe.recovery.coda_rows), which reads, compares and writes cells the way this sink does.
same_cell = _same
cell_value = _cell_value
cell_text = _text
