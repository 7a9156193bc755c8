"""The emulator's knobs: published limits, rate limits, the auth proxy, and readings of unknowns.

Every default is either a documented Bitbucket value (with its reference section) or a reading of an
unknown that docs/emulators/bitbucket.md names as chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Route families (see routes.py): what an auth-proxy rule or a test can name.
FAMILIES = ("code_insights", "pullrequests", "pullrequest_comments", "branches", "pipelines", "repository")


@dataclass(frozen=True)
class Limits:
    """Published limits (reference §1, §3) and the emulator's size guards."""

    annotations_per_request: int = 100  # §3, also the spec's maxItems
    annotations_per_report: int = 1000  # §3
    report_data_items: int = 10  # §3 ("Maximum 10")
    # Field lengths: none is published for Bitbucket Cloud (docs, "Unknowns"); None = unchecked.
    report_title_chars: int | None = None
    report_details_chars: int | None = None
    annotation_summary_chars: int | None = None
    annotation_details_chars: int | None = None
    pagelen_default: int = 10  # §1: "default value is 10"
    pagelen_min: int = 10  # §1: "Globally, the minimum length is 10 and the maximum is 100"
    pagelen_max: int = 100
    max_body_bytes: int = 5 * 1024 * 1024  # no published figure; a guard against runaway clients

    def __post_init__(self) -> None:
        if not 1 <= self.pagelen_min <= self.pagelen_default <= self.pagelen_max:
            raise ValueError("need 1 <= pagelen_min <= pagelen_default <= pagelen_max")
        if self.annotations_per_request < 1 or self.annotations_per_report < 1 or self.report_data_items < 0:
            raise ValueError("annotation and data limits must be positive")


@dataclass(frozen=True)
class RateLimits:
    """1,000 requests per rolling hour per authenticated identity (reference §8).

    The 429 is `text/plain` "Rate limit for this resource has been exceeded" with no `Retry-After`
    (live captures); `retry_after` adds one. Requests made with an access token to `/2.0/repositories/*`
    carry `X-RateLimit-Limit`, `X-RateLimit-Resource` and `X-RateLimit-NearLimit` (Bitbucket blog
    "Introducing scaled rate limits"); the NearLimit threshold is not published, `near_limit_fraction`
    is the chosen one. Only admitted requests count.
    """

    limit: int = 1000
    window: float = 3600.0  # seconds
    retry_after: float | None = None
    headers: bool = True
    near_limit_fraction: float = 0.2
    resource: str = "api"

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window <= 0:
            raise ValueError("a rate limit needs limit >= 1 and window > 0")
        if not 0.0 <= self.near_limit_fraction <= 1.0:
            raise ValueError("near_limit_fraction must be between 0 and 1")


@dataclass(frozen=True)
class ProxyConfig:
    """The Pipelines auth proxy (reference §10): a second, plain-HTTP listener that needs no credentials.

    It authorises only the route families in `allow` for the pipeline's own repository
    (`workspace`/`repo_slug`), and refuses everything else with `refusal_status` and a Bitbucket error
    body. The default, Code Insights only, is the stricter reading of an unknown allow-list. Requests
    may use the proxy form (`GET http://api.bitbucket.org/2.0/… HTTP/1.1`, what `requests` sends with
    `proxies=`) or the origin form (`GET /2.0/…`); in the proxy form the host must be one of
    `upstream_hosts`. `CONNECT` (HTTPS through the proxy) is refused: the proxy cannot add a header
    inside a TLS tunnel.
    """

    workspace: str
    repo_slug: str
    host: str = "127.0.0.1"
    port: int = 0
    allow: frozenset[str] = frozenset({"code_insights"})
    upstream_hosts: tuple[str, ...] = ("api.bitbucket.org",)
    refusal_status: int = 403
    identity: str = "Bitbucket Pipelines"  # the account the proxy acts as

    def __post_init__(self) -> None:
        unknown = set(self.allow) - set(FAMILIES)
        if unknown:
            raise ValueError(f"unknown route families {sorted(unknown)}; expected some of {FAMILIES}")


@dataclass(frozen=True)
class Readings:
    """Behaviour the reference leaves unknown, each with the reading chosen by default."""

    # A deleted PR comment stays in lists and GETs with `deleted: true` and empty content ("listed"),
    # or disappears (404, not listed) ("gone"). The reference's `deleted = false` filter implies "listed".
    deleted_comments: str = "listed"
    # PUT of an existing report keeps its annotations (the DELETE-then-PUT practice implies it does).
    report_put_keeps_annotations: bool = True
    # Status for creating a branch whose name exists (§4: undeclared).
    existing_branch_status: int = 400
    # Scopes per operation key where the spec's `security` is not what we enforce.
    # Triggering a pipeline: the narrative says `pipeline:write` "Trigger manual pipelines".
    scope_overrides: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {"createPipelineForRepository": ("pipeline:write",)}
    )

    def __post_init__(self) -> None:
        if self.deleted_comments not in ("listed", "gone"):
            raise ValueError("deleted_comments must be 'listed' or 'gone'")
