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
from pipe.release.entries import build_entries
from pipe.release.notes import build_notes, bump_flags
from pipe.release.range import merged_tags, release_tags
from pipe.release.render import load_template, render_notes
from pipe.release.version import next_version, parse_version_variable


def release_preview(repo: GitRepo, facts: RunFacts, settings: Settings) -> str | None:
    """The rendered notes of the pull request's commits, or None when they add no entry. Raises TemplateError
    (a broken CHANGELOG_TEMPLATE) and GitError like the release stages do."""
    commits = facts.commit_range.commits
    if not commits:
        return None
    config = settings.release.notes
    head = facts.commit_range.head
    result = build_entries(commits, head=head, key_pattern=settings.airtable.key_pattern)
    if not result.entries:
        return None
    tags = [t for t in release_tags(merged_tags(repo, head), config.tag_pattern) if t.sha != head]
    if not config.include_prereleases:
        tags = [t for t in tags if not t.version.is_prerelease]
    previous = tags[0] if tags else None
    breaking, feature = bump_flags(result.entries)
    requested = parse_version_variable(settings.release.version) if settings.release.version else None
    version = next_version(
        previous.version if previous else None,
        breaking=breaking,
        feature=feature,
        requested=requested,
        first=config.first_version,
        first_prefix=config.first_prefix,
    )
    notes = build_notes(
        result,
        config,
        version=version,
        previous=previous.version if previous else None,
        tag=None,
        previous_tag=previous.name if previous else None,
        head=head,
        timestamp=commits[0].timestamp,
        commits=len(commits),
    )
    if not notes.entries and not notes.breaking:
        return None
    resolved, _ = resolve_titles(notes, facts.airtable)
    template = load_template(settings.release.template, root=repo.root)
    return render_notes([resolved], template=template, links=facts.links)
