"""The table of modes: what `STAGE` asks for, and the function that does it.

Every mode gets the same start (`pipe.modes.base.Start`: settings, redactor, clone, time budget) and ends
the same way (`Finish`: report, verdict, exit code); `pipe.flow` does both. Adding a mode is a function
`Start -> Finish`, one row here, and its name in the `STAGE` variable's values (pipe.config.variables).
"""

from __future__ import annotations

from collections.abc import Mapping

from pipe.modes.base import Mode
from pipe.modes.sync import run_sync
from pipe.preflight.run import check_mode
from pipe.recovery import rollback_mode

SYNC = Mode("sync", needs_clone=True, run=run_sync)  # build, review, merge, deploy (auto: detected)

MODES: Mapping[str, Mode] = {
    "auto": SYNC,
    "build": SYNC,
    "review": SYNC,
    "merge": SYNC,
    "deploy": SYNC,
    "check": Mode("check", needs_clone=False, run=check_mode, summary="preflight: nothing is synced"),
    "rollback": Mode("rollback", needs_clone=False, run=rollback_mode, summary="STAGE is set to rollback"),
}


def mode_for(stage: str) -> Mode:
    """The mode of a STAGE value; an unknown value is the sync (validation then names the problem)."""
    return MODES.get(stage, SYNC)
