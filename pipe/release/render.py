"""Render release notes with Jinja2 in a sandbox.

- `ImmutableSandboxedEnvironment`: templates cannot reach Python internals (`__class__`,
  `__globals__`…) or modify the context; `*` and `**` are capped so a template cannot build huge
  strings or numbers; `range()` is capped by Jinja's sandbox.
- `StrictUndefined`: a misspelt variable is an error, not an empty string. Autoescape is off
  (Markdown); `trim_blocks` and `lstrip_blocks` are on.
- User templates are files inside the repository (`CHANGELOG_TEMPLATE`, relative to its root);
  `{% include %}`/`{% import %}` names are also paths from the root. Paths that leave the root
  (`..`, absolute paths elsewhere, symlinks pointing out) are refused.
- Every failure (syntax error, undefined variable, sandbox violation, any error raised while
  rendering, unreadable file) raises one `TemplateError` naming the file and line. Render before
  publishing anything.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pipe.release.config import ReleaseConfig
from pipe.release.context import build_context
from pipe.release.errors import TemplateError
from pipe.release.links import Links
from pipe.release.notes import ReleaseNotes

BUILTIN_DIR = Path(__file__).with_name("templates")
DEFAULT_TEMPLATE = "default.md.j2"
_BUILTIN_PREFIX = "builtin:"
MAX_REPEAT = 100_000  # longest str/list a template may make with `*`
MAX_EXPONENT = 128


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, numbers.Number) and abs(right) > MAX_EXPONENT:  # type: ignore[arg-type]
            raise SecurityError(f"the exponent {right} is too large (at most {MAX_EXPONENT})")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                sequence = isinstance(seq, str | bytes | list | tuple) and isinstance(count, int)
                if sequence and len(seq) * count > MAX_REPEAT:
                    raise SecurityError(f"repeating a sequence to more than {MAX_REPEAT} items is not allowed")
        return super().call_binop(context, operator, left, right)


class _Loader(jinja2.BaseLoader):
    """Built-in templates as `builtin:<name>`; everything else is a path inside `root`."""

    def __init__(self, root: Path | None):
        self.root = root.resolve() if root else None
        self.served: dict[str, str] = {}  # file name -> template name, to attribute errors

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        if template.startswith(_BUILTIN_PREFIX):
            path = BUILTIN_DIR / template[len(_BUILTIN_PREFIX) :]
        else:
            path = resolve_template_path(template, self.root)
        try:
            source = path.read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise jinja2.TemplateNotFound(template) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(template, None, f"cannot be read: {exc}") from exc
        self.served[str(path)] = _display_name(template)
        return source, str(path), lambda: True


def _display_name(loader_name: str) -> str:
    if loader_name.startswith(_BUILTIN_PREFIX):
        return f"{loader_name[len(_BUILTIN_PREFIX) :]} (built-in)"
    return loader_name


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


@dataclass(frozen=True)
class LoadedTemplate:
    name: str  # as the user gave it (or `default.md.j2 (built-in)`)
    template: jinja2.Template
    served: dict[str, str]  # every template file loaded so far (includes too) -> its name

    def render(self, context: dict) -> str:
        """The rendered text (surrounding blank lines removed, one final newline)."""
        try:
            text = self.template.render(context)
        except Exception as exc:  # undefined variables, sandbox violations, errors in filters...
            raise self._error(exc) from exc
        return text.strip("\n").rstrip() + "\n"

    def _error(self, exc: Exception) -> TemplateError:
        name, line = self.name, None
        tb = exc.__traceback__
        while tb is not None:  # the innermost frame running template code
            served = self.served.get(tb.tb_frame.f_code.co_filename)
            if served is not None:
                name, line = served, tb.tb_lineno
            tb = tb.tb_next
        if isinstance(exc, jinja2.TemplateSyntaxError):  # in an included template
            return TemplateError(_display_name(exc.name or name), exc.lineno, f"syntax error: {exc.message}")
        if isinstance(exc, TemplateError):  # refused or unreadable include
            return TemplateError(name, line, f"cannot include {exc.template}: {exc.reason}")
        if isinstance(exc, jinja2.TemplateNotFound):
            return TemplateError(name, line, f"template {exc.name!r} not found")
        return TemplateError(name, line, _reason(exc))


def make_environment(root: Path | None) -> jinja2.Environment:
    env = _Environment(
        loader=_Loader(root),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )
    env.filters["upper_first"] = lambda text: text[:1].upper() + text[1:] if isinstance(text, str) else text
    return env


def load_template(path: str | None = None, *, root: Path | None = None) -> LoadedTemplate:
    """The user's template at `path` (inside `root`), or the built-in default when `path` is empty."""
    env = make_environment(root)
    if path:
        name, loader_name = path, path
    else:
        name, loader_name = f"{DEFAULT_TEMPLATE} (built-in)", _BUILTIN_PREFIX + DEFAULT_TEMPLATE
    loader = env.loader
    assert isinstance(loader, _Loader)
    try:
        return LoadedTemplate(name, env.get_template(loader_name), loader.served)
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(name, exc.lineno, f"syntax error: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(name, None, f"template {exc.name!r} not found") from exc


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
    return template.render(build_context(releases, links=links, full_history=full_history))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, SecurityError):
        return f"not allowed in the sandbox: {exc}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined: {exc.message}"
    return f"{type(exc).__name__}: {exc}"
