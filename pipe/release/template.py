"""What every release-notes template is, whichever engine renders it, and where templates are found: the
built-in ones beside this module (rendered in plain Python, pipe.release.markdown) and users' files inside the
repository (rendered by Jinja2 in a sandbox, pipe.release.sandbox)."""

from __future__ import annotations

from pipe.release.errors import TemplateError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pipe.release.links import Links
    from pipe.release.notes import ReleaseNotes

DEFAULT_TEMPLATE = "default.md.j2"


class LoadedTemplate:
    """A template ready to render release notes: a Jinja2 template renders their context
    (`pipe.release.context.build_context`), the built-in one the notes themselves."""

    name: str  # as the user gave it, or `default.md.j2 (built-in)`

    def render_releases(self, releases: Sequence[ReleaseNotes], *, links: Links, full_history: bool) -> str:
        """The rendered text of `releases` (newest first): surrounding blank lines removed, one final
        newline; TemplateError."""
        raise NotImplementedError


def display_name(builtin: str = DEFAULT_TEMPLATE) -> str:
    return f"{builtin} (built-in)"


def builtin_dir() -> Path:
    """The folder of the built-in templates (pathlib imported here: the built-in Markdown template,
    rendered in plain Python, never reads a file, and pathlib costs ~4 ms of the latest release)."""
    from pathlib import Path

    return Path(__file__).with_name("templates")


def resolve_template_path(name: str, root: Path | None) -> Path:
    """The file a template name means: a path relative to (or absolute inside) the repository root."""
    if root is None:
        raise TemplateError(name, None, "user templates need a repository root to be loaded from")
    root = root.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise TemplateError(name, None, f"the path leaves the repository ({root}); give a path inside it")
    if not path.is_file():
        raise TemplateError(name, None, f"no such file in the repository ({path})")
    return path
