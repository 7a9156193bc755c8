"""The release a merge or deploy run is about: its commit range and notes (from git only), and the
template that will render them (loaded now, so a broken template stops the run before any read; so does a
`CHANGELOG_FILE` outside the repository or naming a directory)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pipe.config import Settings
from pipe.facts.git import GitRepo
from pipe.model import PipelineContext
from pipe.release.compose import latest_release
from pipe.release.notes import ReleaseNotes
from pipe.release.range import ReleaseRange
from pipe.release.render import LoadedTemplate, load_template
from pipe.sinks.changelog_file import changelog_path

log = logging.getLogger("pipe")


@dataclass(frozen=True)
class ReleaseFacts:
    range: ReleaseRange
    notes: ReleaseNotes
    template: LoadedTemplate

    @property
    def head(self) -> str:
        return self.range.commit_range.head


def gather_release(repo: GitRepo, settings: Settings, ctx: PipelineContext, version: str | None) -> ReleaseFacts:
    """`version`: VERSION, else one an earlier step of this pipeline published (shared storage)."""
    v = settings.variables
    template = load_template(v.CHANGELOG_TEMPLATE, root=repo.root)
    if v.CHANGELOG_FILE:
        changelog_path(repo.root, v.CHANGELOG_FILE)  # a path outside the repository stops the run here
    found, notes = latest_release(
        repo,
        config=settings.release,
        tag=ctx.tag,
        head=ctx.commit,
        version=version,
        key_pattern=v.KEY_PATTERN,
        logger=log,
    )
    previous = found.previous_tag.name if found.previous_tag else "none"
    log.info("Release %s (previous release tag: %s, %d commits)", notes.version, previous, notes.stats.commits)
    return ReleaseFacts(found, notes, template)
