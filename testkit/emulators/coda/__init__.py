"""A local HTTP emulator of the Coda API v1 for tests (see docs/emulators/coda.md)."""

from .backend import LoggedRequest, Options
from .emulator import CodaEmulator
from .faults import Fault
from .ratelimit import Bucket, RateLimits

__all__ = ["Bucket", "CodaEmulator", "Fault", "LoggedRequest", "Options", "RateLimits"]
