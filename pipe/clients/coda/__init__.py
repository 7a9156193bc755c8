"""A thin Coda API v1 client: `client` (the calls), `pacing` (limits and replay rules), `batching` (row edits
under the size limits), `types` (what calls return), `errors`. The names are re-exported here."""

from pipe.clients.coda.batching import (
    MAX_BODY_BYTES,
    MAX_ROW_BYTES,
    MAX_ROWS_PER_REQUEST,
    RowEdit,
    batch_rows,
    row_edit_size,
    upsert_body,
)
from pipe.clients.coda.client import (
    COLUMNS_PAGE_SIZE,
    CONTENT_PAGE_SIZE,
    DEFAULT_API_URL,
    ROWS_PAGE_SIZE,
    SELECT_OPTIONS_CAP,
    STALE_DOC,
    CodaClient,
)
from pipe.clients.coda.errors import CodaConfigError, CodaError, CodaStaleRead
from pipe.clients.coda.pacing import KEYED_UPSERT_PREFIX, CodaLimits, coda_policy
from pipe.clients.coda.types import (
    CodaColumn,
    CodaPage,
    CodaRow,
    CodaTable,
    CodaUser,
    MutationPolling,
    MutationStatus,
    PageLine,
)

__all__ = [
    "COLUMNS_PAGE_SIZE",
    "CONTENT_PAGE_SIZE",
    "DEFAULT_API_URL",
    "KEYED_UPSERT_PREFIX",
    "MAX_BODY_BYTES",
    "MAX_ROWS_PER_REQUEST",
    "MAX_ROW_BYTES",
    "ROWS_PAGE_SIZE",
    "SELECT_OPTIONS_CAP",
    "STALE_DOC",
    "CodaClient",
    "CodaColumn",
    "CodaConfigError",
    "CodaError",
    "CodaLimits",
    "CodaPage",
    "CodaRow",
    "CodaStaleRead",
    "CodaTable",
    "CodaUser",
    "MutationPolling",
    "MutationStatus",
    "PageLine",
    "RowEdit",
    "batch_rows",
    "coda_policy",
    "row_edit_size",
    "upsert_body",
]
