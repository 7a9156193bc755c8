"""Append the rendered notes of a release to a Coda page, once per release, also when runs publish at once.

Why a visible marker line, and why the page is read with `X-Coda-Doc-Version: latest`:

- Page content cannot be read back as Markdown cheaply: `listPageContent` gives plain-text lines only, and
  the Markdown export is a slow asynchronous job; Coda's Markdown round trip is not idempotent either. So
  the pipe only ever appends, and ends each appended section with one plain paragraph,
  `Published by airtable-coda-sync: release <version>`, which survives the conversion unchanged. A release
  whose marker line is on the page is not appended again. Later changes to a release's notes reach the Coda
  table (rows are upserted), not the page.
- Writes land seconds to minutes after their 202, and reads serve a snapshot, so reads are made with
  `X-Coda-Doc-Version: latest`, which Coda refuses (400) while any write to the doc is pending; the sink
  retries such a read every `fresh_read_interval` seconds for up to `fresh_read_timeout` (5 minutes, and
  never past the run's TIME_BUDGET), and appends nothing when the doc stays stale. Runs at the same time
  keep the doc busy for as long as they write (their rows too), so the wait is long enough for them to end.
- Two runs that read the page before either appended (a staging and a production deploy of one release)
  both append. So after its append, a run reads the page again (fresh, so after the append is applied) and
  deletes every copy of its release's section but the first (`deletePageContent` with the copies' element
  IDs; never an empty list, which would delete the whole page). A copy is the lines after the marker line
  before it up to its own marker line. Every run that appended computes the same copies from the same fresh
  page, so they converge on one section whatever the order. Content a person wrote between two copies of one
  section is deleted with the second copy (sections appended by the pipe follow each other). A run that
  finds its release on the page already deletes such copies too (a run that appended may have stopped
  before it checked).
- An append is not replay-safe, so the HTTP policy never retries it after a 5xx or a dropped connection; it
  is reported as failed, and the next run (which looks for the marker first) appends it at most once.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pipe.clients.coda import CodaClient, CodaConfigError, CodaError, CodaPage, CodaStaleRead, MutationPolling, PageLine
from pipe.clients.http import BudgetExceeded
from pipe.model import TargetResult
from pipe.plan.release import ReleasePlan
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.changelog_file import nothing_to_show
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.coda")

MARKER_PREFIX = "Published by airtable-coda-sync: release "

PageStatus = Literal["written", "unchanged", "skipped", "failed"]


def release_marker(release: str) -> str:
    return f"{MARKER_PREFIX}{release}"


def duplicate_sections(lines: Sequence[PageLine], release: str) -> list[str]:
    """Element IDs of every copy of `release`'s section after the first (empty when it is there once)."""
    marker = release_marker(release)
    doomed: list[str] = []
    start, seen = 0, False
    for index, line in enumerate(lines):
        text = line.content.strip()
        if text == marker:
            if seen:
                doomed.extend(line.id for line in lines[start : index + 1])
            seen = True
        if text.startswith(MARKER_PREFIX):
            start = index + 1
    return doomed


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


@dataclass(frozen=True)
class PreparedPage:
    """What `CodaPageSink.prepare` found: the page, and the content to append (None: nothing to append)."""

    page: CodaPage
    release: str
    content: str | None
    outcome: CodaPageOutcome | None = None  # known without writing (already there, doc stale)
    copies: tuple[str, ...] = ()  # the release is on the page more than once: element IDs of the copies


