"""The release a merge or deploy run is about: its commit range and notes (from git only), and the
template that will render them (loaded now, so a broken template stops the run before any read)."""

from __future__ import annotations

import logging

from pipe.clients.git import GitRepo
from pipe.config.settings import Settings
from pipe.facts.run_facts import ReleaseFacts
from pipe.model import PipelineContext
from pipe.release.compose import latest_release
from pipe.release.render import load_template

log = logging.getLogger("pipe")


def gather_release(repo: GitRepo, settings: Settings, ctx: PipelineContext, version: str | None) -> ReleaseFacts:
    """`version`: VERSION, else one an earlier step of this pipeline published (shared storage)."""
    release = settings.release
    template = load_template(release.template, root=repo.root)
    found, notes = latest_release(
        repo,
        config=release.notes,
        tag=ctx.tag,
        head=ctx.commit,
        version=version,
        prerelease=release.prerelease,
        key_pattern=settings.airtable.key_pattern,
        logger=log,
    )
    previous = found.previous_tag.name if found.previous_tag else "none"
    commits = notes.stats.commits
    log.info(
        "Release %s (previous release tag: %s, %d commit%s)",
        notes.version,
        previous,
        commits,
        "" if commits == 1 else "s",
    )
    return ReleaseFacts(found, notes, template)
