"""Check, before the run reads or writes anything, that the files it must write can be written.

A report (REPORT_FILE, and the journal beside it) found unwritable only at the end would leave writes to
Airtable and Coda unjournaled, so they could not be rolled back: the run stops before its first write
instead, with a message naming the variable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pipe.config.settings import Settings
from pipe.errors import UserError
from pipe.model import PipelineContext


def check_output_paths(settings: Settings, context: PipelineContext) -> None:
    report = settings.run.report_path
    if report is None:
        return
    variable = "REPORT_FILE" if settings.variables.REPORT_FILE else "BITBUCKET_PIPE_STORAGE_DIR"
    problem = _unwritable(report)
    if problem:
        raise UserError(
            f"{variable}: the report {str(report)!r} cannot be written ({problem}); nothing was read or written. "
            "Give a file path in a folder the step can write to."
        )


def _unwritable(path: Path) -> str | None:
    if path.is_dir():
        return "it is a directory"
    if path.is_symlink():
        return "it is a symbolic link"
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"its folder cannot be created: {exc.strerror or exc}"
    if not folder.is_dir():
        return "its folder is not a directory"
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-", delete=True):
            pass
    except OSError as exc:
        return f"its folder is not writable: {exc.strerror or exc}"
    if path.exists() and not os.access(path, os.W_OK):
        return "the file is not writable"
    return None
