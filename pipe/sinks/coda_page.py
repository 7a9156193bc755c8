"""Append the rendered notes of a release to a Coda page, once per release.

Why a visible marker line, and why the page is read with `X-Coda-Doc-Version: latest` first:

- Page content cannot be read back as Markdown cheaply: `listPageContent` gives plain-text lines only
  (headings keep their text, inline formatting and links are dropped), and the Markdown export is a slow
  asynchronous job. Comparing the rendered notes with the page is therefore unreliable; and rewriting a
  page from what was read is not idempotent either (Coda's Markdown round trip changes tables, rules...).
  So the pipe only ever appends, and ends each appended section with one plain paragraph,
  `Published by airtable-coda-sync: release <version>`, which survives the Markdown -> page conversion
  unchanged. A release whose marker line is on the page is not appended again. Later changes to the
  release's notes reach the Coda table (rows are upserted), not the page.
- Writes land seconds to minutes after their 202, and reads serve a snapshot, so a re-run shortly after
  an append could miss the marker and append twice. The read is therefore made with
  `X-Coda-Doc-Version: latest`, which Coda refuses (400) while any write to the doc is still pending.
  The sink retries that read for up to `fresh_read_timeout` seconds; when the doc is still not up to date
  it appends nothing and says so (re-running the step publishes the notes): a missing section is fixed by
  a re-run, a duplicated one needs a person.
- An append is not replay-safe, so the HTTP policy never retries it after a 5xx or a dropped connection;
  it is reported as failed, and the next run (which looks for the marker first) appends it at most once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pipe.clients.coda import CodaClient, CodaConfigError, CodaError, CodaPage, CodaStaleRead, MutationPolling
from pipe.clients.http import BudgetExceeded
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.coda")

MARKER_PREFIX = "Published by airtable-coda-sync: release "

PageStatus = Literal["written", "unchanged", "skipped", "failed"]


def release_marker(release: str) -> str:
    return f"{MARKER_PREFIX}{release}"


@dataclass
class CodaPageOutcome:
    page: str
    release: str
    status: PageStatus
    message: str = ""
    request_id: str | None = None
    confirmed: bool | None = None  # written: Coda completed the append within the polling bound

    @property
    def ok(self) -> bool:
        return self.status != "failed"


class CodaPageSink:
    def __init__(
        self,
        client: CodaClient,
        journal: Journal,
        *,
        polling: MutationPolling | None = None,
        fresh_read_timeout: float = 60.0,
        fresh_read_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.journal = journal
        self.polling = polling or MutationPolling()
        self.fresh_read_timeout = fresh_read_timeout
        self.fresh_read_interval = fresh_read_interval
        self._sleep = sleep
        self._clock = clock

    def apply(self, page: str, release: str, markdown: str, *, dry_run: bool = False) -> CodaPageOutcome:
        target = self.client.page(page)
        if target.content_type != "canvas":
            raise CodaConfigError(
                f"CODA_PAGE: page {target.name!r} ({target.id}) is a {target.content_type} page; release notes can "
                "only be appended to a canvas page (a regular page of text)."
            )
        marker = release_marker(release)
        lines = self._fresh_lines(target)
        if lines is None:
            return CodaPageOutcome(
                target.name,
                release,
                "skipped",
                f"Coda's copy of the doc still had writes pending after {self.fresh_read_timeout:g} s, so the page "
                f"could not be checked for release {release}; nothing was appended (to never append it twice). "
                "Re-run the step to publish the notes.",
            )
        if any(line.content.strip() == marker for line in lines):
            return CodaPageOutcome(target.name, release, "unchanged", f"release {release} is already on the page")
        content = markdown.rstrip("\n") + "\n\n" + marker + "\n"
        if dry_run:
            return CodaPageOutcome(target.name, release, "skipped", f"dry run: would append release {release}")
        try:
            request_id = self.client.append_to_page(target, content)
        except CodaError as exc:
            if exc.status is None or exc.status >= 500:
                # No answer said whether Coda took the append (it is never replayed): journaled as unconfirmed.
                changes = {"content": (None, content)}
                self.journal.record("coda", f"page {target.name}", release, changes, unconfirmed=True)
            return CodaPageOutcome(
                target.name,
                release,
                "failed",
                f"{exc}. The append is not retried (it could be applied twice); the next run appends it once.",
            )
        self.journal.record("coda", f"page {target.name}", release, {"content": (None, content)})
        confirmed = self._confirm(request_id)
        message = f"appended release {release}" + ("" if confirmed else "; queued in Coda, not confirmed yet")
        return CodaPageOutcome(target.name, release, "written", message, request_id, confirmed)

    def _fresh_lines(self, target: CodaPage):
        start = self._clock()
        while True:
            try:
                return self.client.page_lines(target, latest=True)
            except CodaStaleRead:
                if self._clock() - start + self.fresh_read_interval > self.fresh_read_timeout:
                    return None
                log.debug("the Coda doc has writes pending; reading page %r again shortly", target.name)
                self._sleep(self.fresh_read_interval)

    def _confirm(self, request_id: str) -> bool:
        try:
            status = self.client.wait_for_mutations([request_id], self.polling).get(request_id)
        except (CodaError, BudgetExceeded) as exc:
            log.warning("polling Coda for the page append failed (%s); reported as not confirmed", exc)
            return False
        return bool(status and status.completed)
