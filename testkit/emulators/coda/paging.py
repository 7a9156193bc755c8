"""Opaque page and sync tokens. A page token carries the original query, so other params are ignored."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, TypeVar

from .errors import INVALID_PAGE_TOKEN, bad_request

T = TypeVar("T")


def encode(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str, kind: str, scope: str) -> dict[str, Any]:
    """The payload of a token minted for `kind` at `scope` (the resource path), else 400."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        raise bad_request(INVALID_PAGE_TOKEN, undeclared_ok=True) from None
    if not isinstance(payload, dict) or payload.get("kind") != kind or payload.get("scope") != scope:
        raise bad_request(INVALID_PAGE_TOKEN, undeclared_ok=True)
    return payload


def page_of(items: Sequence[T], offset: int, limit: int) -> tuple[list[T], int | None]:
    """One page and the offset of the next one (None when this is the last page)."""
    chunk = list(items[offset : offset + limit])
    following = offset + limit
    return chunk, following if following < len(items) else None
