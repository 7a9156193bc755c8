"""The service clients of one run: one session (and so one pace) per service, shared by every target."""

from __future__ import annotations

from dataclasses import dataclass

from pipe.clients.airtable import AirtableClient
from pipe.clients.bitbucket import BitbucketClient
from pipe.clients.coda import CodaClient


@dataclass(frozen=True)
class Clients:
    airtable: AirtableClient | None  # None without a token (a dry run) or a work-items table
    coda: CodaClient | None  # None without CODA_API_TOKEN and CODA_DOC_ID
    bitbucket: BitbucketClient | None = None  # with BITBUCKET_ACCESS_TOKEN: pull requests and their comments
    insights: BitbucketClient | None = None  # Code Insights: through the auth proxy (or with the token)

    def stats(self) -> dict[str, dict[str, int]]:
        """Requests, retries, 429s… per service, for the report."""
        stats = {}
        if self.airtable is not None:
            stats["airtable"] = dict(self.airtable.policy.stats)
        if self.coda is not None:
            stats["coda"] = dict(self.coda.policy.stats)
        if self.bitbucket is not None:
            stats["bitbucket"] = dict(self.bitbucket.policy.stats)
        if self.insights is not None and self.insights is not self.bitbucket:
            stats["bitbucket_insights"] = dict(self.insights.policy.stats)
        return stats
