"""airtable-coda-sync: keep Airtable records and Coda release notes in step with the repository.

The variables the pipe accepts are declared in `pipe.config.variables.PipeVariables`; `run()`
validates them, gathers facts, plans, applies and reports (see `pipe.flow`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pipe.config.variables import PipeVariables  # noqa: F401  (the variable schema, re-exported)
from pipe.flow import run


def main() -> int:
    return run(dict(os.environ), Path.cwd())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
