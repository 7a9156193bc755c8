"""Parsers of variable values (pipe.config.values)."""

from __future__ import annotations

import pytest

from pipe.config.values import parse_http_url


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://api.airtable.com", "https://api.airtable.com"),
        (" http://127.0.0.1:8080/v0/ ", "http://127.0.0.1:8080/v0"),
        ("https://coda.io/apis/v1", "https://coda.io/apis/v1"),
    ],
)
def test_base_urls_are_accepted_without_their_trailing_slash(given, expected):
    assert parse_http_url(given) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("api.airtable.com", "expected an http:// or https:// URL"),
        ("ftp://api.airtable.com", "expected an http:// or https:// URL"),
        ("https://", "expected an http:// or https:// URL"),
        ("https://api.airtable.com/?proxy=1", "without a query string (?...) or fragment (#...)"),
        ("https://api.airtable.com?", "without a query string"),
        ("https://coda.io/apis/v1#docs", "without a query string (?...) or fragment (#...)"),
        ("https://coda.io/apis/v1#", "or fragment"),
        ("https://api.airtable.com:99999", "a port number from 0 to 65535"),
        ("https://api.airtable.com:http", "a port number"),
        ("https://api.airtable.com/v0 x", "without spaces or control characters"),
        ("https://api.airtable.com/\x1b[31m", "without spaces or control characters"),
    ],
)
def test_urls_the_clients_cannot_add_paths_to_are_refused(given, reason):
    with pytest.raises(ValueError, match=reason.replace("?", r"\?").replace("(", r"\(").replace(")", r"\)")):
        parse_http_url(given)
