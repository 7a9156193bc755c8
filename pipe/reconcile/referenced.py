"""The records the history refers to, each with every commit that names it; and the sample `RECONCILE_SAMPLE`
picks among them.

The sample is random but reproducible: each referenced record ID or key is ranked by the SHA-256 of
`<head commit>:<record ID or key>`, and the sample is the `RECONCILE_SAMPLE` lowest. The same commit of
MAIN_BRANCH gives the same sample (a re-run after fixing what a first run found checks the same records), a new
commit another one, and every record is as likely as any other to be in it, whatever its age or name.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pipe.model import Reference, ReferenceKind
from pipe.reconcile.history import History
from pipe.references import find_references


@dataclass(frozen=True)
class Referenced:
    """A record ID or key the history names, and where."""

    kind: ReferenceKind
    value: str
    references: tuple[Reference, ...]  # one per commit that names it, oldest first

    @property
    def commits(self) -> tuple[str, ...]:
        return tuple(r.commit for r in self.references if r.commit is not None)


def referenced(history: History, key_pattern: re.Pattern[str] | None) -> list[Referenced]:
    """Every record ID and key in the history's commit messages (Bitbucket's merge commits carry the merged
    branch's name), in the order they first appear."""
    grouped: dict[tuple[ReferenceKind, str], list[Reference]] = {}
    for reference in find_references(None, history.commits, key_pattern):
        grouped.setdefault((reference.kind, reference.value), []).append(reference)
    return [Referenced(kind, value, tuple(refs)) for (kind, value), refs in grouped.items()]


def sample(items: Sequence[Referenced], size: int | None, seed: str) -> list[Referenced]:
    """`size` of `items` ranked by sample_rank (all of them when `size` is None or not smaller), in their order."""
    if size is None or size >= len(items):
        return list(items)
    chosen = {id(item) for item in sorted(items, key=lambda i: sample_rank(seed, i.value))[:size]}
    return [item for item in items if id(item) in chosen]


def sample_rank(seed: str, value: str) -> str:
    return hashlib.sha256(f"{seed}:{value}".encode()).hexdigest()
