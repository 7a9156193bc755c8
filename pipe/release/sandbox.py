"""User templates: Jinja2 in a sandbox, bounded in time, memory and output size.

- `ImmutableSandboxedEnvironment`: templates cannot reach Python internals (`__class__`,
  `__globals__`…) or modify the context.
- `StrictUndefined`: a misspelt variable is an error, not an empty string. Autoescape is off
  (Markdown); `trim_blocks` and `lstrip_blocks` are on.
- Paths: templates are files inside the repository (`CHANGELOG_TEMPLATE`, relative to its root);
  `{% include %}`/`{% import %}` names are also paths from the root. Paths that leave the root
  (`..`, absolute paths elsewhere, symlinks pointing out) are refused.
- Bounds (`Limits`), so that a template can neither run forever nor ask for gigabytes:
  * time: rendering runs in a worker thread; past `seconds` the main thread stops it (an exception
    raised in the worker at its next bytecode, which every Jinja loop runs);
  * memory: the same watch stops it when the process has grown by more than `memory_bytes`;
  * output: more than `max_chars` characters of output stops it;
  * amplifiers are refused before they run, since one C call cannot be interrupted: `*` (sequences
    past `MAX_REPEAT` items), `**` (exponents past `MAX_EXPONENT`), `+` and `%`, `range()` past
    `MAX_RANGE`, and `center`/`ljust`/`rjust`/`zfill`/`expandtabs`/`replace`/`join`/`format`/
    `indent` (filters and string methods) whose result would pass `max_chars`; `lipsum` is capped.
  Every refusal names the template, its line and the limit; rendering happens before anything is
  written (the caller renders first), so nothing is published.
- Every failure raises one `TemplateError` naming the file and line.
"""

from __future__ import annotations

import numbers
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from pipe.files import FileRefused, read_clone_file
from pipe.release.context import build_context
from pipe.release.errors import TemplateError
from pipe.release.links import Links
from pipe.release.notes import ReleaseNotes
from pipe.release.template import LoadedTemplate, builtin_dir, display_name, resolve_template_path

BUILTIN_PREFIX = "builtin:"
MAX_REPEAT = 100_000  # longest str/list a template may make with `*`
MAX_EXPONENT = 128
MAX_RANGE = 100_000  # longest range()
MAX_LIPSUM = 100  # paragraphs


@dataclass(frozen=True)
class Limits:
    seconds: float = 10.0
    max_chars: int = 64_000_000  # of output, and of any one string an amplifying operation makes
    memory_bytes: int = 1 << 30  # growth of the process while rendering


DEFAULT_LIMITS = Limits()


class _Stopped(Exception):  # noqa: N818 (raised inside the worker by the watch, never escapes)
    """Raised in the rendering thread when it runs out of time or memory."""


class _Amplified(SecurityError):
    pass


def _check_size(what: str, size: int, limits: Limits) -> None:
    if size > limits.max_chars:
        raise _Amplified(f"{what} would make {size:,} characters (the limit for templates is {limits.max_chars:,})")


def _int_arg(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _largest_number(values: Iterable[Any], text: str) -> int:
    """The largest int among `values` and the numbers written in `text` (a format string's widths)."""
    numbers_in_text = [int(n) for n in re.findall(r"\d{6,}", text)]
    return max([0, *numbers_in_text, *(_int_arg(v) for v in values)])


def _string_method_size(name: str, owner: str, args: tuple, kwargs: dict) -> int | None:
    """The length of `owner.<name>(*args)` for methods that can make a longer string, else None."""
    if name in ("center", "ljust", "rjust", "zfill"):
        return max(len(owner), _int_arg(args[0] if args else kwargs.get("width")))
    if name == "expandtabs":
        return len(owner) + owner.count("\t") * _int_arg(args[0] if args else kwargs.get("tabsize", 8))
    if name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        count = owner.count(args[0]) if args[0] else len(owner) + 1
        if len(args) > 2 and _int_arg(args[2]) >= 0 and isinstance(args[2], int):
            count = min(count, args[2])
        return len(owner) + count * max(0, len(args[1]) - len(args[0]))
    if name == "join" and args:
        return _joined_size(owner, args[0])
    if name in ("format", "format_map"):
        return len(owner) + _largest_number([*args, *kwargs.values()], owner)
    return None


def _joined_size(separator: str, items: Any) -> int:
    if not isinstance(items, list | tuple):
        return 0
    return sum(len(x) if isinstance(x, str) else 0 for x in items) + len(separator) * max(0, len(items) - 1)


class _Environment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, limits: Limits = DEFAULT_LIMITS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits

    def call_binop(self, context: jinja2.runtime.Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, numbers.Number) and abs(right) > MAX_EXPONENT:  # type: ignore[arg-type]
            raise SecurityError(f"the exponent {right} is too large (at most {MAX_EXPONENT})")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                sequence = isinstance(seq, str | bytes | list | tuple) and isinstance(count, int)
                if sequence and len(seq) * count > MAX_REPEAT:
                    raise SecurityError(f"repeating a sequence to more than {MAX_REPEAT} items is not allowed")
        if operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            _check_size("`+`", len(left) + len(right), self.limits)
        if operator == "%" and isinstance(left, str):
            values = right if isinstance(right, tuple) else (right,)
            _check_size("`%` formatting", len(left) + _largest_number(values, left), self.limits)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: jinja2.runtime.Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):
            name = getattr(target, "__name__", "")
            size = _string_method_size(name, owner, args, kwargs)
            if size is not None:
                _check_size(f"str.{name}()", size, __self.limits)
        return super().call(__context, __obj, *args, **kwargs)


