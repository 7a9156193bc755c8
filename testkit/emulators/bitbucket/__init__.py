"""A local HTTP emulator of the Bitbucket Cloud API 2.0 for tests (see docs/emulators/bitbucket.md)."""

from .config import Limits, ProxyConfig, RateLimits, Readings
from .emulator import BitbucketEmulator
from .errors import ApiError
from .faults import Fault
from .requestlog import LoggedRequest
from .state import Annotation, Comment, PipelineRun, PullRequest, Report, Repository, Token

__all__ = [
    "Annotation",
    "ApiError",
    "BitbucketEmulator",
    "Comment",
    "Fault",
    "Limits",
    "LoggedRequest",
    "PipelineRun",
    "ProxyConfig",
    "PullRequest",
    "RateLimits",
    "Readings",
    "Report",
    "Repository",
    "Token",
]
