"""pipe.log: values cannot forge log lines, the pipe's own multi-line messages stay readable, and secrets and
token-shaped strings are masked in the log and by `mask()`."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pytest

from pipe.errors import UserError
from pipe.log import REDACTED, Redactor, configure_logging, escape_message, escape_value, mask

LEVELS = ("DEBUG: ", "INFO: ", "WARNING: ", "ERROR: ")
FORGED = "feature/x\nERROR: Done: 0 records failed\r\x1b[2K\x00INFO: all good"


@pytest.fixture
def logged():
    stream = io.StringIO()
    logger = configure_logging(Redactor(["s3cr3t-token-value"]), debug=True, stream=stream)
    yield logger, stream
    configure_logging(Redactor(), debug=False)


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def _assert_no_forged_line(stream: io.StringIO, records: int) -> None:
    """Each record is one line starting with its level, plus continuation lines that start indented."""
    lines = _lines(stream)
    assert sum(1 for line in lines if line.startswith(LEVELS)) == records, lines
    assert all(line.startswith((*LEVELS, " ", "\t")) for line in lines), lines
    assert not any(c in stream.getvalue() for c in "\r\x1b\x00"), stream.getvalue()


def test_arguments_are_escaped_on_one_line(logged):
    logger, stream = logged
    logger.info("Stage: %s (%s)", "build", f"push to branch {FORGED}")
    assert _lines(stream) == [
        "INFO: Stage: build (push to branch feature/x\\nERROR: Done: 0 records failed\\r\\x1b[2K\\x00INFO: all good)"
    ]


def test_values_in_the_message_itself_are_escaped_too(logged):
    logger, stream = logged
    logger.error(f"- FEAT-107: FAILED: Airtable answered 422: {FORGED}")
    _assert_no_forged_line(stream, 1)
    assert "\\nERROR: Done: 0 records failed" in stream.getvalue()


def test_the_pipes_own_lists_of_problems_stay_on_their_lines(logged):
    logger, stream = logged
    error = UserError("The pipe's configuration has problems; nothing was done:", ["KEY_FIELD: is required", "x"])
    logger.error(error.render())
    assert _lines(stream) == [
        "ERROR: The pipe's configuration has problems; nothing was done:",
        "  - KEY_FIELD: is required",
        "  - x",
    ]


def test_a_problem_holding_a_value_with_a_line_break_cannot_add_a_line(logged):
    logger, stream = logged
    logger.error(UserError("Problems:", [f"CONFIG_FILE: got {FORGED}"]).render())
    _assert_no_forged_line(stream, 1)
    assert len(_lines(stream)) == 2


def test_repr_numbers_mappings_and_objects_keep_their_formatting(logged):
    logger, stream = logged
    logger.info("%r %d %.1f %5s|", "a\nb", 3, 2.5, "x")
    logger.info("%(branch)s", {"branch": "a\nb"})
    logger.info("path %s", Path("/tmp/a\nb"))
    logger.info("exception %s", ValueError("bad\nINFO: forged"))
    assert _lines(stream) == [
        "INFO: 'a\\nb' 3 2.5     x|",
        "INFO: a\\nb",
        "INFO: path /tmp/a\\nb",
        "INFO: exception bad\\nINFO: forged",
    ]


def test_a_traceback_is_indented_so_its_message_cannot_forge_a_line(logged):
    logger, stream = logged
    try:
        raise ValueError("boom\nERROR: forged from an exception")
    except ValueError:
        logger.debug("Traceback:", exc_info=True)
    _assert_no_forged_line(stream, 1)
    assert "  ValueError: boom" in _lines(stream)
    assert "  ERROR: forged from an exception" in _lines(stream)


def test_text_in_any_script_is_kept_and_bidi_controls_are_shown(logged):
    logger, stream = logged
    logger.info("%s", "fix: 🚀 תיקון שגיאת התחברות \u202eFEAT-107\ttab")
    assert _lines(stream) == ["INFO: fix: 🚀 תיקון שגיאת התחברות \\u202eFEAT-107\ttab"]


def test_escaping_functions():
    assert escape_value("a\nb\r\x1b[31m\x00\x7f\x85\u2028") == "a\\nb\\r\\x1b[31m\\x00\\x7f\\x85\\u2028"
    assert escape_message("list:\n  - a\n\t- b\nforged") == "list:\n  - a\n\t- b\\nforged"
    assert escape_message("trailing\n") == "trailing\\n"


def test_secrets_are_redacted_after_escaping(logged):
    logger, stream = logged
    logger.info("token %s and %s", "s3cr3t-token-value", "pat" + "A" * 14 + "." + "0" * 64)
    assert _lines(stream) == [f"INFO: token {REDACTED} and {REDACTED}"]


def test_third_party_loggers_go_through_the_same_formatter(logged):
    _logger, stream = logged
    logging.getLogger("urllib3").debug("GET %s", "/v0/x\nERROR: forged")
    _assert_no_forged_line(stream, 1)


# -- masking --------------------------------------------------------------------------------------

AIRTABLE_PAT = "patAbCdEfGhIjKlMn." + "0123456789abcdef" * 4
CODA_UUID = "5f1b1d8a-1234-4abc-8def-0123456789ab"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"oops {AIRTABLE_PAT} pasted", f"oops {REDACTED} pasted"),
        ("app password ATBB" + "x7Kq" * 8 + " here", f"app password {REDACTED} here"),
        ("api token ATATT3xFfGF0" + "aB3-_" * 30 + "=0A1B2C3D", f"api token {REDACTED}"),
        ("repo token ATCTT3xFfGN0" + "Qw9e" * 40, f"repo token {REDACTED}"),
        (f"CODA_API_TOKEN={CODA_UUID}", f"CODA_API_TOKEN={REDACTED}"),
        (f'coda token: "{CODA_UUID}"', f'coda token: "{REDACTED}"'),
        (f"curl -H 'Authorization: Bearer {CODA_UUID}'", f"curl -H 'Authorization: Bearer {REDACTED}'"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZDEyMw==", f"Authorization: Basic {REDACTED}"),
        ("git clone https://x-token-auth:s0me-t0ken@bitbucket.org/a/b.git", None),
    ],
)
def test_token_shapes_are_masked_and_reported(text, expected):
    masked, changed = mask(text)
    assert changed
    if expected is not None:
        assert masked == expected
    else:
        assert masked == f"git clone https://x-token-auth:{REDACTED}@bitbucket.org/a/b.git"


@pytest.mark.parametrize(
    "text",
    [
        "feat: basic authentication for the admin pages",
        "bearer tokens are described in docs/auth.md",
        f"deployment {CODA_UUID} finished",  # a bare UUID names ordinary things too
        "ATBB is a prefix; ATCT too",
        "see http://127.0.0.1:8080/v0 and https://bitbucket.org/a/b@main",
        "recAbCdEfGhIjKlMn FEAT-107 patAbCdEfGhIjKlMn",  # a PAT's ID alone is not the secret
        "fix: 🚀 תיקון",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert mask(text) == (text, False)


def test_mask_replaces_the_given_secrets_in_all_their_encodings():
    masked, changed = mask("a my+secret/value b my%2Bsecret%2Fvalue c bXkrc2VjcmV0L3ZhbHVl", ["my+secret/value"])
    assert changed and masked == f"a {REDACTED} b {REDACTED} c {REDACTED}"


def test_the_redactor_reports_what_it_masked():
    redactor = Redactor(["abcd1234"])
    assert redactor.mask("nothing here") == ("nothing here", False)
    assert redactor.mask("x abcd1234 y") == (f"x {REDACTED} y", True)
    assert redactor("x abcd1234 y") == f"x {REDACTED} y"
