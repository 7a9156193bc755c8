"""Coda preflight of the webhook (`CODA_WEBHOOK_RULE_ID`): what can be known without triggering the rule, and,
with `CODA_WEBHOOK_TEST: 'true'`, one test payload so the user sees the rule run before going live.

Coda's API cannot read automation rules: whether the rule exists, is on and has the trigger "Webhook invoked"
is only known by triggering it. Without `CODA_WEBHOOK_TEST` nothing is sent to the rule, and the check says so
(a warning). Write access to the doc is proven as for the table, with an upsert of zero rows (into the doc's
first table when no `CODA_TABLE` is checked already).
"""

from __future__ import annotations

import json
import logging
import time

from pipe.clients.coda import CodaClient, CodaConfigError, CodaError
from pipe.clients.http import BudgetExceeded
from pipe.config import Settings
from pipe.plan.webhook import build_payload, payload_bytes, sample_event
from pipe.preflight.checks import Check, failed, passed, warned

log = logging.getLogger("pipe.preflight")

WRITE = "write access"  # the name of the Coda table's write check too (pipe.preflight.coda)
RULE_PREFIX = "grid-auto-"


def webhook_checks(client: CodaClient, settings: Settings, earlier: list[Check]) -> list[Check]:
    """The webhook's checks; `earlier` are the Coda checks so far (a table's write probe proves the doc's)."""
    hook = settings.coda_webhook
    if not hook.rule_id:
        return []
    target = f"Coda automation {hook.rule_id}"
    stages = ", ".join(hook.stages)
    checks: list[Check] = []
    if hook.rule_id.startswith(RULE_PREFIX):
        checks.append(passed(target, "rule ID", f"{hook.rule_id}, triggered at {stages}"))
    else:
        checks.append(
            warned(
                target,
                "rule ID",
                f"{hook.rule_id!r} does not start with {RULE_PREFIX}, as the rule IDs Coda shows do: check it (the "
                f"rule's ⋯ menu shows the ID with Developer Mode on); triggered at {stages}",
            )
        )
    if not any(c.name == WRITE and c.target.startswith("Coda ") for c in earlier):
        checks.append(_write_probe(client, target))
    refused = any(c.name == WRITE and not c.ok for c in [*earlier, *checks])
    if hook.test and refused:
        checks.append(warned(target, "test payload", "not sent: the token may not write to the doc (see above)"))
    elif hook.test:
        checks.append(_test_payload(client, settings, target))
    else:
        checks.append(
            warned(
                target,
                "rule is on",
                "not checked: only a trigger can tell whether the rule exists and is on, and this check sends none. "
                "Set CODA_WEBHOOK_TEST: 'true' to send it a test payload (\"test\": true) and watch it run.",
            )
        )
    return checks


def _write_probe(client: CodaClient, target: str) -> Check:
    try:
        table = client.first_table()
        if table is None:
            return warned(target, WRITE, "not proven: the doc has no table to upsert zero rows into")
        request_id = client.probe_row_write(table)
    except CodaConfigError as exc:
        return failed(target, WRITE, f"{exc} Triggering the rule needs a token with write access to the doc.")
    except (CodaError, BudgetExceeded) as exc:
        return warned(target, WRITE, f"not proven: Coda did not accept an upsert of zero rows ({exc})")
    return passed(
        target,
        WRITE,
        f"proven: Coda accepted an upsert of zero rows into {table.name!r} (request {request_id or '?'})",
    )


def _test_payload(client: CodaClient, settings: Settings, target: str) -> Check:
    hook = settings.coda_webhook
    assert hook.rule_id is not None
    payload = build_payload(sample_event(hook.stages[0], int(time.time())), hook.time_zone)
    log.debug("Test payload for %s: %s", target, json.dumps(payload, ensure_ascii=False))
    name = "test payload"
    try:
        request_id = client.trigger_automation(hook.rule_id, payload_bytes(payload))
    except CodaConfigError as exc:
        return failed(target, name, str(exc))
    except BudgetExceeded as exc:
        return failed(target, name, f"not sent: {exc}")
    except CodaError as exc:
        unknown = exc.status is None or exc.status >= 500
        again = (
            " It was not sent again (Coda may have queued it); look at the rule's runs in the doc." if unknown else ""
        )
        return failed(target, name, f"{exc}.{again}")
    return passed(
        target,
        name,
        f'Coda queued the rule with a test payload ("test": true, stage {payload["stage"]}, key '
        f"{payload['idempotency_key']}, request {request_id}); 202 means queued: see the rule run in the doc",
    )
