"""Parsers for the value types pipe variables use. Each raises ValueError with what it expects."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from pipe.clients.crowd import BASE_LIMIT

TRUE_WORDS = frozenset({"true", "yes", "1"})
FALSE_WORDS = frozenset({"false", "no", "0"})


def parse_bool(value: object) -> bool:
    """true/false/yes/no/1/0 in any case, as Bitbucket passes every variable as a string."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError("expected a boolean: true, false, yes, no, 1 or 0 (any case)")


def parse_http_url(value: object) -> str:
    """A base URL the clients add paths to: http(s), a host, a valid port, no query string or fragment
    (a path joined after `?a=b` or `#x` would not be sent where it belongs)."""
    text = str(value).strip()
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError("expected an http:// or https:// URL, such as https://api.airtable.com")
    try:
        parsed.port  # noqa: B018 (urlparse checks the port when it is read)
    except ValueError:
        raise ValueError("expected an http:// or https:// URL with a port number from 0 to 65535") from None
    if parsed.query or parsed.fragment or text.endswith(("?", "#")):
        raise ValueError("expected a base URL without a query string (?...) or fragment (#...)")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in text):
        raise ValueError("expected a URL without spaces or control characters")
    return text.rstrip("/")


def parse_key_pattern(value: object) -> re.Pattern[str]:
    """A human-key regex, compiled to match whole tokens only (see pipe.references)."""
    from pipe.references import compile_key_pattern

    if isinstance(value, re.Pattern):
        return value
    try:
        return compile_key_pattern(str(value))
    except ValueError as exc:
        raise ValueError(f"expected a regular expression such as FEAT-\\d+ ({exc})") from None


AIRTABLE_BASE_ID = re.compile(r"app[A-Za-z0-9]{14}")


def parse_base_id(value: object) -> str:
    text = str(value).strip()
    if not AIRTABLE_BASE_ID.fullmatch(text):
        raise ValueError(
            "expected an Airtable base ID: 'app' followed by 14 letters or digits "
            "(it is the part of the base's URL that starts with 'app')"
        )
    return text


def parse_base_share(value: object) -> float:
    """AIRTABLE_REQUESTS_PER_SECOND: more than 0, at most Airtable's 5 requests per second per base."""
    try:
        number = float(str(value).strip())
    except ValueError:
        number = float("nan")
    if not 0 < number <= BASE_LIMIT:  # also refuses nan and inf
        raise ValueError(
            f"expected requests per second, more than 0 and at most {BASE_LIMIT} (Airtable's limit per base), "
            "such as 1 or 0.5"
        )
    return number


def parse_positive_float(value: object) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError("expected a number of seconds, such as 30 or 0.5") from None
    if number < 0:
        raise ValueError("expected zero or a positive number of seconds")
    return number
