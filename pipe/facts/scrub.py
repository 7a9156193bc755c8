"""Mask secrets in gathered facts, so that nothing the run writes anywhere can carry one.

Commit messages, branch names and record titles are written by anyone who can push or edit a record; a
token pasted there must not reach the CHANGELOG, Coda, Airtable, the journal or the report. Masking the
facts once, where they enter the run, covers every output at once (each output is made from facts).
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

log = logging.getLogger("pipe")

Masker = Callable[[str], str]  # returns the text with every secret and token shape replaced
T = TypeVar("T")


def scrub(value: T, mask: Masker, keep: tuple[type, ...] = ()) -> T:
    """`value` with every string inside it (through frozen dataclasses, named tuples, tuples, lists and
    mappings) masked. Objects of the `keep` types, and of kinds other than those (a compiled pattern),
    are kept as they are. Logs one warning when anything was masked."""
    counter = [0]
    cleaned = _walk(value, mask, counter, keep)
    if counter[0]:
        log.warning(
            "%d text(s) in commit messages, branch names or record titles contain a secret or a token-shaped "
            "string; it is masked in every output. Revoke the token if it is a real one.",
            counter[0],
        )
        if dataclasses.is_dataclass(cleaned) and any(f.name == "masked" for f in dataclasses.fields(cleaned)):
            cleaned = dataclasses.replace(cleaned, masked=counter[0])  # type: ignore[type-var]
    return cleaned


def _walk(value: Any, mask: Masker, counter: list[int], keep: tuple[type, ...]) -> Any:
    if isinstance(value, (*keep, enum.Enum)):  # an enum member is a str too: it is a name, kept
        return value
    if isinstance(value, str):
        masked = mask(value)
        if masked != value:
            counter[0] += 1
        return masked
    if isinstance(value, tuple):
        items = tuple(_walk(v, mask, counter, keep) for v in value)
        if all(a is b for a, b in zip(items, value, strict=True)):
            return value
        named = getattr(type(value), "_make", None)  # a named tuple (Commit, ReleaseNotes...) stays one
        return named(items) if named is not None else items
    if isinstance(value, list):
        return [_walk(v, mask, counter, keep) for v in value]
    if isinstance(value, Mapping):
        return {_walk(k, mask, counter, keep): _walk(v, mask, counter, keep) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            if not f.init:
                continue
            old = getattr(value, f.name)
            new = _walk(old, mask, counter, keep)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    return value
