"""A local HTTP emulator of the Airtable Web API v0 for tests (see docs/emulators/airtable.md)."""

from .config import Quirks
from .emulator import AirtableEmulator
from .errors import ApiError
from .faults import Fault
from .model import ALL_SCOPES, DEFAULT_SCOPES
from .ratelimit import RateLimits
from .requestlog import LoggedRequest

__all__ = [
    "ALL_SCOPES",
    "DEFAULT_SCOPES",
    "AirtableEmulator",
    "ApiError",
    "Fault",
    "LoggedRequest",
    "Quirks",
    "RateLimits",
]
