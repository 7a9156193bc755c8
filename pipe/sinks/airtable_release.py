"""The release record in Airtable (AIRTABLE_RELEASES_TABLE): one record per version, upserted on the
version field, with the notes, the date, links to its work items and, at deploy, where it went.

Read first, write only differing fields (a PATCH with performUpsert: replay-safe). Links are the
union of what is there and what this release mentions, so links people added are kept.
"""

from __future__ import annotations

from typing import Any

from pyairtable.formulas import EQ, Field, to_formula_str

from pipe.clients.airtable import AirtableClient, AirtableError
from pipe.config.file import ReleaseFields
from pipe.plan.release import ReleasePlan, TargetResult
from pipe.sinks.journal import Journal


def desired_release_fields(plan: ReleasePlan, fields: ReleaseFields, current: dict[str, Any]) -> dict[str, Any]:
    """The fields the release record should have; only those that differ from `current`."""
    want: dict[str, Any] = {fields.version: plan.version}
    if fields.notes:
        want[fields.notes] = plan.markdown
    if fields.date:
        want[fields.date] = plan.release_time
    if fields.items and plan.work_items:
        existing = [r for r in current.get(fields.items) or [] if isinstance(r, str)]
        want[fields.items] = existing + [r for r in plan.work_items if r not in existing]
    if plan.environment:
        same_environment = fields.environment and current.get(fields.environment) == plan.environment
        if fields.environment:
            want[fields.environment] = plan.environment
        # Deployed At is set when the release reaches a new environment, not on every redeploy.
        if fields.deployed_at and not (same_environment and current.get(fields.deployed_at)):
            want[fields.deployed_at] = plan.deployed_time
    return {k: v for k, v in want.items() if not _same(current.get(k), v)}


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, str) and isinstance(after, str):
        return before.strip() == after.strip()
    return before == after


class AirtableReleaseSink:
    def __init__(self, client: AirtableClient, fields: ReleaseFields, journal: Journal):
        self.client = client
        self.fields = fields
        self.journal = journal

    def current(self, version: str) -> tuple[str | None, dict[str, Any]]:
        names = [n for n in self.fields.model_dump().values() if n]
        formula = to_formula_str(EQ(Field(self.fields.version), version))
        found = self.client.find(formula, names, f"reading release {version}")
        if not found:
            return None, {}
        return found[0]["id"], found[0].get("fields", {})

    def apply(self, plan: ReleasePlan, *, dry_run: bool) -> TargetResult:
        target = f"Airtable {self.client.table_name} {plan.version}"
        try:
            record_id, current = self.current(plan.version)
        except AirtableError as exc:
            return TargetResult(target, "failed", str(exc))
        changes = desired_release_fields(plan, self.fields, current)
        if not changes:
            return TargetResult(target, "unchanged", record_id or "")
        shown = {k: (current.get(k), v) for k, v in changes.items()}
        if dry_run:
            return TargetResult(target, "planned", "create" if record_id is None else "update", _brief(shown))
        try:
            written = self.client.upsert([{self.fields.version: plan.version, **changes}], [self.fields.version])
        except AirtableError as exc:
            if record_id is not None and may_have_been_applied(exc):
                # The answer was lost, not the write perhaps: journaled as unconfirmed so a rollback covers it.
                self.journal.record("airtable", self.client.table_name, record_id, shown, unconfirmed=True)
            return TargetResult(target, "failed", str(exc))
        created = record_id is None
        record_id = record_id or (written[0]["id"] if written else "?")
        self.journal.record("airtable", self.client.table_name, record_id, shown, created=created)
        return TargetResult(target, "written", record_id, _brief(shown))


def may_have_been_applied(exc: AirtableError) -> bool:
    """No answer, or a 5xx / 429 after retries: Airtable may have applied the write before failing to say so."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


def _brief(changes: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """Changes for the report, long texts cut (the notes are in the report already)."""

    def cut(value: Any) -> Any:
        return value[:120] + "…" if isinstance(value, str) and len(value) > 120 else value

    return {k: {"before": cut(b), "after": cut(a)} for k, (b, a) in changes.items()}
