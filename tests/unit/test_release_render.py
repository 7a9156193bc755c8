"""Templates: the default Markdown, the JSON context, and every way a template can fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipe.errors import UserError
from pipe.model import Commit
from pipe.release.config import ReleaseConfig
from pipe.release.context import build_context, context_json
from pipe.release.entries import RecordRef, build_entries
from pipe.release.errors import TemplateError
from pipe.release.links import Links, web_url
from pipe.release.notes import build_notes, resolve_records
from pipe.release.render import load_template, render_notes
from pipe.release.version import Version

ID = "recAbCdEfGhIjKlMn"
LINKS = Links("https://bitbucket.org/team/app")


def make_notes(tag: str | None = None):
    messages = [
        "feat(api): export to CSV",
        f"fix: crash on empty table (pull request #12)\n\nCloses: {ID}",
        "feat!: new config file\n\nBREAKING CHANGE: `sync.yml` replaces `.sync`\nsee the guide",
        "Update README",
    ]
    made: list[Commit] = []
    for index, message in enumerate(messages):
        parents = (made[-1].sha,) if made else ()
        made.append(Commit(f"{index + 10:040x}", parents, "Ada", "a@x", 1_700_000_000 + index * 60, message))
    history = list(reversed(made))
    notes = build_notes(
        build_entries(history),
        ReleaseConfig(),
        version=Version(2, 0, 0, prefix="v"),
        previous=Version(1, 4, 1, prefix="v"),
        tag=tag,
        previous_tag="v1.4.1",
        head=history[0].sha,
        timestamp=history[0].timestamp,
        commits=len(history),
    )
    return resolve_records(notes, lambda r: RecordRef(r.id_or_key, "Empty tables", f"https://airtable.com/a/t/{ID}"))


def test_default_template() -> None:
    text = render_notes([make_notes(tag="v2.0.0")], links=LINKS)
    head = f"{13:040x}"
    fix = f"{11:040x}"
    assert text == (
        "## [2.0.0](https://bitbucket.org/team/app/branches/compare/v2.0.0%0Dv1.4.1#diff) (2023-11-14)\n"
        "\n"
        "### ⚠ BREAKING CHANGES\n"
        "\n"
        f"- `sync.yml` replaces `.sync`\n  see the guide ([{f'{12:040x}'[:7]}](https://bitbucket.org/team/app/commits/{12:040x}))\n"
        "\n"
        "### Features\n"
        "\n"
        f"- new config file ([{f'{12:040x}'[:7]}](https://bitbucket.org/team/app/commits/{12:040x}))\n"
        f"- **api:** export to CSV ([{f'{10:040x}'[:7]}](https://bitbucket.org/team/app/commits/{10:040x}))\n"
        "\n"
        "### Bug Fixes\n"
        "\n"
        f"- crash on empty table ([{fix[:7]}](https://bitbucket.org/team/app/commits/{fix}))"
        f" ([#12](https://bitbucket.org/team/app/pull-requests/12)) — [Empty tables](https://airtable.com/a/t/{ID})\n"
        "\n"
        "### Other\n"
        "\n"
        f"- Update README ([{head[:7]}](https://bitbucket.org/team/app/commits/{head}))\n"
    )


def test_default_template_without_links_and_unreleased() -> None:
    text = render_notes([make_notes()], full_history=True)
    assert text.startswith("# Changelog\n\n## 2.0.0 (2023-11-14) — unreleased\n")
    assert f"- crash on empty table ({f'{11:040x}'[:7]}) (#12) — [Empty tables](" in text


def test_context_is_plain_json_and_documented(tmp_path: Path) -> None:
    context = build_context([make_notes(tag="v2.0.0")], links=LINKS)
    assert json.loads(context_json(context)) == context
    release = context["release"]
    assert release is context["releases"][0]
    assert set(context) == {"context_version", "full_history", "repository", "releases", "release"}
    assert set(release) == {
        "version",
        "tag",
        "tag_name",
        "released",
        "has_entries",
        "previous_version",
        "previous_tag",
        "date",
        "timestamp",
        "head",
        "compare",
        "groups",
        "breaking",
        "stats",
        "warnings",
    }
    entry = release["groups"][1]["entries"][0]
    assert set(entry) == {
        "key",
        "sha",
        "short_sha",
        "commit_url",
        "type",
        "scope",
        "description",
        "subject",
        "headline",
        "body",
        "footers",
        "breaking",
        "breaking_description",
        "conventional",
        "author",
        "timestamp",
        "date",
        "pr_number",
        "pr_url",
        "reverts",
        "records",
        "references",
    }
    assert (entry["key"], entry["pr_number"], entry["records"][0]["title"]) == ("pr-12", 12, "Empty tables")
    docs = (Path(__file__).parents[2] / "docs" / "templates.md").read_text()
    for key in [*context, *release, *entry, *release["stats"], *release["compare"]]:
        assert f"`{key}`" in docs, f"docs/templates.md does not document {key}"


def write(root: Path, name: str, text: str) -> str:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return name


def render_user(root: Path, name: str) -> str:
    return load_template(name, root=root).render(build_context([make_notes()], links=LINKS))


def test_user_template(tmp_path: Path) -> None:
    name = write(
        tmp_path, "ci/notes.md.j2", "{% for r in releases %}{{ r.version }}:{{ r.stats.entries }}{% endfor %}\n"
    )
    assert render_user(tmp_path, name) == "2.0.0:4\n"


@pytest.mark.parametrize(
    ("source", "line", "reason"),
    [
        ("ok\n{{ ''.__class__.__mro__ }}\n", 2, "not allowed in the sandbox: access to attribute '__class__'"),
        ("{{ cycler.__init__.__globals__ }}", 1, "not allowed in the sandbox"),
        ("{{ '{0.__class__}'.format(1) }}", 1, "not allowed in the sandbox"),
        ("{% set x = releases.append(1) %}", 1, "not allowed in the sandbox"),  # immutable sandbox
        ("{{ 'x' * 10000000 }}", 1, "not allowed in the sandbox: repeating a sequence"),
        ("{{ 2 ** 100000 }}", 1, "not allowed in the sandbox: the exponent"),
        ("a\nb\n{{ release.verison }}", 3, "undefined: 'dict object' has no attribute 'verison'"),
        ("{{ nothing_here }}", 1, "undefined: 'nothing_here' is undefined"),
        ("{{ 1 / 0 }}", 1, "ZeroDivisionError"),
    ],
)
def test_render_failures_name_file_and_line(tmp_path: Path, source: str, line: int, reason: str) -> None:
    name = write(tmp_path, "docs/changelog.md.j2", source)
    with pytest.raises(TemplateError) as caught:
        render_user(tmp_path, name)
    error = caught.value
    assert isinstance(error, UserError) and error.exit_code == 2
    assert (error.template, error.line) == ("docs/changelog.md.j2", line)
    assert str(error).startswith(f"changelog template docs/changelog.md.j2, line {line}: ")
    assert reason in error.reason


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    name = write(tmp_path, "t.j2", "one\ntwo\n{% for x in releases %}\n{{ x }\n")
    with pytest.raises(TemplateError, match=r"^changelog template t\.j2, line 4: syntax error: "):
        load_template(name, root=tmp_path)


def test_errors_in_included_templates_name_the_included_file(tmp_path: Path) -> None:
    write(tmp_path, "parts/entry.j2", "line one\n{{ release.nope }}\n")
    write(tmp_path, "parts/broken.j2", "{% if %}\n")
    with pytest.raises(TemplateError, match=r"parts/entry\.j2, line 2: undefined"):
        render_user(tmp_path, write(tmp_path, "main.j2", '{% include "parts/entry.j2" %}'))
    with pytest.raises(TemplateError, match=r"parts/broken\.j2, line 1: syntax error"):
        render_user(tmp_path, write(tmp_path, "main2.j2", 'x\n{% include "parts/broken.j2" %}'))
    with pytest.raises(TemplateError, match=r"main3\.j2, line 2: cannot include \.\./secret: the path leaves"):
        render_user(tmp_path, write(tmp_path, "main3.j2", 'x\n{% include "../secret" %}'))


def test_paths_outside_the_repository_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    outside = write(tmp_path, "outside.j2", "secret")
    (root / "link.j2").symlink_to(tmp_path / outside)
    for path in ("../outside.j2", str(tmp_path / outside), "link.j2"):
        with pytest.raises(TemplateError, match="leaves the repository"):
            load_template(path, root=root)
    with pytest.raises(TemplateError, match="no such file"):
        load_template("missing.j2", root=root)


def test_web_urls_from_remotes() -> None:
    assert web_url("git@bitbucket.org:team/app.git") == "https://bitbucket.org/team/app"
    assert web_url("https://x-token-auth:secret@bitbucket.org/team/app.git") == "https://bitbucket.org/team/app"
    assert web_url("ssh://git@github.com/o/r.git") == "https://github.com/o/r"
    assert web_url("/srv/git/app.git") is None
    gh = Links("https://github.com/o/r")
    assert gh.pull_request(3) == "https://github.com/o/r/pull/3"
    assert gh.compare("v1", "v2") == "https://github.com/o/r/compare/v1...v2"
    assert LINKS.compare(None, "v1") is None
