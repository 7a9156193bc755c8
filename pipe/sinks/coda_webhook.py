"""Trigger a Coda automation with the trigger "Webhook invoked" (`CODA_WEBHOOK_RULE_ID`) at the stages in
`CODA_WEBHOOK_STAGES`: one POST of the run's payload (pipe.plan.webhook, schema 1) per run.

- Prepared like every target before anything is written: the doc is read (a doc that does not exist, or a
  token Coda refuses, stops the run with nothing written) and write access is proven with an upsert of zero
  rows into `CODA_TABLE`, or else into the doc's first table, unless the Coda table's target proved it already
  in this run (a read-only token stops the run). Whether the
  rule exists and is on cannot be known without triggering it (`STAGE: check` with `CODA_WEBHOOK_TEST` does
  that with a test payload); a trigger refused for that is a failed target that says what to fix.
- Applied after the other publishing targets, and only when none of them failed, so the rule runs once the
  release is published; the deployment log comes after it, so a deploy whose trigger failed is retried whole.
- 202 means queued, not run (Coda says nothing about the rule's run). Only a 429 is sent again (Coda refused
  it before doing anything); after a 5xx or a dropped connection Coda may have queued the trigger, so it is not
  sent twice: the target fails, the journal marks it unconfirmed, and the next run sends it again with the same
  `idempotency_key` (run / stage / version), which a rule can use to ignore a repeat.
- A dry run sends nothing and shows the payload in the report.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipe.clients.coda import CodaClient, CodaConfigError, CodaError
from pipe.clients.http import BudgetExceeded
from pipe.model import TargetResult
from pipe.plan.webhook import SCHEMA_VERSION, build_payload, event_from_run, payload_bytes
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.coda")

NOT_SENT_TWICE = (
    "It was not sent again: Coda may have queued it, and a second POST would run the rule twice. The next run "
    "sends it again with the same idempotency key, so a rule that checks the key runs once."
)


def target(run: TargetRun) -> CodaWebhookTarget | Fixed | None:
    hook = run.settings.coda_webhook
    if not hook.rule_id or run.facts.stage.value not in hook.stages:
        return None
    payload = build_payload(event_from_run(run.facts, run.plan), hook.time_zone)
    name = f"Coda automation {hook.rule_id}"
    if run.clients.coda is None:  # a dry run without a token: show what would be sent
        return Fixed(TargetResult(name, "planned", f"{_what(payload)} (not read: no CODA_API_TOKEN)", _shown(payload)))
    return CodaWebhookTarget(run.clients.coda, hook.rule_id, payload, name, run.settings.coda.table, not run.dry_run)


@dataclass
class CodaWebhookTarget:
    client: CodaClient
    rule_id: str
    payload: dict[str, Any]
    name: str
    table: str | None  # CODA_TABLE: where write access is proven (else the doc's first table)
    probe: bool  # prove write access (not on a dry run)

    def prepare(self) -> CodaWebhookChange:
        self.client.doc()  # 404 (no such doc), 401, 403: a CodaConfigError, nothing written yet
        if self.probe and not self.client.write_proven:  # the Coda table's target may have proven it already
            self._prove_write_access()
        return CodaWebhookChange(self.client, self.rule_id, self.payload, self.name)

    def _prove_write_access(self) -> None:
        """An upsert of zero rows: adds and changes nothing, and Coda refuses it (403) for a read-only token."""
        table = self.client.table(self.table) if self.table else self.client.first_table()
        if table is None:
            log.info("%s: the doc has no table to prove write access with; the trigger will tell.", self.name)
            return
        try:
            self.client.probe_row_write(table)
        except CodaConfigError as exc:
            raise CodaConfigError(
                f"{exc} Triggering automation rule {self.rule_id} needs write access to the doc (nothing was written)."
            ) from None
        except (CodaError, BudgetExceeded) as exc:
            log.warning("%s: could not prove write access (%s); going on: the trigger will tell.", self.name, exc)


@dataclass(frozen=True)
class CodaWebhookChange:
    client: CodaClient
    rule_id: str
    payload: dict[str, Any]
    name: str

    @property
    def key(self) -> str:
        return str(self.payload["idempotency_key"])

    def preview(self) -> TargetResult:
        log.info("%s: dry run: %s", self.name, _what(self.payload))
        return TargetResult(self.name, "planned", _what(self.payload), _shown(self.payload))

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        failed = [r.target for r in earlier if r.failed]
        if failed:
            return TargetResult(
                self.name,
                "skipped",
                f"not triggered because {', '.join(failed)} failed; the next run triggers it (same idempotency key)",
                _shown(self.payload),
            )
        table = f"automation {self.rule_id}"
        try:
            request_id = self.client.trigger_automation(self.rule_id, payload_bytes(self.payload))
        except BudgetExceeded as exc:  # raised before a send: nothing reached Coda after a refusal
            return TargetResult(self.name, "failed", f"not triggered: {exc}", _shown(self.payload))
        except CodaConfigError as exc:
            return TargetResult(self.name, "failed", str(exc), _shown(self.payload))
        except CodaError as exc:
            if exc.status is None or exc.status >= 500:
                journal.record("coda", table, self.key, {"payload": (None, self.payload)}, unconfirmed=True)
                return TargetResult(self.name, "failed", f"{exc}. {NOT_SENT_TWICE}", _shown(self.payload))
            return TargetResult(self.name, "failed", str(exc), _shown(self.payload))
        journal.record("coda", table, self.key, {"payload": (None, self.payload)})
        stage = self.payload["stage"]
        log.info("%s: triggered with the %s payload (key %s; Coda request %s)", self.name, stage, self.key, request_id)
        return TargetResult(
            self.name,
            "written",
            f"triggered: Coda queued the rule (request {request_id}); key {self.key}",
            {**_shown(self.payload), "request_id": request_id},
        )


def _what(payload: dict[str, Any]) -> str:
    size = len(payload_bytes(payload))
    return (
        f"POST the {payload['stage']} payload (schema {SCHEMA_VERSION}, {size} bytes, key {payload['idempotency_key']})"
    )


def _shown(payload: dict[str, Any]) -> dict[str, Any]:
    """What the report holds: the payload as sent (the journal holds it too)."""
    return {"idempotency_key": payload["idempotency_key"], "payload": payload}
