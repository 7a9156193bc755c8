"""Errors a user can act on. Each carries the exit code the pipe ends with."""

from __future__ import annotations

EXIT_OK = 0
EXIT_SYNC_FAILED = 1
EXIT_BAD_INPUT = 2


class UserError(Exception):
    """A problem with the user's input, configuration or environment: nothing was written."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []

    def render(self) -> str:
        if not self.problems:
            return str(self)
        return str(self) + "\n" + "\n".join(f"  - {p}" for p in self.problems)


class ConfigError(UserError):
    """One or more pipe variables or config-file keys are wrong; every problem is listed."""


class SyncError(Exception):
    """A service refused or failed a write after retries; the run is reported as failed."""

    exit_code = EXIT_SYNC_FAILED
