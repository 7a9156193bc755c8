"""The two `format`s the spec uses that matter for our payloads: `uri` and `date-time`.

Hand-written on purpose: jsonschema checks these formats only when optional packages (rfc3987,
rfc3339-validator) are installed, and they are not among the project's pinned test requirements, so
without these checkers every `format` would silently pass.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from jsonschema import FormatChecker

_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


def format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("uri", raises=ValueError)
    def _uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return bool(parts.scheme) and bool(parts.netloc or parts.path)

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or _DATE_TIME.fullmatch(value) is not None

    return checker
