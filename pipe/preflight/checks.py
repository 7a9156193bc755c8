"""The result of one preflight check, and the table of results printed in the log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """One check: `ok` False fails the preflight (and `detail` says what to fix); `warning` marks a passed
    check the user should still look at (e.g. field types not checked for lack of a scope)."""

    target: str  # "Airtable", "Airtable Work Items", "Coda", "Coda Changelog", ...
    name: str  # "token", "field status", "write access (data.records:write)", ...
    ok: bool
    detail: str
    warning: bool = False

    @property
    def status(self) -> str:
        if not self.ok:
            return "FAIL"
        return "warn" if self.warning else "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "name": self.name,
            "ok": self.ok,
            "warning": self.warning,
            "status": self.status.lower(),
            "detail": self.detail,
        }


def passed(target: str, name: str, detail: str) -> Check:
    return Check(target, name, True, detail)


def warned(target: str, name: str, detail: str) -> Check:
    return Check(target, name, True, detail, warning=True)


def failed(target: str, name: str, detail: str) -> Check:
    return Check(target, name, False, detail)


def resolved_check(target: str, kind: str, result: Any) -> Check:
    """The check of one mapped field or column (`kind`), from its `pipe.facts.fields.Resolved`."""
    name = f"{kind} {result.logical}"
    if result.problem:
        return failed(target, name, f"{result.setting}: {result.problem}")
    assert result.field is not None
    if result.drift:
        return warned(
            target,
            name,
            f"{result.drift}: the pipe uses the new name; update {result.setting} to "
            f"'{result.field.name} [{result.field.id}]'",
        )
    return passed(target, name, f"{result.field.name!r} ({result.field.id}, {result.field.type})")


def summary(checks: Sequence[Check]) -> dict[str, int]:
    return {
        "checks": len(checks),
        "passed": sum(1 for c in checks if c.ok and not c.warning),
        "warnings": sum(1 for c in checks if c.ok and c.warning),
        "failed": sum(1 for c in checks if not c.ok),
    }


def table_lines(checks: Sequence[Check]) -> list[str]:
    """A plain-text table, one line per check: target, check, result, detail."""
    header = ("target", "check", "result", "detail")
    rows = [(c.target, c.name, c.status, c.detail) for c in checks]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]

    def line(row: tuple[str, str, str, str]) -> str:
        return "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3]

    return [line(header), "  ".join("-" * w for w in widths) + "  ------", *(line(r) for r in rows)]
