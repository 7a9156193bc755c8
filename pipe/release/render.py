"""Render release notes: the built-in Markdown template, or the user's Jinja2 template.

- Without `CHANGELOG_TEMPLATE` the notes are rendered by `pipe.release.markdown`, plain Python that
  gives exactly what `templates/default.md.j2` gives in Jinja2 (a test renders both): importing
  Jinja2 and compiling that template cost more than the whole latest release takes otherwise.
  `templates/default.md.j2` stays the reference, and the starting point for your own template.
- A user template (`CHANGELOG_TEMPLATE`, a file inside the repository) is rendered by
  `pipe.release.sandbox`: Jinja2's sandbox, strict undefined variables, bounded in time, memory and
  output size.
- Every failure (syntax error, undefined variable, sandbox violation, a limit, any error raised while
  rendering, unreadable file) raises one `TemplateError` naming the file and line. Render before
  publishing anything.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipe.release.config import ReleaseConfig
from pipe.release.links import Links
from pipe.release.notes import ReleaseNotes
from pipe.release.template import LoadedTemplate, display_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)
if TYPE_CHECKING:
    from pathlib import Path


def load_template(path: str | None = None, *, root: Path | None = None) -> LoadedTemplate:
    """The user's template at `path` (inside `root`), or the built-in default when `path` is empty."""
    if not path:
        from pipe.release.markdown import BuiltinTemplate

        return BuiltinTemplate(display_name())
    from pipe.release.sandbox import load_jinja_template

    return load_jinja_template(path, root=root)


def render_notes(
    releases: Sequence[ReleaseNotes],
    *,
    template: LoadedTemplate | None = None,
    links: Links | None = None,
    full_history: bool = False,
    config: ReleaseConfig | None = None,
) -> str:
    """Render `releases` (newest first) with `template` (default: the built-in one). With `config`,
    releases it does not publish (nothing to show, `show_empty_releases` off) are left out; when
    none is left the result is empty."""
    if config is not None:
        releases = [r for r in releases if config.publishes(r)]
        if not releases:
            return ""
    template = template or load_template()
    return template.render_releases(releases, links=links or Links(), full_history=full_history)
