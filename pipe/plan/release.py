"""The release half of a merge or deploy run, as plain data: the notes (record titles resolved),
their rendering, and what each publishing target should hold afterwards.

The targets (pipe.sinks.changelog_file, airtable_release, deployment_log, coda_rows, coda_page) compare
this with what they read back and write only the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipe.facts.run_facts import RunFacts
from pipe.model import Resolution, Stage
from pipe.plan.changelog import ChangelogRow, changelog_rows
from pipe.plan.records import airtable_time
from pipe.release.entries import RecordRef
from pipe.release.notes import ReleaseNotes, resolve_records
from pipe.release.render import render_notes


@dataclass(frozen=True)
class ReleasePlan:
    stage: Stage
    version: str  # without prefix, e.g. "1.4.0"
    tag: str | None  # existing tag (tag build), else None
    environment: str | None  # deployment environment at the deploy stage
    notes: ReleaseNotes  # record titles resolved where Airtable was read
    markdown: str  # this release's section, rendered by the template
    work_items: tuple[str, ...]  # Airtable record IDs of the work items this release mentions
    release_time: str  # Airtable dateTime of the release (tag or newest commit)
    rows: tuple[ChangelogRow, ...]  # the Coda changelog rows of this release
    head: str  # the release's newest commit
    deployed_time: str | None = None  # now, at the deploy stage

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tag": self.tag,
            "environment": self.environment,
            "previous_tag": self.notes.previous_tag,
            "entries": len(self.notes.entries),
            "breaking": len(self.notes.breaking),
            "work_items": list(self.work_items),
        }


def resolve_titles(notes: ReleaseNotes, resolution: Resolution) -> tuple[ReleaseNotes, list[str]]:
    """Fill record titles and URLs from what was read from Airtable; drop references to records that
    do not exist. Returns the notes and the IDs of the records they mention, in order."""
    ids: dict[str, None] = {}

    def resolve(ref: RecordRef) -> RecordRef | None:
        if not resolution.known:
            return ref
        state = resolution.by_id.get(ref.id_or_key)
        if state is None:
            matches = resolution.by_key.get(ref.id_or_key, ())
            state = matches[0] if len(matches) == 1 else None
        if state is None:
            return None
        ids.setdefault(state.record_id, None)
        return RecordRef(ref.id_or_key, resolution.title(state), resolution.record_url(state.record_id))

    resolved = resolve_records(notes, resolve)
    return resolved, list(ids)


def plan_release(facts: RunFacts) -> ReleasePlan | None:
    """Everything the publishing targets need (merge and deploy); rendering happens here, before any write, so
    a template error stops the run with nothing written."""
    if facts.release is None:
        return None
    resolved, work_items = resolve_titles(facts.release.notes, facts.airtable)
    markdown = render_notes([resolved], template=facts.release.template, links=facts.links).strip() + "\n"
    deploy = facts.stage is Stage.DEPLOY
    return ReleasePlan(
        stage=facts.stage,
        version=resolved.version,
        tag=resolved.tag,
        environment=facts.environment,
        notes=resolved,
        markdown=markdown,
        work_items=tuple(work_items),
        release_time=airtable_time(resolved.timestamp),
        rows=tuple(changelog_rows(resolved, facts.links)),
        head=facts.release.head,
        deployed_time=airtable_time(facts.now) if deploy else None,
    )
