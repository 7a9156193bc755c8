"""The template context: plain dicts, lists, strings, numbers, booleans and None (JSON as is).

Documented key by key in docs/templates.md; `python -m pipe.release --context` prints it.
Dict keys never shadow dict methods (`items`, `keys`, `values`, `get`...), so `entry.key` and
friends work with Jinja's attribute syntax.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipe.release.entries import Entry
from pipe.release.links import Links
from pipe.release.notes import ReleaseNotes, date_of

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)
if TYPE_CHECKING:
    from typing import Any

CONTEXT_VERSION = 1  # bumped when a key changes meaning or goes away


def build_context(releases: Sequence[ReleaseNotes], *, links: Links | None = None, full_history: bool = False) -> dict:
    links = links or Links()
    dates: dict[int, str] = {}  # day number -> YYYY-MM-DD, shared by all entries of this context
    rendered = [release_context(r, links, dates) for r in releases]
    return {
        "context_version": CONTEXT_VERSION,
        "full_history": full_history,
        "repository": {"url": links.repo_url},
        "releases": rendered,
        "release": rendered[0] if rendered else None,
    }


def release_context(notes: ReleaseNotes, links: Links, dates: dict[int, str] | None = None) -> dict[str, Any]:
    cache: dict[str, dict[str, Any]] = {}
    dates = {} if dates is None else dates

    def entry(e: Entry) -> dict[str, Any]:
        if e.sha not in cache:
            cache[e.sha] = entry_context(e, links, dates)
        return cache[e.sha]

    return {
        "version": notes.version,
        "tag": notes.tag,
        "tag_name": notes.tag_name,
        "released": notes.released,
        "has_entries": notes.has_entries,
        "previous_version": notes.previous_version,
        "previous_tag": notes.previous_tag,
        "date": notes.date,
        "timestamp": notes.timestamp,
        "head": notes.head,
        "compare": {
            "from": notes.compare_from,
            "to": notes.compare_to,
            "url": notes.compare_url(links),
        },
        "groups": [
            {"title": g.title, "types": list(g.types), "entries": [entry(e) for e in g.entries]} for g in notes.groups
        ],
        "breaking": [entry(e) for e in notes.breaking],
        "stats": {
            "commits": notes.stats.commits,
            "merges": notes.stats.merges,
            "entries": notes.stats.entries,
            "conventional": notes.stats.conventional,
            "breaking": notes.stats.breaking,
            "cancelled": notes.stats.cancelled,
            "hidden": notes.stats.hidden,
            "contributors": list(notes.stats.contributors),
        },
        "warnings": list(notes.warnings),
    }


def entry_context(e: Entry, links: Links, dates: dict[int, str] | None = None) -> dict[str, Any]:
    day = e.timestamp // 86_400
    date = dates.get(day) if dates is not None else None
    if date is None:
        date = date_of(e.timestamp)
        if dates is not None:
            dates[day] = date
    return {
        "key": e.key,
        "sha": e.sha,
        "short_sha": e.sha[:7],
        "commit_url": links.commit(e.sha),
        "type": e.type,
        "scope": e.scope,
        "description": e.description,
        "subject": e.subject,
        "headline": e.headline,
        "body": e.body,
        # (each `[... for ...]` costs a call even when empty, so empty tuples give `[]` directly)
        "footers": [{"token": f.token, "separator": f.separator, "value": f.value} for f in e.footers]
        if e.footers
        else [],
        "breaking": e.breaking,
        "breaking_description": e.breaking_description,
        "conventional": e.conventional,
        "author": {"name": e.author_name, "email": e.author_email},
        "timestamp": e.timestamp,
        "date": date,
        "pr_number": e.pr_number,
        "pr_url": links.pull_request(e.pr_number),
        "reverts": list(e.reverts),
        "records": [{"id_or_key": r.id_or_key, "title": r.title, "url": r.url} for r in e.records] if e.records else [],
        "references": [r.as_dict() for r in e.references] if e.references else [],
    }


def context_json(context: dict) -> str:
    import json  # only for --context

    return json.dumps(context, indent=2, ensure_ascii=False) + "\n"
