"""Where a run writes its own files (the report, the journal beside it, the shared-storage files), and the
check that they can be written, made before the run reads or writes anything else.

A report or journal found unwritable only at the end would leave writes to Airtable and Coda unjournaled,
so they could not be rolled back. The writers (pipe.files) refuse links, `.git/` and paths that leave their
root; `check_outputs` finds the same problems up front, with a message naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipe.files import FileRefused, check_output, output_root
from pipe.sinks.journal import journal_path


@dataclass(frozen=True)
class Outputs:
    report: Path | None  # absolute
    journal: Path | None  # beside the report
    root: Path | None  # the folder the report and the journal are written within (no link is followed below it)
    report_variable: str = "REPORT_FILE"
    shared: Path | None = None  # BITBUCKET_PIPE_SHARED_STORAGE_DIR


def outputs_for(
    report_path: Path | None, report_variable: str, shared_dir: str | None, cwd: Path, clone: Path
) -> Outputs:
    shared = Path(os.path.abspath(cwd / shared_dir)) if shared_dir else None
    if report_path is None:
        return Outputs(None, None, None, report_variable, shared)
    report = Path(os.path.abspath(cwd / report_path))
    return Outputs(report, journal_path(report), output_root(report, clone), report_variable, shared)


def check_outputs(outputs: Outputs) -> None:
    """Raise FileRefused (a UserError: exit 2, nothing written) for an output that cannot be written. A root
    outside the clone is a folder the user named (the storage folder Pipelines makes, a REPORT_FILE's folder),
    not one a commit controls: it is created when missing."""
    if outputs.report is not None and outputs.root is not None:
        try:
            outputs.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise FileRefused(
                f"{outputs.report_variable}: the folder {str(outputs.root)!r} cannot be created ({exc.strerror or exc})"
            ) from None
        check_output(outputs.report, outputs.root, outputs.report_variable, create_parents=True)
        if outputs.journal is not None:
            check_output(outputs.journal, outputs.root, outputs.report_variable, create_parents=True)
