"""Errors of the release-notes engine (no third-party imports, so every module can raise them)."""

from __future__ import annotations

from pipe.errors import UserError


class TemplateError(UserError):
    """A changelog template cannot be loaded or rendered: a syntax error, an undefined variable, a
    sandbox violation, or a path outside the repository. The message names the template file, the
    line (when known) and what went wrong. Raised before anything is published."""

    def __init__(self, template: str, line: int | None, reason: str):
        where = f"{template}, line {line}" if line else template
        super().__init__(f"changelog template {where}: {reason}")
        self.template = template
        self.line = line
        self.reason = reason
