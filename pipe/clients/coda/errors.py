"""What Coda refusals become: a sync failure (retry later) or a configuration problem (fix and re-run)."""

from __future__ import annotations

from pipe.errors import SyncError, UserError


class CodaError(SyncError):
    """Coda refused or failed a request after retries; carries the status and Coda's message."""

    def __init__(self, message: str, status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.status = status
        self.detail = detail


class CodaConfigError(UserError):
    """Coda says the token, doc, table, page or a column is wrong: nothing was written."""


class CodaStaleRead(CodaError):
    """A read with `X-Coda-Doc-Version: latest` was refused because the doc has pending mutations."""
