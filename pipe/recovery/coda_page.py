"""Roll back the section a run appended to a Coda page: delete exactly that section's elements.

The sink ends each section with its marker line (`Published by airtable-coda-sync: release <version>`). The
section is found again on a fresh read of the page (`X-Coda-Doc-Version: latest`): from the first line of the
notes the run appended (their heading) after the marker line before it, down to the release's marker line.
Coda gives page content back as plain-text lines only, so lines are compared with the journaled Markdown by
their letters and digits alone (links, emphasis and list marks differ between the two). When every line of the
section is text of the notes, its elements are deleted (`deletePageContent` with their IDs, never an empty list,
which would delete the whole page); a line that is not (a person edited or added one) leaves the section in
place, reported. A page without the marker needs nothing.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pipe.clients.coda import CodaClient, CodaConfigError, CodaError, CodaPage, MutationPolling, PageLine
from pipe.clients.http import BudgetExceeded
from pipe.recovery.journal_reader import RecordHistory
from pipe.recovery.plan import FieldAction, FieldRollback, RecordAction, RecordRollback
from pipe.sinks.coda_page import MARKER_PREFIX, CodaPageSink, release_marker
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.rollback")

KIND = "coda page"
TABLE_PREFIX = "page "
FRESH_READ_TIMEOUT = 60.0  # seconds a busy doc is waited for before the page is reported as not read


@dataclass(frozen=True)
class Section:
    """One copy of a release's section on the page."""

    ids: tuple[str, ...]  # its elements, marker line included
    lines: tuple[str, ...]  # their text
    foreign: str | None = None  # the first line that is not text of the notes (or why the section is not theirs)


def release_sections(lines: Sequence[PageLine], release: str, markdown: str) -> list[Section]:
    """Every copy of `release`'s section on the page, each checked against the Markdown the run appended."""
    marker = release_marker(release)
    notes = _plain(_unlinked(markdown))
    heading = next((_plain(_unlinked(line)) for line in markdown.splitlines() if _plain(line)), "")
    found: list[Section] = []
    previous = -1  # the last marker line seen (of any release)
    for index, line in enumerate(lines):
        text = line.content.strip()
        if text == marker:
            body = lines[previous + 1 : index]
            start = next((i for i, b in enumerate(body) if heading and _plain(b.content) == heading), None)
            if start is None:
                shown = body[-1].content if body else "(nothing)"
                found.append(Section((), (), f"the notes' first line is not above the marker line (found {shown!r})"))
            else:
                part = [*body[start:], line]
                foreign = next((b.content for b in part if _plain(b.content) not in notes), None)
                found.append(Section(tuple(b.id for b in part), tuple(b.content for b in part), foreign))
        if text.startswith(MARKER_PREFIX):
            previous = index
    return found


def _unlinked(markdown: str) -> str:
    """Markdown with link and image targets dropped (`[text](url)` -> `[text]`): the page shows only the text."""
    return re.sub(r"\]\([^)]*\)", "]", markdown)


def _plain(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.casefold())


