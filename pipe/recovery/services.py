"""What a rollback restores besides Airtable records, in the order it writes them: Coda rows
(pipe.recovery.coda_rows), the Coda page section (.coda_page), CHANGELOG sections (.changelog).

Each restorer reads what it holds now (`read`, before anything at all is written), plans each journaled row,
section or file (`plan`, the planners of pipe.recovery.plan.plan_rollback) and writes the difference (`apply`),
journaling each write. The Coda doc is not in the journal: CODA_API_TOKEN and CODA_DOC_ID name it, as for the
run rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipe.clients.coda import CodaClient, coda_policy
from pipe.config.settings import Settings
from pipe.errors import UserError
from pipe.recovery.changelog import ChangelogRestorer
from pipe.recovery.coda_page import CodaPageRestorer
from pipe.recovery.coda_rows import CodaRowsRestorer
from pipe.recovery.journal_reader import JournalContents, RecordHistory
from pipe.recovery.plan import Planner, RecordRollback, RollbackPlan, journal_kind
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.rollback")

CODA_KINDS = ("coda rows", "coda page")


class Restorer(Protocol):
    @property
    def kind(self) -> str: ...

    def read(self, histories: Sequence[RecordHistory]) -> None: ...

    def plan(self, history: RecordHistory) -> RecordRollback: ...

    def apply(self, records: Sequence[RecordRollback], journal: Journal) -> None: ...


@dataclass(frozen=True)
class Restorers:
    items: Sequence[Restorer]
    coda: CodaClient | None

    @property
    def planners(self) -> dict[str, Planner]:
        return {r.kind: r.plan for r in self.items}

    def apply(self, plan: RollbackPlan, journal: Journal) -> None:
        for restorer in self.items:
            records = plan.of_kind(restorer.kind)
            if records:
                restorer.apply(records, journal)


def open_restorers(settings: Settings, contents: JournalContents, root: Path, deadline: float) -> Restorers:
    """The restorers, each having read what the journal names (raises UserError for a problem a user fixes:
    nothing written)."""
    by_kind: dict[str, list[RecordHistory]] = {}
    for history in contents.records:
        by_kind.setdefault(journal_kind(history.service, history.table), []).append(history)
    coda = coda_client(settings, any(by_kind.get(k) for k in CODA_KINDS), deadline)
    items: list[Restorer] = [
        CodaRowsRestorer(coda, settings.coda.columns),
        CodaPageRestorer(coda),
        ChangelogRestorer(root),
    ]
    for restorer in items:
        restorer.read(by_kind.get(restorer.kind, []))
    return Restorers(items, coda)


def coda_client(settings: Settings, needed: bool, deadline: float) -> CodaClient | None:
    if not needed:
        return None
    c = settings.coda
    if c.token and c.doc_id:
        return CodaClient(c.token, c.doc_id, c.api_url, coda_policy(deadline))
    if settings.run.dry_run:
        log.info("No CODA_API_TOKEN and CODA_DOC_ID: the plan shows what would be rolled back in Coda, unread.")
        return None
    missing = "CODA_API_TOKEN" if not c.token else "CODA_DOC_ID"
    raise UserError(
        f"{missing}: is required to roll back the run's Coda writes (the journal names tables and pages, not the "
        "doc: give the same CODA_API_TOKEN and CODA_DOC_ID as the run); set DRY_RUN: 'true' to only print the plan"
    )
