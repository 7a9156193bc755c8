"""The release half of a merge or deploy run, as plain data: the notes (record titles resolved),
their rendering, and what each publishing target should hold afterwards.

Sinks (pipe.sinks.changelog_file, airtable_release, deployment_log, coda_rows, coda_page) compare
this with what they read back and write only the difference; each leaves a `TargetResult`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipe.model import Stage
from pipe.plan.records import Resolution, airtable_time
from pipe.release.entries import RecordRef
from pipe.release.links import Links
from pipe.release.notes import ReleaseNotes, resolve_records
from pipe.release.render import LoadedTemplate, render_notes


@dataclass
class TargetResult:
    """What happened at one publishing target, for the log and the report."""

    target: str  # e.g. "CHANGELOG.md", "Airtable release 1.4.0", "Coda table Changelog"
    status: str  # planned, written, unchanged, skipped, failed, pending
    detail: str = ""
    changes: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "status": self.status, "detail": self.detail, "changes": self.changes}


@dataclass
class ReleasePlan:
    stage: Stage
    version: str  # without prefix, e.g. "1.4.0"
    tag: str | None  # existing tag (tag build), else None
    environment: str | None  # deployment environment at the deploy stage
    notes: ReleaseNotes  # record titles resolved where Airtable was read
    markdown: str  # this release's section, rendered by the template
    work_items: list[str]  # Airtable record IDs of the work items this release mentions
    release_time: str  # Airtable dateTime of the release (tag or newest commit)
    deployed_time: str | None = None  # now, at the deploy stage
    results: list[TargetResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(r.status == "failed" for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "tag": self.tag,
            "environment": self.environment,
            "previous_tag": self.notes.previous_tag,
            "entries": len(self.notes.entries),
            "breaking": len(self.notes.breaking),
            "work_items": self.work_items,
            "targets": [r.as_dict() for r in self.results],
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
        title = state.fields.get(resolution.title_field) if resolution.title_field else None
        url = resolution.record_url(state.record_id) if resolution.record_url else None
        return RecordRef(ref.id_or_key, str(title) if title not in (None, "") else None, url)

    resolved = resolve_records(notes, resolve)
    return resolved, list(ids)


def plan_release(
    stage: Stage,
    notes: ReleaseNotes,
    resolution: Resolution,
    template: LoadedTemplate,
    links: Links,
    environment: str | None,
    now: int,
) -> ReleasePlan:
    """Everything the publishing targets need; rendering happens here, before any write, so a template
    error stops the run with nothing written."""
    resolved, work_items = resolve_titles(notes, resolution)
    markdown = render_notes([resolved], template=template, links=links).strip() + "\n"
    return ReleasePlan(
        stage=stage,
        version=resolved.version,
        tag=resolved.tag,
        environment=environment if stage is Stage.DEPLOY else None,
        notes=resolved,
        markdown=markdown,
        work_items=work_items,
        release_time=airtable_time(resolved.timestamp),
        deployed_time=airtable_time(now) if stage is Stage.DEPLOY else None,
    )
