"""Row edits measured and grouped into upsert requests under Coda's size limits, before anything is sent.

Request bodies up to 2 MB; a row edit up to 85 KB (UTF-8 length, each newline counted twice). A batch with one
oversized row is refused as a whole, so rows are measured and batched here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

MAX_BODY_BYTES = 2 * 1024 * 1024 - 64 * 1024  # 2 MB request limit, less room for the envelope and rounding
MAX_ROW_BYTES = 85 * 1000  # 85 KB per row edit, read conservatively (Coda counts KB of 1024 bytes)
MAX_ROWS_PER_REQUEST = 250  # none documented; "several hundred rows" are reported to work


RowEdit = Sequence[tuple[str, Any]]  # (column ID, value) pairs


def row_edit_size(cells: RowEdit) -> int:
    """Bytes a row edit counts against Coda's per-row limit: UTF-8 length, each newline counted twice."""
    total = 0
    for _column, value in cells:
        if isinstance(value, list | tuple):
            text = json.dumps(list(value), ensure_ascii=False)
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = "" if value is None else str(value)
        total += len(text.encode("utf-8")) + text.count("\n")
    return total


def _row_json(cells: RowEdit) -> dict[str, Any]:
    return {"cells": [{"column": column, "value": value} for column, value in cells]}


def upsert_body(rows: Sequence[RowEdit], key_columns: Sequence[str]) -> bytes:
    body: dict[str, Any] = {}
    if key_columns:
        body["keyColumns"] = list(key_columns)
    body["rows"] = [_row_json(cells) for cells in rows]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def batch_rows(
    rows: Sequence[RowEdit],
    key_columns: Sequence[str] = (),
    *,
    max_body: int = MAX_BODY_BYTES,
    max_rows: int = MAX_ROWS_PER_REQUEST,
) -> list[list[int]]:
    """Indexes of `rows` grouped into requests whose bodies stay under `max_body` bytes.

    Rows must already be under the per-row limit (a row over it is never sent); a single row whose body
    alone exceeds `max_body` still gets a batch of its own (Coda will refuse it; cannot happen below 85 KB).
    """
    envelope = len(upsert_body([], key_columns))
    batches: list[list[int]] = []
    current: list[int] = []
    size = envelope
    for index, cells in enumerate(rows):
        row_bytes = len(json.dumps(_row_json(cells), ensure_ascii=False, separators=(",", ":")).encode("utf-8")) + 1
        if current and (size + row_bytes > max_body or len(current) >= max_rows):
            batches.append(current)
            current, size = [], envelope
        current.append(index)
        size += row_bytes
    if current:
        batches.append(current)
    return batches
