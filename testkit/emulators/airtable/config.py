"""Behaviour the reference leaves open (its "Unknowns" list), made configurable."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Quirks:
    """Choices for behaviour the reference marks as unknown or inconsistent.

    Defaults follow the best evidence in the reference; each is documented in
    docs/emulators/airtable.md.
    """

    #: unknown base: bare ``{"error":"NOT_FOUND"}`` (§3.2, vercel-labs "confirmed"), the typed
    #: 404 ``{"error":{"type":"NOT_FOUND"}}``, or 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND.
    unknown_base: Literal["bare404", "typed404", "403"] = "bare404"
    #: unknown table: 403 INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND (§3.2) or bare 404.
    unknown_table: Literal["403", "404"] = "403"
    #: batch update element without "id" (§10: type uncertain).
    missing_id_error: Literal["INVALID_RECORDS", "ROW_DOES_NOT_EXIST"] = "INVALID_RECORDS"
    #: upsert where fieldsToMergeOn matches several records: 422 with this type (§1.6: unknown).
    upsert_multiple_matches_type: str = "INVALID_RECORDS"
    #: pageSize > 100: 422 INVALID_REQUEST_UNKNOWN ("error") or silently use 100 ("clamp").
    page_size_over_limit: Literal["error", "clamp"] = "error"
    #: sort: blank cells come first in ascending order (claimed, unverified; §9).
    blanks_first_ascending: bool = True
    #: GET record falls back to a base-wide search (§1.3 quirk).
    get_record_base_fallback: bool = True
    #: unknown ``view``: 422 VIEW_NAME_NOT_FOUND ("error") or ignored ("ignore").
    unknown_view: Literal["error", "ignore"] = "error"
    #: URLs at or above this length get 414 (§1.2: "shorter than 16,000 characters"); None = off.
    max_url_length: int | None = 16000
    #: request bodies above this many bytes get 413 (limit unpublished, §1.8); None = off.
    max_body_bytes: int | None = None
    #: list offsets expire this many seconds after they were issued; None = never (§1.2).
    offset_ttl_seconds: float | None = None
    #: write bodies with unexpected top-level keys get 422 INVALID_REQUEST_UNKNOWN.
    strict_body_keys: bool = True
    #: performUpsert as one step (True), or matched on arrival and written after a pause in which other
    #: requests run (False), so two upserts of a new key arriving together both create a record. The
    #: reference does not say which Airtable does; False is the stricter reading.
    upsert_atomic: bool = False