class CodaPageSink:
    def __init__(
        self,
        client: CodaClient,
        journal: Journal,
        *,
        polling: MutationPolling | None = None,
        fresh_read_timeout: float = 300.0,
        fresh_read_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ):
        self.client = client
        self.journal = journal
        self.polling = polling or MutationPolling()
        self.fresh_read_timeout = fresh_read_timeout
        self.fresh_read_interval = fresh_read_interval
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()  # spreads the reads of runs waiting for the same doc

    def apply(self, page: str, release: str, markdown: str, *, dry_run: bool = False) -> CodaPageOutcome:
        prepared = self.prepare(page, release, markdown)
        if prepared.outcome is not None:
            return prepared.outcome
        if dry_run:
            would = "delete copies of" if prepared.content is None else "append"
            return CodaPageOutcome(prepared.page.name, release, "skipped", f"dry run: would {would} release {release}")
        return self.write(prepared)

    def prepare(self, page: str, release: str, markdown: str) -> PreparedPage:
        """Find the page and look for the release's marker (a fresh read). Reads only."""
        target = self.client.page(page)
        if target.content_type != "canvas":
            raise CodaConfigError(
                f"CODA_PAGE: page {target.name!r} ({target.id}) is a {target.content_type} page; release notes can "
                "only be appended to a canvas page (a regular page of text)."
            )
        lines = self._fresh_lines(target)
        if lines is None:
            return PreparedPage(target, release, None, self._stale(target, release))
        if any(line.content.strip() == release_marker(release) for line in lines):
            copies = tuple(duplicate_sections(lines, release))
            if copies:
                return PreparedPage(target, release, None, copies=copies)
            unchanged = CodaPageOutcome(target.name, release, "unchanged", f"release {release} is already on the page")
            return PreparedPage(target, release, None, unchanged)
        return PreparedPage(target, release, markdown.rstrip("\n") + "\n\n" + release_marker(release) + "\n")

    def write(self, prepared: PreparedPage) -> CodaPageOutcome:
        target, release, content = prepared.page, prepared.release, prepared.content
        if prepared.outcome is not None:
            return prepared.outcome
        if content is None:
            message = f"release {release} is already on the page" + self._remove_copies(target, release)
            return CodaPageOutcome(target.name, release, "written" if prepared.copies else "unchanged", message)
        table = f"page {target.name}"
        try:
            request_id = self.client.append_to_page(target, content)
        except CodaError as exc:
            if exc.status is None or exc.status >= 500:
                # No answer said whether Coda took the append (it is never replayed): journaled as unconfirmed.
                self.journal.record("coda", table, release, {"content": (None, content)}, unconfirmed=True)
            return CodaPageOutcome(
                target.name,
                release,
                "failed",
                f"{exc}. The append is not retried (it could be applied twice); the next run appends it once.",
            )
        self.journal.record("coda", table, release, {"content": (None, content)})
        confirmed = self._confirm(request_id)
        message = f"appended release {release}" + ("" if confirmed else "; queued in Coda, not confirmed yet")
        # A fresh read waits for every pending write of the doc, this append included, even when polling its
        # status ran out first.
        message += self._remove_copies(target, release)
        return CodaPageOutcome(target.name, release, "written", message, request_id, confirmed)

    def _remove_copies(self, target: CodaPage, release: str) -> str:
        """After an applied append: delete the copies of the section that concurrent runs appended too."""
        lines = self._fresh_lines(target)
        if lines is None:
            return "; the doc stayed busy, so the page was not checked for a second copy (a re-run checks it)"
        doomed = duplicate_sections(lines, release)
        if not doomed:
            return ""
        try:
            request_id = self.client.delete_page_content(target, doomed)
        except CodaError as exc:
            return f"; a second copy appended by another run is on the page and could not be deleted ({exc})"
        self.journal.record("coda", f"page {target.name}", release, {"duplicate": (len(doomed), None)})
        confirmed = self._confirm(request_id)
        log.info(
            "Coda page %r: deleted a copy of release %s another run appended at the same time", target.name, release
        )
        return "; deleted a copy another run appended at the same time" + ("" if confirmed else " (queued)")

    def _stale(self, target: CodaPage, release: str) -> CodaPageOutcome:
        return CodaPageOutcome(
            target.name,
            release,
            "skipped",
            f"Coda's copy of the doc still had writes pending after {self.fresh_read_timeout:g} s, so the page "
            f"could not be checked for release {release}; nothing was appended (to never append it twice). "
            "Re-run the step to publish the notes.",
        )

    def _fresh_lines(self, target: CodaPage) -> list[PageLine] | None:
        """The page's lines read with `latest`, retried while the doc has writes pending; None when it stays
        busy for `fresh_read_timeout` seconds or until the run's time budget would end."""
        start = self._clock()
        deadline = self.client.policy.deadline
        while True:
            try:
                return self.client.page_lines(target, latest=True)
            except CodaStaleRead:
                pause = self.fresh_read_interval * self._rng.uniform(0.5, 1.5)  # runs waiting read apart
                next_read = self._clock() + pause
                if next_read - start > self.fresh_read_timeout or (deadline is not None and next_read > deadline):
                    return None
                log.debug("the Coda doc has writes pending; reading page %r again shortly", target.name)
                self._sleep(pause)

    def _confirm(self, request_id: str) -> bool:
        try:
            status = self.client.wait_for_mutations([request_id], self.polling).get(request_id)
        except (CodaError, BudgetExceeded) as exc:
            log.warning("polling Coda for the page write failed (%s); reported as not confirmed", exc)
            return False
        return bool(status and status.completed)

    def fresh_lines(self, target: CodaPage) -> list[PageLine] | None:
        """The page's lines as they are after every pending write (None: the doc stayed busy); for the rollback."""
        return self._fresh_lines(target)


# -- the run's target ----------------------------------------------------------------------------------


def target(run: TargetRun) -> CodaPageTarget | Fixed | None:
    coda, release = run.settings.coda, run.plan.release
    if not coda.doc_id or not coda.page or release is None:
        return None
    name = f"Coda page {coda.page}"
    if not run.settings.release.notes.publishes(release.notes):
        return Fixed(TargetResult(name, "skipped", nothing_to_show(release.version)))
    if run.clients.coda is None:
        return Fixed(TargetResult(name, "planned", f"release {release.version} (not read)"))
    return CodaPageTarget(CodaPageSink(run.clients.coda, Journal(None, None)), coda.page, release, name)


@dataclass
class CodaPageTarget:
    sink: CodaPageSink
    page: str
    release: ReleasePlan
    name: str

    def prepare(self) -> CodaPageChange | Fixed:
        prepared = self.sink.prepare(self.page, self.release.version, self.release.markdown)
        if prepared.outcome is not None:
            return Fixed(page_result(self.name, prepared.outcome))
        return CodaPageChange(self.sink, prepared, self.name)


@dataclass
class CodaPageChange:
    sink: CodaPageSink
    prepared: PreparedPage
    name: str

    def preview(self) -> TargetResult:
        if self.prepared.content is None:
            return TargetResult(
                self.name, "planned", f"dry run: would delete copies of release {self.prepared.release}"
            )
        return TargetResult(self.name, "planned", f"dry run: would append release {self.prepared.release}")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        self.sink.journal = journal
        try:
            return page_result(self.name, self.sink.write(self.prepared))
        except (CodaError, CodaConfigError) as exc:
            return TargetResult(self.name, "failed", str(exc))


def page_result(name: str, outcome: CodaPageOutcome) -> TargetResult:
    if outcome.status == "written" and outcome.confirmed is False:
        return TargetResult(name, "pending", outcome.message)
    return TargetResult(name, outcome.status, outcome.message)