@dataclass
class CodaPageRestorer:
    client: CodaClient | None  # None: a dry run without CODA_API_TOKEN (nothing read)
    polling: MutationPolling = field(default_factory=lambda: MutationPolling())
    fresh_read_timeout: float = FRESH_READ_TIMEOUT
    pages: dict[str, tuple[CodaPage, list[PageLine] | None] | None] = field(default_factory=dict)  # None: gone
    doomed: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # elements to delete by record

    kind = KIND

    def read(self, histories: Sequence[RecordHistory]) -> None:
        if self.client is None:
            return
        sink = CodaPageSink(self.client, Journal(None, None), fresh_read_timeout=self.fresh_read_timeout)
        for name in dict.fromkeys(h.table.removeprefix(TABLE_PREFIX) for h in histories):
            try:
                page = self.client.page(name)
            except CodaConfigError as exc:
                if "there is no page" not in str(exc):  # the token or the doc: the rollback stops (exit 2)
                    raise
                self.pages[name] = None  # deleted or renamed since: reported, the rest is rolled back
                continue
            self.pages[name] = (page, sink.fresh_lines(page))

    def plan(self, history: RecordHistory) -> RecordRollback:
        record = RecordRollback(
            history.service, history.table, history.record, RecordAction.ROLL_BACK, [], run_ids=history.run_ids
        )
        content = history.fields.get("content")
        if content is None:
            record.action = RecordAction.NOT_SUPPORTED
            record.reason = "the run only deleted copies of the section other runs appended at the same time"
            return record
        f = FieldRollback("content", content.before, content.after, writes=content.writes)
        record.fields.append(f)
        release, name = history.record, history.table.removeprefix(TABLE_PREFIX)
        if self.client is None:
            f.note = f"the section of release {release} removed if nobody changed it since (not read)"
            return record
        state = self.pages.get(name)
        if state is None:
            record.action = RecordAction.MISSING
            record.reason = f"there is no page {name!r} in the doc any more"
            return record
        page, lines = state
        if lines is None:
            record.error = (
                f"the doc kept writes pending for {self.fresh_read_timeout:g} s, so page {name!r} could not be read "
                "as it is; nothing was removed (re-run the rollback)"
            )
            f.note = "not read"
            return record
        reference = content.after if isinstance(content.after, str) else content.before
        sections = release_sections(lines, release, reference if isinstance(reference, str) else "")
        f.current = "\n".join(line for s in sections for line in s.lines) or None
        _judge(f, sections, release)
        if f.action is FieldAction.RESTORE:
            self.doomed[(history.table, release)] = tuple(i for s in sections for i in s.ids)
        return record

    def apply(self, records: Sequence[RecordRollback], journal: Journal) -> None:
        if self.client is None:
            return
        for record in records:
            state = self.pages.get(record.table.removeprefix(TABLE_PREFIX))
            ids = self.doomed.get((record.table, record.record), ())
            if state is None or not ids:  # never an empty list: that would delete the whole page
                continue
            page = state[0]
            try:
                request_id = self.client.delete_page_content(page, ids)
            except (CodaError, CodaConfigError, BudgetExceeded) as exc:
                record.error = str(exc)
                continue
            record.written = True
            f = record.fields[0]
            journal.record("coda", record.table, record.record, {"content": (f.after, None)}, created=False)
            record.pending = not self._confirmed(self.client, request_id)

    def _confirmed(self, client: CodaClient, request_id: str) -> bool:
        try:
            status = client.wait_for_mutations([request_id], self.polling).get(request_id)
        except (CodaError, BudgetExceeded) as exc:
            log.warning("Polling Coda for the page's deletion failed (%s); reported as queued", exc)
            return False
        return bool(status and status.completed)


def _judge(f: FieldRollback, sections: list[Section], release: str) -> None:
    """RESTORE (remove), ALREADY or CHANGED_SINCE, with what the log says."""
    wrote, wanted = f.after is not None, f.before is not None
    if not sections:
        f.action = FieldAction.ALREADY if not wanted else FieldAction.CHANGED_SINCE
        f.note = f"release {release} is not on the page" + ("" if not wanted else " (a rollback removed it)")
        return
    if not wrote:  # the journal says it was removed (a rollback's journal); it is there again
        f.action = FieldAction.ALREADY if wanted else FieldAction.CHANGED_SINCE
        f.note = f"release {release} is on the page"
        return
    foreign = next((s.foreign for s in sections if s.foreign), None)
    if foreign is not None:
        f.action = FieldAction.CHANGED_SINCE
        f.note = (
            f"the section of release {release} holds a line the run did not write ({foreign[:60]!r}); left alone: "
            "remove it by hand"
        )
        return
    count = sum(len(s.ids) for s in sections)
    f.action = FieldAction.RESTORE
    copies = f" in {len(sections)} copies" if len(sections) > 1 else ""
    f.note = f"the section of release {release} ({count} lines{copies}) -> removed"
