"""The built-in template in Python (pipe.release.markdown) gives what templates/default.md.j2 gives in Jinja2."""

from __future__ import annotations

import pytest

from pipe.model import Commit
from pipe.release.config import ReleaseConfig
from pipe.release.context import build_context
from pipe.release.entries import RecordRef, build_entries
from pipe.release.links import Links
from pipe.release.markdown import BuiltinTemplate
from pipe.release.notes import ReleaseNotes, build_notes, resolve_records
from pipe.release.render import load_template
from pipe.release.sandbox import load_jinja_template
from pipe.release.version import Version

ID = "recAbCdEfGhIjKlMn"
MESSAGES = [
    "feat(api): export to CSV",
    f"fix: crash on empty table (pull request #12)\n\nCloses: {ID}",
    "feat!: new config file\n\nBREAKING CHANGE: `sync.yml` replaces `.sync`\nsee the guide\n\n\nand more",
    "chore!: drop Python 3.10",
    "refactor(db): split the {{ module }} and {% tags %}",
    "Update README (#44)",
    "perf: faster\r\nwrapped header\r\n\r\nbody",
    f"docs(guide): records FEAT-7 and {ID}",
    'Revert "feat: something old"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.',
    "✨ feat(ui)!: emoji header",
]


def commits(messages: list[str], offset: int = 0) -> list[Commit]:
    made: list[Commit] = []
    for index, message in enumerate(messages):
        parents = (made[-1].sha,) if made else ()
        sha = f"{index + offset + 10:040x}"
        made.append(Commit(sha, parents, f"Author {index % 3}", "a@x", 1_700_000_000 + index * 86_400, message))
    return list(reversed(made))


def notes(messages: list[str], *, tag: str | None, previous: str | None, offset: int = 0) -> ReleaseNotes:
    history = commits(messages, offset)
    made = build_notes(
        build_entries(history),
        ReleaseConfig(),
        version=Version(2, 0, 0, prefix="v"),
        previous=Version.parse(previous) if previous else None,
        tag=tag,
        previous_tag=previous,
        head=history[0].sha,
        timestamp=history[0].timestamp,
        commits=len(history),
    )

    def resolve(ref: RecordRef) -> RecordRef:
        if ref.id_or_key == ID:
            return RecordRef(ID, "Empty tables", f"https://airtable.com/a/t/{ID}")
        return RecordRef(ref.id_or_key, None, None)

    return resolve_records(made, resolve)


CASES = {
    "tagged": ([notes(MESSAGES, tag="v2.0.0", previous="v1.4.1")], True),
    "unreleased": ([notes(MESSAGES, tag=None, previous="v1.4.1")], False),
    "first release": ([notes(MESSAGES[:3], tag=None, previous=None)], False),
    "nothing to show": ([notes(["chore: deps", "ci: cache"], tag="v2.0.1", previous="v2.0.0")], False),
    "history": (
        [
            notes(MESSAGES[5:], tag=None, previous="v1.0.0", offset=100),
            notes(["ci: only"], tag="v1.0.0", previous="v0.9.0", offset=200),
            notes(MESSAGES[:5], tag="v0.9.0", previous=None, offset=300),
        ],
        True,
    ),
}


@pytest.mark.parametrize("links", [Links("https://bitbucket.org/team/app"), Links("https://github.com/o/r"), Links()])
@pytest.mark.parametrize("case", sorted(CASES))
def test_builtin_renderer_matches_the_jinja_template(case: str, links: Links) -> None:
    releases, full_history = CASES[case]
    expected = load_jinja_template(None).render(build_context(releases, links=links, full_history=full_history))
    builtin = BuiltinTemplate("default.md.j2 (built-in)")
    assert builtin.render_releases(releases, links=links, full_history=full_history) == expected


def test_the_builtin_template_needs_no_jinja() -> None:
    template = load_template()
    assert isinstance(template, BuiltinTemplate) and template.name == "default.md.j2 (built-in)"
