"""Release notes: release range, version, Conventional Commits parsing, entries, grouping, rendering.

The pipe calls (see docs/templates.md for the template context):

    from pipe.release.compose import latest_release, release_history
    from pipe.release.config import ReleaseConfig
    from pipe.release.links import Links
    from pipe.release.notes import resolve_records
    from pipe.release.render import load_template, render_notes

    config = ReleaseConfig.from_dict(yaml_section)              # ConfigError lists every problem
    template = load_template(CHANGELOG_TEMPLATE, root=repo.root)  # TemplateError before any write
    found, notes = latest_release(repo, config=config, tag=BITBUCKET_TAG, head=BITBUCKET_COMMIT,
                                  version=VERSION, key_pattern=key_pattern)
    notes = resolve_records(notes, lookup)                      # fill record titles and URLs
    text = render_notes([notes], template=template, links=Links(repo_url))  # TemplateError

Modules: range (which commits), version (which version), conventional (message parsing), entries
(commits -> entries: reverts, merges, squashes, keys), notes (grouping, model), history (commits
of every release), compose (the above from a repository), context/render (templates), cli
(`python -m pipe.release`). Nothing here is imported by this file, to keep the CLI's start-up small.
"""
