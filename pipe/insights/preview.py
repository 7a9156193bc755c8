"""A preview of the release-notes entries a pull request will add, made by the release machinery itself
(pipe.release: entries, grouping, the team's template), from the pull request's own commits.

The version shown is the one these commits alone would make on top of the latest release tag the pull
request's head can reach (read from the clone, nothing fetched); the release may bump further if other work
is merged first. Record titles and links come from what the run read from Airtable.
"""

from __future__ import annotations

from pipe.clients.git import GitRepo
from pipe.config.settings import Settings
from pipe.facts.run_facts import RunFacts
from pipe.plan.release import resolve_titles
from pipe.release.compose import change_notes
from pipe.release.render import load_template, render_notes


def release_preview(repo: GitRepo, facts: RunFacts, settings: Settings) -> str | None:
    """The rendered notes of the pull request's commits, or None when they add no entry. Raises TemplateError
    (a broken CHANGELOG_TEMPLATE) and GitError like the release stages do."""
    if not facts.commit_range.commits:
        return None
    notes = change_notes(
        repo,
        facts.commit_range,
        config=settings.release.notes,
        version=settings.release.version,
        key_pattern=settings.airtable.key_pattern,
        prerelease=settings.release.prerelease,
    )
    if not notes.entries and not notes.breaking:
        return None
    resolved, _ = resolve_titles(notes, facts.airtable)
    template = load_template(settings.release.template, root=repo.root)
    return render_notes([resolved], template=template, links=facts.links)
