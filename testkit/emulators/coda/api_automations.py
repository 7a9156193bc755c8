"""triggerWebhookAutomation: `POST /docs/{docId}/hooks/automation/{ruleId}` queues a run of a rule whose trigger
is "Webhook invoked" and answers 202 `{requestId}` (webhooks.md §1).

Checks, after the shared ones (token 401, restrictions 403: a read-only token, one restricted to another doc or
to one table, rate limit 429, body validation 400): the doc (404), the rule (404), the rule is on (422, or with
`rule_off="accepted"` a 202 after which the rule never runs). Each accepted trigger is recorded on its rule
(`CodaEmulator.webhook_calls`) when it arrives; the rule runs when the queued mutation is applied.
"""

from __future__ import annotations

from .backend import Backend, Call, Reply
from .errors import RULE_NOT_FOUND, RULE_OFF, ApiError, not_found
from .state import WebhookCall


def trigger_webhook_automation(backend: Backend, call: Call) -> Reply:
    doc = call.world.doc(call.params["docId"])
    rule = doc.automations.get(call.params["ruleId"])
    if rule is None:
        raise not_found(RULE_NOT_FOUND)
    if not rule.enabled and backend.options.rule_off == "422":
        raise ApiError(422, RULE_OFF)
    request_id = backend.ids.request_id()
    received = WebhookCall(request_id, backend.now(), call.content_type, call.body)
    rule.received.append(received)

    def run(at: float) -> None:
        if not rule.enabled:
            received.skipped = "the rule is off"
            return
        received.ran_at = at

    return backend.mutate(call, doc.id, run, request_id=request_id)