def _bounded_filters(limits: Limits) -> dict[str, Callable[..., Any]]:
    """Replacements for the Jinja filters that can make strings much longer than their input."""

    def center(value: Any, width: int = 80) -> str:
        _check_size("center", max(len(str(value)), _int_arg(width)), limits)
        return jinja_filters.do_center(value, width)

    def indent(value: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
        text = str(value)
        step = len(width) if isinstance(width, str) else _int_arg(width)
        _check_size("indent", len(text) + step * (text.count("\n") + 1), limits)
        return jinja_filters.do_indent(text, width, first, blank)

    def replace(eval_ctx: Any, value: Any, old: str, new: str, count: int | None = None) -> str:
        text = str(value)
        size = _string_method_size("replace", text, (str(old), str(new), *(() if count is None else (count,))), {})
        _check_size("replace", size or 0, limits)
        return jinja_filters.do_replace(eval_ctx, value, old, new, count)

    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> str:
        items = list(value) if attribute is None and not isinstance(value, str) else value
        _check_size("join", _joined_size(str(d), items) if isinstance(items, list) else 0, limits)
        return jinja_filters.do_join(eval_ctx, items, d, attribute)

    def format_filter(value: Any, *args: Any, **kwargs: Any) -> str:
        text = str(value)
        _check_size("format", len(text) + _largest_number([*args, *kwargs.values()], text), limits)
        return jinja_filters.do_format(text, *args, **kwargs)

    replace.jinja_pass_arg = jinja_filters.do_replace.jinja_pass_arg  # type: ignore[attr-defined]
    join.jinja_pass_arg = jinja_filters.do_join.jinja_pass_arg  # type: ignore[attr-defined]
    return {"center": center, "indent": indent, "replace": replace, "join": join, "format": format_filter}


def _bounded_range(*args: int) -> range:
    made = range(*args)
    if len(made) > MAX_RANGE:
        raise SecurityError(f"range() of {len(made):,} numbers is too long (the limit for templates is {MAX_RANGE:,})")
    return made


def _bounded_lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    if _int_arg(n) > MAX_LIPSUM or _int_arg(max) > 1000:
        raise SecurityError(f"lipsum() makes at most {MAX_LIPSUM} paragraphs of at most 1,000 words")
    from jinja2.utils import generate_lorem_ipsum

    return generate_lorem_ipsum(n, html, min, max)


class _Loader(jinja2.BaseLoader):
    """Built-in templates as `builtin:<name>`; everything else is a path inside `root`."""

    def __init__(self, root: Path | None):
        self.root = root.resolve() if root else None
        self.served: dict[str, str] = {}  # file name -> template name, to attribute errors

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        try:
            if template.startswith(BUILTIN_PREFIX):
                path = builtin_dir() / template[len(BUILTIN_PREFIX) :]
                source = path.read_text(encoding="utf-8")
            else:
                path = resolve_template_path(template, self.root)
                assert self.root is not None  # resolve_template_path refuses a user template without a root
                # a user template is read like every file of the clone (pipe.files): no link out, bounded
                source = read_clone_file(Path(template), self.root, "CHANGELOG_TEMPLATE").decode("utf-8")
        except FileNotFoundError as exc:
            raise jinja2.TemplateNotFound(template) from exc
        except FileRefused as exc:
            raise TemplateError(template, None, str(exc).removeprefix("CHANGELOG_TEMPLATE: ")) from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(template, None, f"cannot be read: {exc}") from exc
        self.served[str(path)] = _display(template)
        return source, str(path), lambda: True


def _display(loader_name: str) -> str:
    if loader_name.startswith(BUILTIN_PREFIX):
        return display_name(loader_name[len(BUILTIN_PREFIX) :])
    return loader_name


@dataclass(frozen=True)
class JinjaTemplate(LoadedTemplate):
    name: str  # as the user gave it (or `default.md.j2 (built-in)`)
    template: jinja2.Template
    served: dict[str, str] = field(default_factory=dict)  # every template file loaded (includes too) -> name
    limits: Limits = DEFAULT_LIMITS

    def render_releases(self, releases: Sequence[ReleaseNotes], *, links: Links, full_history: bool) -> str:
        return self.render(build_context(releases, links=links, full_history=full_history))

    def render(self, context: dict) -> str:
        """The rendered text of a template context (surrounding blank lines removed, one final newline)."""
        try:
            text = _render_bounded(self.template, context, self.limits)
        except Exception as exc:  # undefined variables, sandbox violations, errors in filters, limits...
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
            return TemplateError(_display(exc.name or name), exc.lineno, f"syntax error: {exc.message}")
        if isinstance(exc, TemplateError):  # refused or unreadable include
            return TemplateError(name, line, f"cannot include {exc.template}: {exc.reason}")
        if isinstance(exc, jinja2.TemplateNotFound):
            return TemplateError(name, line, f"template {exc.name!r} not found")
        if isinstance(exc, _Stopped):
            return TemplateError(name, line, str(exc))
        return TemplateError(name, line, _reason(exc))


class _TooLong(SecurityError):
    pass


def _render_bounded(template: jinja2.Template, context: dict, limits: Limits) -> str:
    """`template.render(context)` in a worker thread watched for time and memory."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["text"] = _collect(template.generate(context), limits)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="changelog-template", daemon=True)
    baseline = _resident_bytes()
    deadline = time.monotonic() + limits.seconds
    worker.start()
    reason = _watch(worker, deadline, baseline, limits)
    if reason is not None:
        _stop(worker, reason)
        worker.join(2.0)
    if "error" in outcome:
        raise outcome["error"]
    if "text" not in outcome:  # stuck in one long C call, or stopped before it noticed
        raise _Stopped(reason or "rendering did not finish")
    return str(outcome["text"])


def _collect(chunks: Iterable[str], limits: Limits) -> str:
    parts: list[str] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limits.max_chars:
            raise _TooLong(f"the output is longer than {limits.max_chars:,} characters, the limit for templates")
        parts.append(chunk)
    return "".join(parts)


def _watch(worker: threading.Thread, deadline: float, baseline: int, limits: Limits) -> str | None:
    """None when the worker finished in bounds, else why it must be stopped."""
    while True:
        worker.join(0.02)
        if not worker.is_alive():
            return None
        if time.monotonic() > deadline:
            return f"rendering took longer than {limits.seconds:g} s, the limit for templates (a loop too many?)"
        grown = _resident_bytes() - baseline
        if baseline and grown > limits.memory_bytes:
            return (
                f"rendering used more than {limits.memory_bytes // (1 << 20):,} MiB of memory, the limit for templates"
            )


def _stop(worker: threading.Thread, reason: str) -> None:
    """Raise `_Stopped(reason)` inside `worker` at its next bytecode (CPython's async exceptions)."""
    import ctypes

    stopped = type("_StoppedHere", (_Stopped,), {"__str__": lambda self: reason})
    ident = worker.ident
    if ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(stopped))


def _resident_bytes() -> int:
    """Resident memory of this process (Linux /proc; 0 where unknown, which turns the check off)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def make_environment(root: Path | None, limits: Limits = DEFAULT_LIMITS) -> jinja2.Environment:
    env = _Environment(
        loader=_Loader(root),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
        limits=limits,
    )
    env.filters.update(_bounded_filters(limits))
    env.filters["upper_first"] = lambda text: text[:1].upper() + text[1:] if isinstance(text, str) else text
    env.globals["range"] = _bounded_range
    env.globals["lipsum"] = _bounded_lipsum
    return env


def load_jinja_template(
    path: str | None, *, root: Path | None = None, limits: Limits = DEFAULT_LIMITS
) -> JinjaTemplate:
    """The user's template at `path` (inside `root`); empty `path`: the built-in template in Jinja
    (what the pipe's own renderer reproduces, see `pipe.release.markdown`)."""
    env = make_environment(root, limits)
    if path:
        name, loader_name = path, path
    else:
        name, loader_name = display_name(), BUILTIN_PREFIX + "default.md.j2"
    loader = env.loader
    assert isinstance(loader, _Loader)
    try:
        return JinjaTemplate(name, env.get_template(loader_name), loader.served, limits)
    except TemplateError:
        raise
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(name, exc.lineno, f"syntax error: {exc.message}") from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(name, None, f"template {exc.name!r} not found") from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, _TooLong):
        return str(exc)
    if isinstance(exc, SecurityError):
        return f"not allowed in the sandbox: {exc}"
    if isinstance(exc, jinja2.UndefinedError):
        return f"undefined: {exc.message}"
    return f"{type(exc).__name__}: {exc}"
