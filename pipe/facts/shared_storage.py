"""The release an earlier step of the same pipeline published, read back from
BITBUCKET_PIPE_SHARED_STORAGE_DIR (`release.json`, written by pipe.report.shared_storage): a deploy step of
the same commit publishes under the same version the merge step chose, even when it was bumped from the
commits rather than tagged."""

from __future__ import annotations

import json
from pathlib import Path

from pipe.files import FileRefused, read_regular_file

RELEASE_FILE = "release.json"


def shared_release_version(folder: Path | None, head: str | None) -> str | None:
    """The version an earlier step published for this same commit, if any."""
    if folder is None or not head:
        return None
    try:
        text = read_regular_file(folder / RELEASE_FILE, "BITBUCKET_PIPE_SHARED_STORAGE_DIR", limit=65536)
        data = json.loads(text)
    except (OSError, ValueError, FileRefused):
        return None
    if isinstance(data, dict) and data.get("head") == head and isinstance(data.get("version"), str):
        return data["version"]
    return None
