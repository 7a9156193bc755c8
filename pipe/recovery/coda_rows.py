"""Roll back the Coda changelog rows a run wrote: restore the cells it changed, delete the rows it created.

Read first (nothing written before every table is read): each journaled table, its columns (the key columns from
the config file's `coda.columns`, and every journaled column, which must still exist: a column renamed or
deleted since stops the rollback, exit 2) and the rows of the journaled releases (one `query` per release).

Per row, as for Airtable fields: a cell still holding what the run wrote gets its before-value back (a keyed
upsert, replay-safe); a cell holding something else is left alone and reported. A row the run created is
deleted (`deleteRows`, replay-safe) only when every cell it wrote still holds that value and no other column was
filled in since; otherwise it is left in place and reported. Writes are polled like the sync's (bounded): those
not confirmed are reported as queued.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipe.clients.coda import (
    CodaClient,
    CodaColumn,
    CodaConfigError,
    CodaError,
    CodaRow,
    CodaTable,
    MutationPolling,
    batch_rows,
)
from pipe.clients.http import BudgetExceeded
from pipe.config.file import CodaColumns
from pipe.facts.fields import resolve_field
from pipe.recovery.journal_reader import RecordHistory
from pipe.recovery.plan import FieldAction, FieldRollback, RecordAction, RecordRollback, same_value
from pipe.sinks.coda_rows import cell_text, cell_value, same_cell
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.rollback")

KIND = "coda rows"
DELETE_CHUNK = 100  # row IDs per deleteRows request (none documented; the body stays a few KB)


@dataclass
class TableState:
    """One Coda table as the rollback read it."""

    table: CodaTable
    columns: dict[str, CodaColumn]  # by name
    release: CodaColumn
    entry_key: CodaColumn
    rows: dict[tuple[str, str], list[CodaRow]]  # (release, entry key) -> the rows with that key


def row_key(record: str) -> tuple[str, str]:
    """`1.5.0/pr-7` -> ("1.5.0", "pr-7"): how the sink journals a row (versions and entry keys hold no `/`)."""
    release, _, entry_key = record.partition("/")
    return release, entry_key


@dataclass
class CodaRowsRestorer:
    client: CodaClient | None  # None: a dry run without CODA_API_TOKEN (nothing read)
    columns: CodaColumns
    polling: MutationPolling = field(default_factory=lambda: MutationPolling())
    tables: dict[str, TableState] = field(default_factory=dict)
    row_ids: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # rows to delete, by (table, record)

    kind = KIND

    # -- reading -----------------------------------------------------------------------------------

    def read(self, histories: Sequence[RecordHistory]) -> None:
        """Read every journaled table; raises CodaConfigError (nothing written) for a missing table or column."""
        if self.client is None:
            return
        by_table: dict[str, list[RecordHistory]] = {}
        for history in histories:
            by_table.setdefault(history.table, []).append(history)
        for name, group in by_table.items():
            self.tables[name] = self._read_table(self.client, name, group)

    def _read_table(self, client: CodaClient, name: str, group: list[RecordHistory]) -> TableState:
        table = client.table(name)
        columns = client.columns(table)
        by_name = {c.name: c for c in columns}
        problems = []
        keys: list[CodaColumn] = []
        for logical, ref in (("release", self.columns.release), ("entry_key", self.columns.entry_key)):
            found, _renamed, problem = resolve_field(columns, ref)
            if found is None:
                problems.append(f"coda.columns.{logical}: {problem}")
            else:
                keys.append(by_name[found.name])
        journaled = dict.fromkeys(f for h in group for f in h.fields)
        gone = [c for c in journaled if c not in by_name]
        problems += [
            f"the run wrote column {c!r}, which the table has no more (renamed or deleted since)" for c in gone
        ]
        if problems:
            raise CodaConfigError(
                f"The Coda table {table.name!r} no longer matches what the journal names, so nothing was rolled "
                f"back. Its columns: {', '.join(repr(c.name) for c in columns) or 'none'}",
                problems,
            )
        release, entry_key = keys
        rows: dict[tuple[str, str], list[CodaRow]] = {}
        for version in dict.fromkeys(row_key(h.record)[0] for h in group):
            for row in client.rows(table, where=(release.id, version)):
                rows.setdefault((version, cell_text(row.values.get(entry_key.id))), []).append(row)
        return TableState(table, by_name, release, entry_key, rows)

    # -- planning ----------------------------------------------------------------------------------

    def plan(self, history: RecordHistory) -> RecordRollback:
        fields = [FieldRollback(h.field, h.before, h.after, writes=h.writes) for h in history.fields.values()]
        record = RecordRollback(
            history.service, history.table, history.record, RecordAction.ROLL_BACK, fields, run_ids=history.run_ids
        )
        state = self.tables.get(history.table)
        created = self._created(history, state)
        if state is None:  # not read: what would happen if nobody changed the row
            if created:
                record.action = RecordAction.DELETE
                record.reason = "created by the run: deleted if nobody changed it since (not read)"
            return record
        matches = state.rows.get(row_key(history.record), [])
        if created:
            return self._plan_created(record, state, matches)
        if not matches:
            record.action = RecordAction.MISSING
            record.reason = "the row is no longer in the table (deleted since)"
            return record
        for f in fields:
            column = state.columns[f.field]
            f.current = matches[0].values.get(column.id)
            if same_cell(column, f.before, f.current):
                f.action = FieldAction.ALREADY
            elif all(same_cell(column, f.after, m.values.get(column.id)) for m in matches):
                f.action = FieldAction.RESTORE
            else:
                f.action = FieldAction.CHANGED_SINCE
        return record

    def _created(self, history: RecordHistory, state: TableState | None) -> bool:
        """The journal says so; journals written before the sink said it: every before empty and the key columns
        journaled (an update never writes them)."""
        if history.created is not None:
            return history.created
        if any(not same_value(f.before, None) for f in history.fields.values()):
            return False
        keys = (state.release.name, state.entry_key.name) if state else (self.columns.release, self.columns.entry_key)
        return all(k in history.fields for k in keys)

    def _plan_created(self, record: RecordRollback, state: TableState, matches: list[CodaRow]) -> RecordRollback:
        if not matches:  # deleted already (by a person or an earlier rollback): as before the run
            for f in record.fields:
                f.action = FieldAction.ALREADY
            return record
        for f in record.fields:
            column = state.columns[f.field]
            f.current = matches[0].values.get(column.id)
            same = all(same_cell(column, f.after, m.values.get(column.id)) for m in matches)
            f.action = FieldAction.RESTORE if same else FieldAction.CHANGED_SINCE
        changed = [f.field for f in record.fields if f.action is FieldAction.CHANGED_SINCE]
        filled = [
            c.name
            for c in state.columns.values()
            if c.name not in {f.field for f in record.fields}
            and not c.calculated
            and any(not same_cell(c, None, m.values.get(c.id)) for m in matches)
        ]
        if not changed and not filled:
            record.action = RecordAction.DELETE
            record.reason = "created by the run, unchanged since"
            self.row_ids[(record.table, record.record)] = [m.id for m in matches]
            return record
        what = [f"{c!r} changed" for c in changed] + [f"{c!r} filled in" for c in filled]
        record.action = RecordAction.CREATED
        record.reason = (
            f"created by the run and edited since ({', '.join(what)}): left in place; delete the row by hand in "
            "Coda if it should go"
        )
        return record

    # -- writing -----------------------------------------------------------------------------------

    def apply(self, records: Sequence[RecordRollback], journal: Journal) -> None:
        if self.client is None or not records:
            return
        requests: list[tuple[str, list[RecordRollback]]] = []
        for name, group in _by_table(records).items():
            state = self.tables[name]
            restores = [r for r in group if r.action is RecordAction.ROLL_BACK]
            deletes = [r for r in group if r.action is RecordAction.DELETE]
            requests += self._restore(self.client, state, restores, journal)
            requests += self._delete(self.client, state, deletes, journal)
        self._confirm(self.client, requests)

    def _restore(
        self, client: CodaClient, state: TableState, records: list[RecordRollback], journal: Journal
    ) -> list[tuple[str, list[RecordRollback]]]:
        keys = [state.release.id, state.entry_key.id]
        edits = [_edit(state, r) for r in records]
        sent = []
        for batch in batch_rows(edits, keys):
            chunk = [records[i] for i in batch]
            try:
                request_id = client.upsert_rows(state.table, [edits[i] for i in batch], keys)
            except (CodaError, CodaConfigError, BudgetExceeded) as exc:
                _fail(chunk, exc)
                continue
            for record in chunk:
                record.written = True
                changes = {f.field: (f.current, f.before) for f in record.to_restore}
                journal.record("coda", state.table.name, record.record, changes, created=False)
            sent.append((request_id, chunk))
        return sent

    def _delete(
        self, client: CodaClient, state: TableState, records: list[RecordRollback], journal: Journal
    ) -> list[tuple[str, list[RecordRollback]]]:
        sent = []
        for start in range(0, len(records), DELETE_CHUNK):
            chunk = records[start : start + DELETE_CHUNK]
            ids = [row_id for r in chunk for row_id in self.row_ids[(r.table, r.record)]]
            try:
                request_id = client.delete_rows(state.table, ids)
            except (CodaError, CodaConfigError, BudgetExceeded) as exc:
                _fail(chunk, exc)
                continue
            for record in chunk:
                record.written = True
                changes = {f.field: (f.current, None) for f in record.fields}
                journal.record("coda", state.table.name, record.record, changes, created=False)
            sent.append((request_id, chunk))
        return sent

    def _confirm(self, client: CodaClient, requests: list[tuple[str, list[RecordRollback]]]) -> None:
        if not requests:
            return
        try:
            statuses = client.wait_for_mutations([rid for rid, _ in requests], self.polling)
        except (CodaError, BudgetExceeded) as exc:
            log.warning("Polling Coda for the rollback's writes failed (%s); they are reported as queued", exc)
            statuses = {}
        for request_id, chunk in requests:
            status = statuses.get(request_id)
            for record in chunk:
                record.pending = not (status and status.completed)


def _edit(state: TableState, record: RecordRollback) -> list[tuple[str, Any]]:
    release, entry_key = row_key(record.record)
    cells = [(state.columns[f.field].id, cell_value(f.before)) for f in record.to_restore]
    return [(state.release.id, release), (state.entry_key.id, entry_key), *cells]


def _by_table(records: Sequence[RecordRollback]) -> dict[str, list[RecordRollback]]:
    grouped: dict[str, list[RecordRollback]] = {}
    for record in records:
        grouped.setdefault(record.table, []).append(record)
    return grouped


def _fail(records: Sequence[RecordRollback], exc: Exception) -> None:
    for record in records:
        record.error = str(exc)
