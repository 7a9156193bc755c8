"""What later steps of the same pipeline need, in BITBUCKET_PIPE_SHARED_STORAGE_DIR.

Pipelines gives every pipe a folder that later steps of the pipeline can read. The pipe leaves there
the JSON report of its run (`<stage>-report.json`) and, on merge and deploy, the release it
published (`release.json`: version and commit). A later deploy step of the same commit reads the
release back, so it publishes under the same version the merge step chose, even when it was
bumped from the commits rather than tagged.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from pipe.facts.shared_storage import RELEASE_FILE
from pipe.files import FileRefused, write_file
from pipe.log import Redactor

log = logging.getLogger("pipe")

__all__ = ["RELEASE_FILE", "write_shared"]


def write_shared(folder: Path, name: str, data: dict[str, Any], redactor: Redactor) -> Path | None:
    """Write one file for later steps (readable by any user: they may run as another). A folder that cannot
    be written is a warning: later steps lose a convenience, the run's writes are all done."""
    path = folder / name
    text = redactor(json.dumps(data, indent=2, ensure_ascii=False, default=str)) + "\n"
    try:
        folder.mkdir(parents=True, exist_ok=True)  # the folder Pipelines gives: named by the environment, not a commit
        write_file(path, text, folder, "BITBUCKET_PIPE_SHARED_STORAGE_DIR", create_parents=True, mode=0o644)
        return path
    except (OSError, FileRefused) as exc:
        log.warning("Could not write %s to the shared storage folder %s: %s", name, folder, exc)
        return None
