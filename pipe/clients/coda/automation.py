"""Webhook-invoked automations (`POST /docs/{docId}/hooks/automation/{ruleId}`, webhooks.md §1): what Coda's
refusals of a trigger mean, in words that say what to fix.

The statuses are those the spec declares for `triggerWebhookAutomation`; which refusal Coda gives for which
cause is not documented, so the messages name every likely cause of a status. The doc is read before the
first trigger of a run (`CodaClient.doc`), so a 404 here is about the rule, not the doc.
"""

from __future__ import annotations

from pipe.clients.coda.errors import CodaConfigError, CodaError

AUTOMATION = "automation rule "  # how the client names a rule in `what` (see CodaClient.trigger_automation)


def automation_error(status: int, message: str, doc_id: str, rule_id: str, doing: str) -> Exception | None:
    """The error for a refused trigger, or None for a status the client's general rules cover (401, 429, 5xx)."""
    rule = f"automation rule {rule_id} in Coda doc {doc_id}"
    if status == 403:
        return CodaConfigError(
            f"CODA_API_TOKEN: Coda refused to trigger {rule} (403: {message}). Triggering a rule needs a token "
            "with write access to the doc; a read-only token, or one restricted to another doc or to one table, is "
            f"refused. Use a token with read and write access to doc {doc_id} (Coda account settings, API)."
        )
    if status == 404:
        return CodaConfigError(
            f"CODA_WEBHOOK_RULE_ID: Coda found no {rule} (404: {message}). Copy the ID from the rule's ⋯ menu "
            "(with Developer Mode on) or the webhook URL from its Step 1; the rule must be in the doc CODA_DOC_ID "
            "names, and its trigger must be “Webhook invoked”."
        )
    if status == 422:
        return CodaConfigError(
            f"CODA_WEBHOOK_RULE_ID: Coda would not run {rule} (422: {message}). A rule runs only while it is on: "
            "turn it on in the doc's automations (and check that its trigger is “Webhook invoked”)."
        )
    if status == 400:
        return CodaError(f"Coda refused the payload while {doing} (400: {message})", 400, message)
    return None
