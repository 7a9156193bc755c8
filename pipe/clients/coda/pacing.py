"""How requests to Coda are paced and which may be replayed (the HTTP policy of pipe.clients.http, for Coda).

Limits per user across all docs (reference: coda-api.md): read 100 / 6 s, write 10 / 6 s, doc content writes
(rows and pages) 3 / 10 s in the stricter published reading (5 / 10 s in the newer docs). Coda sends no
`Retry-After`.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from pipe.clients.http import HttpPolicy, SlidingWindowLimiter


@dataclass(frozen=True)
class CodaLimits:
    """Client-side pacing, below Coda's published limits (requests per window in seconds)."""

    read: tuple[int, float] = (100, 6.0)
    write: tuple[int, float] = (10, 6.0)
    doc_content: tuple[int, float] = (3, 10.0)  # design for the stricter 3 / 10 s reading
    margin: float = 0.5  # seconds added to every window: our send time is not their arrival time

    def scaled(self, factor: float) -> CodaLimits:
        """The same limits with every window (and the margin) multiplied by `factor` (for tests)."""
        return CodaLimits(
            read=(self.read[0], self.read[1] * factor),
            write=(self.write[0], self.write[1] * factor),
            doc_content=(self.doc_content[0], self.doc_content[1] * factor),
            margin=self.margin * factor,
        )


# Keyed upsert bodies are serialised with `keyColumns` first, so the policy can tell them from inserts
# without parsing a body of up to 2 MB (a cell value cannot start the body).
KEYED_UPSERT_PREFIX = b'{"keyColumns":'


# Webhook triggers of automation rules. Which of Coda's limits they count against is not documented (only that
# they are "subject to the API rate limiting"): paced as doc content writes, the stricter reading.
AUTOMATION_PATH = "/hooks/automation/"


def _is_content_write(method: str, path: str) -> bool:
    return method != "GET" and ("/rows" in path or "/pages" in path or AUTOMATION_PATH in path)


def coda_policy(
    deadline: float | None = None, *, limits: CodaLimits | None = None, rate_limit_wait: float = 10.0
) -> HttpPolicy:
    """The HTTP policy for Coda: pace reads, writes and doc content writes; replay only safe requests.

    A 429 comes without `Retry-After`, so the adapter waits `rate_limit_wait` (the longest window, by
    default) before trying again. Replay-safe: GETs; keyed row upserts (replaying one sets the same cells on
    the rows its keys match, and Coda applies a doc's mutations in order, so a replay queued behind the
    original updates the row the original inserted). Not replay-safe: page content updates (an append
    replayed appends twice), un-keyed row inserts, and webhook triggers of automation rules (each accepted
    POST runs the rule once more; after a 5xx or a dropped connection Coda may have queued it).
    A 429 is replayed whatever the request: Coda refused it before doing anything.
    """
    limits = limits or CodaLimits()
    read = SlidingWindowLimiter(*limits.read, margin=limits.margin)
    write = SlidingWindowLimiter(*limits.write, margin=limits.margin)
    content = SlidingWindowLimiter(*limits.doc_content, margin=limits.margin)

    def limiters(request: requests.PreparedRequest) -> tuple[SlidingWindowLimiter, ...]:
        method = (request.method or "").upper()
        if method in ("GET", "HEAD"):
            return (read,)
        if _is_content_write(method, _path(request)):
            return (content, write)
        return (write,)

    def replay_safe(request: requests.PreparedRequest) -> bool:
        method = (request.method or "").upper()
        path = _path(request)
        if method in ("GET", "HEAD"):
            return True
        if method == "POST" and AUTOMATION_PATH in path:
            return False
        if method == "POST":
            body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
            return path.endswith("/rows") and body.startswith(KEYED_UPSERT_PREFIX)
        if method == "PUT" and "/pages/" in path:
            return False
        return method in ("PUT", "DELETE")

    return HttpPolicy(
        service="Coda",
        limiters=limiters,
        rate_limit_wait=rate_limit_wait,
        replay_safe=replay_safe,
        deadline=deadline,
    )


def _path(request: requests.PreparedRequest) -> str:
    return (request.path_url or "").split("?", 1)[0]
