"""The contract every target of a run follows (Airtable records, CHANGELOG file, Coda rows, …).

A run builds its targets from `pipe.sinks.targets.TARGETS`, then in two passes:

1. `prepare()` on every target: read what the target holds now and work out what to write. Reads only, so
   a configuration problem found here (a missing table, field or column; a file outside the clone) stops
   the run before anything at all is written. A dry run stops after this pass and shows `preview()`.
2. `apply(journal, earlier)` on each prepared change, in the order of the list: write only the difference,
   journal every write, and return what happened. `earlier` holds the results of the targets applied before
   (a deployment is only logged when everything before it succeeded; a report can tell what changed).

Adding a target is one new module with a factory `target(run: TargetRun) -> Target | None` (None when the
run does not use it) and one line in `pipe.sinks.targets.TARGETS`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from pipe.clients.services import Clients
from pipe.config.settings import Settings
from pipe.errors import SyncError, UserError
from pipe.facts.run_facts import RunFacts
from pipe.model import TargetResult
from pipe.plan.run_plan import RunPlan
from pipe.sinks.journal import Journal


@dataclass(frozen=True)
class TargetRun:
    """What a target is built from."""

    settings: Settings
    facts: RunFacts
    plan: RunPlan
    clients: Clients
    root: Path  # the clone
    dry_run: bool


class Change(Protocol):
    """A prepared target: what it will write, worked out from what it read."""

    def preview(self) -> TargetResult:
        """What `apply` would do, for a dry run (writes nothing)."""
        ...

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        """Write the difference, journal it, say what happened (a failure is a result, not an exception)."""
        ...


class Target(Protocol):
    @property
    def name(self) -> str: ...

    def prepare(self) -> Change:
        """Read the target and work out the change; raises a UserError for a configuration problem."""
        ...


@dataclass(frozen=True)
class Fixed:
    """A change whose result is known without writing (nothing to do, or it could not be prepared)."""

    result: TargetResult

    @property
    def name(self) -> str:
        return self.result.target

    def prepare(self) -> Fixed:
        return self

    def preview(self) -> TargetResult:
        return self.result

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        return self.result


@dataclass(frozen=True)
class ReadWhenWritten:
    """A target whose first read failed for a while (the service answered 5xx, or not at all, after the HTTP
    policy's retries): it is prepared again right before it is written, and fails then if it still cannot be
    read. A configuration problem found then is a failed target (other targets may have been written)."""

    target: Target
    reason: str

    @property
    def name(self) -> str:
        return self.target.name

    def preview(self) -> TargetResult:
        return TargetResult(self.name, "failed", f"could not be read: {self.reason}")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        try:
            change = self.target.prepare()
        except (SyncError, UserError) as exc:
            return TargetResult(self.name, "failed", str(exc))
        return change.apply(journal, earlier)
