"""Logging to the step's log, with every secret redacted whatever its encoding."""

from __future__ import annotations

import base64
import logging
import re
import sys
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
# Shapes of tokens that must never be printed even when we were not told the value,
# e.g. an Airtable personal access token pasted into a commit message.
_TOKEN_SHAPES = [re.compile(r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}")]


class Redactor:
    """Replaces known secret values (plain, URL-encoded, base64) and token-shaped strings."""

    def __init__(self, secrets: list[str] | None = None):
        self._variants: list[str] = []
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str) -> None:
        if not secret or len(secret) < 4:
            return
        variants = {secret, quote(secret, safe=""), quote_plus(secret)}
        for text in (secret, f"Bearer {secret}", f":{secret}"):
            variants.add(base64.b64encode(text.encode()).decode().rstrip("="))
        self._variants.extend(sorted(variants - set(self._variants), key=len, reverse=True))

    def __call__(self, text: str) -> str:
        for variant in self._variants:
            if variant in text:
                text = text.replace(variant, REDACTED)
        for shape in _TOKEN_SHAPES:
            text = shape.sub(REDACTED, text)
        return text


class RedactingFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, fmt: str):
        super().__init__(fmt)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "plain", False):  # the verdict line: no level prefix, as official pipes print it
            return self.redactor(record.getMessage())
        return self.redactor(super().format(record))


def configure_logging(redactor: Redactor, debug: bool, stream=None) -> logging.Logger:
    """Configure the `pipe` logger (not the root logger) to write plain lines to stdout."""
    logger = logging.getLogger("pipe")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(RedactingFormatter(redactor, "%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.INFO)
    logger.propagate = False
    # urllib3 logs request lines at DEBUG; route them through the same redacting handler.
    for name in ("urllib3", "pyairtable"):
        other = logging.getLogger(name)
        other.handlers = [handler] if debug else []
        other.setLevel(logging.DEBUG if debug else logging.WARNING)
        other.propagate = False
    return logger
