"""What every mode of the pipe shares: what it starts from and what it ends with.

`pipe.flow.run` does the start-up once for every mode (settings validated, secrets registered with the
log's redactor, the clone opened, output paths checked, the time budget started), looks the mode up in
`pipe.flow.MODES` and hands it a `Start`; the mode does its work and returns a `Finish`, from which
`pipe.flow` writes the report and the shared-storage files, logs the verdict and picks the exit code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipe.clients.git import GitRepo
from pipe.config.settings import Settings
from pipe.errors import EXIT_SYNC_FAILED
from pipe.log import Redactor
from pipe.model import PipelineContext
from pipe.report.outputs import Outputs

Outcome = Literal["ok", "failed", "planned"]


@dataclass(frozen=True)
class Start:
    env: Mapping[str, str]
    cwd: Path
    settings: Settings
    redactor: Redactor
    context: PipelineContext
    repo: GitRepo | None  # None when the mode needs no clone and there is none
    outputs: Outputs  # where the report and the journal go (checked writable at start-up)
    started: float  # time.monotonic() at start-up
    deadline: float  # time.monotonic() after which no request is sent (TIME_BUDGET)
    now: int  # wall clock at start-up, seconds since the epoch

    @property
    def root(self) -> Path:
        return self.repo.root if self.repo is not None else self.cwd


@dataclass(frozen=True)
class Finish:
    outcome: Outcome
    report: dict[str, Any]  # the JSON report (secrets are redacted when it is written)
    verdict: str  # one line: what was done, or why it failed
    failure_code: int = EXIT_SYNC_FAILED  # exit code when failed (FAIL_ON_ERROR: false turns 1 into 0)
    shared: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # files left for later steps


@dataclass(frozen=True)
class Mode:
    name: str
    needs_clone: bool  # a git clone must be there (the sync stages); else it is used when present
    run: Callable[[Start], Finish]
    summary: str = ""  # logged as `Stage: <name> (<summary>)`; the sync logs the stage it detects itself
