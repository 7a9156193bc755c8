"""The release record in Airtable (AIRTABLE_RELEASES_TABLE): one record per version, upserted on the
version field, with the notes, the date, links to its work items and, at deploy, where it went.

Read first, write only differing fields (a PATCH with performUpsert: replay-safe). Links are the union of
what is there and what this release mentions, so links people added are kept. The environment only moves
forward along the workflow (staging, then production): a staging deploy that finishes after the production
deploy of the same release leaves "production"; the sink reads the record back after writing and writes its
environment again if a concurrent run put one further back (as the work items' statuses, pipe.plan.workflow).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyairtable.formulas import EQ, Field, to_formula_str

from pipe.clients.airtable import AirtableClient, AirtableError
from pipe.config.file import ReleaseFields, Workflow
from pipe.facts.fields import pin_section
from pipe.model import Stage, TargetResult
from pipe.plan.release import ReleasePlan
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.journal import Journal


def target(run: TargetRun) -> AirtableReleaseTarget | Fixed | None:
    table, release = run.settings.airtable.releases_table, run.plan.release
    if not table or release is None:
        return None
    if run.clients.airtable is None:
        return Fixed(TargetResult(f"Airtable {table}", "planned", "not read (no token)"))
    client = run.clients.airtable.for_table(table)
    return AirtableReleaseTarget(client, run.facts.fields.releases, release, run.settings.workflow)


def environment_rank(workflow: Workflow, environment: Any) -> int:
    """How far along the workflow an environment takes records (-1: not a known environment)."""
    status = workflow.stage_status(Stage.DEPLOY, str(environment)) if environment else None
    return workflow.statuses.index(status) if status in workflow.statuses else -1


def desired_release_fields(
    plan: ReleasePlan, fields: ReleaseFields, current: Mapping[str, Any], workflow: Workflow
) -> dict[str, Any]:
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
        there = current.get(fields.environment) if fields.environment else None
        forward = environment_rank(workflow, plan.environment) >= environment_rank(workflow, there)
        if fields.environment and forward:
            want[fields.environment] = plan.environment
        # Deployed At is set when the release reaches a further environment, not on every redeploy.
        if fields.deployed_at and forward and not (there == plan.environment and current.get(fields.deployed_at)):
            want[fields.deployed_at] = plan.deployed_time
    return {k: v for k, v in want.items() if not _same(current.get(k), v)}


@dataclass
class AirtableReleaseTarget:
    client: AirtableClient
    fields: ReleaseFields
    plan: ReleasePlan
    workflow: Workflow

    @property
    def name(self) -> str:
        return f"Airtable {self.client.table_name} {self.plan.version}"

    def prepare(self) -> ReleaseChange | Fixed:
        # a missing table, field or a type change raises AirtableConfigError: nothing is written
        self.fields = pin_section(self.client.schema("AIRTABLE_RELEASES_TABLE"), self.fields, "airtable.releases")
        record_id, current = self.current()
        changes = desired_release_fields(self.plan, self.fields, current, self.workflow)
        if not changes:
            return Fixed(TargetResult(self.name, "unchanged", record_id or ""))
        return ReleaseChange(self, record_id, current, changes)

    def current(self) -> tuple[str | None, dict[str, Any]]:
        names = [n for n in self.fields.model_dump().values() if n]
        formula = to_formula_str(EQ(Field(self.fields.version), self.plan.version))
        found = self.client.find(formula, names, f"reading release {self.plan.version}")
        if not found:
            return None, {}
        return found[0]["id"], found[0].get("fields", {})


@dataclass(frozen=True)
class ReleaseChange:
    target: AirtableReleaseTarget
    record_id: str | None
    current: Mapping[str, Any]
    changes: Mapping[str, Any]

    @property
    def shown(self) -> dict[str, tuple[Any, Any]]:
        return {k: (self.current.get(k), v) for k, v in self.changes.items()}

    def preview(self) -> TargetResult:
        verb = "create" if self.record_id is None else "update"
        return TargetResult(self.target.name, "planned", verb, _brief(self.shown))

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        t = self.target
        table, key = t.client.table_name, t.fields.version
        try:
            written = t.client.upsert([{key: t.plan.version, **self.changes}], [key])
        except AirtableError as exc:
            if self.record_id is not None and may_have_been_applied(exc):
                # The answer was lost, not the write perhaps: journaled as unconfirmed so a rollback covers it.
                journal.record("airtable", table, self.record_id, self.shown, unconfirmed=True)
            return TargetResult(t.name, "failed", str(exc))
        record_id = self.record_id or (written[0]["id"] if written else "?")
        journal.record("airtable", table, record_id, self.shown, created=self.record_id is None)
        detail = record_id + self._environment_again(journal, record_id)
        return TargetResult(t.name, "written", detail, _brief(self.shown))

    def _environment_again(self, journal: Journal, record_id: str) -> str:
        """Read back; when a concurrent run wrote an environment further back than ours, write ours again."""
        t = self.target
        name = t.fields.environment
        if not name or name not in self.changes:
            return ""
        try:
            _, now = t.current()
            there = now.get(name)
            if environment_rank(t.workflow, there) >= environment_rank(t.workflow, t.plan.environment):
                return ""
            t.client.upsert([{t.fields.version: t.plan.version, name: t.plan.environment}], [t.fields.version])
        except AirtableError:
            return "; could not read the environment back"
        journal.record("airtable", t.client.table_name, record_id, {name: (there, t.plan.environment)})
        return f"; environment set to {t.plan.environment} again (another run had written {there})"


def may_have_been_applied(exc: AirtableError) -> bool:
    """No answer, or a 5xx / 429 after retries: Airtable may have applied the write before failing to say so."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, str) and isinstance(after, str):
        return before.strip() == after.strip()
    return bool(before == after)


def _brief(changes: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    """Changes for the report, long texts cut (the notes are in the report already)."""

    def cut(value: Any) -> Any:
        return value[:120] + "…" if isinstance(value, str) and len(value) > 120 else value

    return {k: {"before": cut(b), "after": cut(a)} for k, (b, a) in changes.items()}
