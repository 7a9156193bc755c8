"""The service clients of one run, made once from the settings: one session (and so one pace) per service."""

from __future__ import annotations

from dataclasses import dataclass

from pipe.clients.airtable import AirtableClient, airtable_policy
from pipe.clients.coda import CodaClient, coda_policy
from pipe.config.settings import Settings


@dataclass(frozen=True)
class Clients:
    airtable: AirtableClient | None  # None without a token (a dry run) or a work-items table
    coda: CodaClient | None  # None without CODA_API_TOKEN and CODA_DOC_ID

    def stats(self) -> dict[str, dict[str, int]]:
        """Requests, retries, 429s… per service, for the report."""
        stats = {}
        if self.airtable is not None:
            stats["airtable"] = dict(self.airtable.policy.stats)
        if self.coda is not None:
            stats["coda"] = dict(self.coda.policy.stats)
        return stats


def open_clients(settings: Settings, deadline: float | None) -> Clients:
    """Clients for the services the settings name; nothing is sent until a client is used."""
    a, c = settings.airtable, settings.coda
    airtable = None
    if a.token and a.base_id and a.table:
        policy = airtable_policy(a.rate_limit_wait, deadline)
        airtable = AirtableClient(a.token, a.base_id, a.table, a.api_url, policy)
    coda = CodaClient(c.token, c.doc_id, c.api_url, coda_policy(deadline)) if c.token and c.doc_id else None
    return Clients(airtable, coda)
