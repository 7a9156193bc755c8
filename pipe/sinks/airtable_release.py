"""The release record in Airtable (AIRTABLE_RELEASES_TABLE): one record per version, with the notes, the
date, links to its work items and, at deploy, where it went.

Read first, write only differing fields. Links are the union of what is there and what this release
mentions, so links people added are kept. Pipelines run at once (docs/concurrency.md):

- One record per version. Airtable does not say whether two upserts (`performUpsert`) of a new version
  arriving together create one record or two, so this sink reads it the strict way: it writes by record ID
  whenever it found the record, creates it (an upsert on the version) only when it found none, and after
  writing reads every record of the version back. When there are several it keeps the oldest (createdTime,
  then record ID: every run picks the same one), moves into it what the others hold (their links; fields it
  lacks; at deploy the furthest environment) and deletes the others (`one_record`).
- The environment only moves forward along the workflow (staging, then production): a staging deploy that
  read the record before the production deploy wrote it may still write "staging" after it. So the sink
  reads the environment back after writing (and writes its own again when a run wrote one further back),
  and every deploy run ends, after logging its deployment, with `environment_target`: the environment is set
  to the furthest environment the deployments log (AIRTABLE_DEPLOYMENTS_TABLE) holds for this release, which
  grows only. The run that wrote last logs and checks after its write, so the furthest deployment wins.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyairtable.formulas import EQ, Field, to_formula_str

from pipe.clients.airtable import AirtableClient, AirtableError
from pipe.config.file import DeploymentFields, ReleaseFields, Workflow
from pipe.facts.fields import pin_section
from pipe.model import Stage, TargetResult
from pipe.plan.release import ReleasePlan
from pipe.plan.workflow import is_recent
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.duplicates import delete_others, oldest
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.airtable")


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


def merged_fields(
    fields: ReleaseFields,
    kept: Mapping[str, Any],
    others: Sequence[Mapping[str, Any]],
    workflow: Workflow,
    *,
    environment: bool,
) -> dict[str, Any]:
    """What the kept record takes from the duplicates before they are deleted: every link, every field it
    lacks and, with `environment` (a deploy run), the furthest environment with its Deployed At."""
    merged: dict[str, Any] = {}
    if fields.items:
        links = [r for r in kept.get(fields.items) or [] if isinstance(r, str)]
        added = [r for other in others for r in other.get(fields.items) or [] if isinstance(r, str) and r not in links]
        if added:
            merged[fields.items] = links + list(dict.fromkeys(added))
    for name in (fields.version, fields.notes, fields.date):
        if name and _empty(kept.get(name)):
            value = next((o[name] for o in others if not _empty(o.get(name))), None)
            if value is not None:
                merged[name] = value
    where = fields.environment
    if environment and where:
        furthest = max([kept, *others], key=lambda r: environment_rank(workflow, r.get(where)))
        if environment_rank(workflow, furthest.get(where)) > environment_rank(workflow, kept.get(where)):
            merged[where] = furthest[where]
            if fields.deployed_at and not _empty(furthest.get(fields.deployed_at)):
                merged[fields.deployed_at] = furthest[fields.deployed_at]
    return merged


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
        found = self.records()
        kept = oldest(found)
        record_id, current = (kept["id"], dict(kept.get("fields", {}))) if kept else (None, {})
        changes = desired_release_fields(self.plan, self.fields, current, self.workflow)
        if not changes and len(found) <= 1:
            return Fixed(TargetResult(self.name, "unchanged", record_id or ""))
        return ReleaseChange(self, record_id, current, changes)

    def records(self) -> list[dict[str, Any]]:
        """Every record of this version (several when concurrent runs created it at once)."""
        names = [n for n in self.fields.model_dump().values() if n]
        formula = to_formula_str(EQ(Field(self.fields.version), self.plan.version))
        return self.client.find(formula, names, f"reading release {self.plan.version}")

    def current(self) -> tuple[str | None, dict[str, Any]]:
        kept = oldest(self.records())
        return (kept["id"], dict(kept.get("fields", {}))) if kept else (None, {})

    def one_record(self, journal: Journal) -> tuple[str | None, dict[str, Any], str]:
        """Read the version's records back; when there are several, keep the oldest, move into it what the
        others hold and delete them. Returns the record kept, its fields and what was done (for the detail)."""
        found = self.records()
        kept = oldest(found)
        if kept is None:
            return None, {}, ""
        fields = dict(kept.get("fields", {}))
        if len(found) == 1:
            return kept["id"], fields, ""
        others = [r for r in found if r["id"] != kept["id"]]
        merged = merged_fields(
            self.fields,
            fields,
            [o.get("fields", {}) for o in others],
            self.workflow,
            environment=self.plan.environment is not None,
        )
        if merged:
            self.client.update([(kept["id"], merged)])
            before = {k: (fields.get(k), v) for k, v in merged.items()}
            journal.record("airtable", self.client.table_name, kept["id"], before)
        deleted = delete_others(self.client, others, kept["id"], journal)
        log.info(
            "Release %s: %d record(s) of the version besides %s (created by runs at the same time): %d deleted",
            self.plan.version,
            len(others),
            kept["id"],
            deleted,
        )
        detail = f"; kept one of {len(found)} records of the version (runs at the same time created them)"
        return kept["id"], {**fields, **merged}, detail


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
        table = t.client.table_name
        record_id, current, changes = self.record_id, self.current, self.changes
        shown = self.shown
        try:
            if record_id is None:  # another run may have created it since it was read
                record_id, current = t.current()
                changes = desired_release_fields(t.plan, t.fields, current, t.workflow) if record_id else changes
                shown = {k: (current.get(k), v) for k, v in changes.items()}
            created = record_id is None
            if created:
                record_id, created = self._create(changes)
            elif changes:
                t.client.update([(record_id or "", dict(changes))])
        except AirtableError as exc:
            if record_id is not None and may_have_been_applied(exc):
                # The answer was lost, not the write perhaps: journaled as unconfirmed so a rollback covers it.
                journal.record("airtable", table, record_id, dict(shown), unconfirmed=True)
            return TargetResult(t.name, "failed", str(exc))
        if changes:
            journal.record("airtable", table, record_id or "?", shown, created=created)
        try:
            kept, now, merged = t.one_record(journal)
            detail = (kept or record_id or "?") + merged + self._environment_again(journal, kept, now)
        except AirtableError as exc:
            return TargetResult(t.name, "failed", f"written, then: {exc}", _brief(shown))
        return TargetResult(t.name, "written" if changes else "unchanged", detail, _brief(shown))

    def _create(self, changes: Mapping[str, Any]) -> tuple[str, bool]:
        """An upsert on the version: it creates the record, or updates the one another run created meanwhile
        (if Airtable matches it). When the version matches several records already (runs created it at once),
        Airtable refuses the upsert; then the oldest is updated by ID. Returns the record ID and whether the
        upsert created it."""
        t = self.target
        key = t.fields.version
        try:
            written = t.client.upsert([{key: t.plan.version, **changes}], [key])
        except AirtableError as exc:
            if exc.status != 422:
                raise
            record_id, current = t.current()
            if record_id is None:
                raise
            again = desired_release_fields(t.plan, t.fields, current, t.workflow)
            if again:
                t.client.update([(record_id, again)])
            return record_id, False
        if not written:
            return "?", True
        return str(written[0]["id"]), True

    def _environment_again(self, journal: Journal, record_id: str | None, now: Mapping[str, Any]) -> str:
        """When the record read back holds an environment further back than ours (a run at the same time wrote
        it after us), write ours again."""
        t = self.target
        name = t.fields.environment
        if not name or not t.plan.environment:
            return ""
        there = now.get(name)
        if record_id is None or environment_rank(t.workflow, there) >= environment_rank(t.workflow, t.plan.environment):
            return ""
        t.client.update([(record_id, {name: t.plan.environment})])
        journal.record("airtable", t.client.table_name, record_id, {name: (there, t.plan.environment)})
        return f"; environment set to {t.plan.environment} again (another run had written {there})"


# -- the deploy's last step: the environment the deployments log says ---------------------------------------


def environment_target(run: TargetRun) -> EnvironmentTarget | None:
    """At deploy, with both a releases table and a deployments log: after the deployment is logged, the
    release's environment is set to the furthest one logged for it (applied last: pipe.sinks.targets)."""
    a, release = run.settings.airtable, run.plan.release
    if run.facts.stage is not Stage.DEPLOY or release is None or not release.environment:
        return None
    if not a.releases_table or not a.deployments_table or run.clients.airtable is None:
        return None
    client = run.clients.airtable
    releases = AirtableReleaseTarget(
        client.for_table(a.releases_table), run.facts.fields.releases, release, run.settings.workflow
    )
    deployments = client.for_table(a.deployments_table)
    facts = run.facts
    return EnvironmentTarget(releases, deployments, facts.fields.deployments, facts.now, facts.recent_window)


@dataclass
class EnvironmentTarget:
    releases: AirtableReleaseTarget
    deployments: AirtableClient
    fields: DeploymentFields
    now: float
    recent_window: float  # only deployments logged this recently count (a person may have moved it back since)

    @property
    def name(self) -> str:
        return f"{self.releases.name} environment"

    def prepare(self) -> EnvironmentCheck | Fixed:
        r = self.releases
        if not r.fields.environment:
            return Fixed(TargetResult(self.name, "unchanged", "no environment field"))
        r.fields = pin_section(r.client.schema("AIRTABLE_RELEASES_TABLE"), r.fields, "airtable.releases")
        schema = self.deployments.schema("AIRTABLE_DEPLOYMENTS_TABLE")
        self.fields = pin_section(schema, self.fields, "airtable.deployments")
        return EnvironmentCheck(self)

    def logged(self) -> list[Mapping[str, Any]]:
        """The recent deployments of this release the log holds: by version when the log has a version field,
        else by the release's newest commit; when the log has a Deployed At field, only those deployed in the
        last `recent_window` seconds (as stage times, pipe.plan.workflow: an older one implies nothing)."""
        plan, f = self.releases.plan, self.fields
        formula = EQ(Field(f.version), plan.version) if f.version else EQ(Field(f.commit), plan.head)
        wanted = [f.environment, *([f.deployed_at] if f.deployed_at else [])]
        found = self.deployments.find(to_formula_str(formula), wanted, f"reading the deployments of {plan.version}")
        logged = [r.get("fields", {}) for r in found]
        if not f.deployed_at:
            return logged
        return [d for d in logged if is_recent(d.get(f.deployed_at), now=self.now, recent_window=self.recent_window)]


@dataclass(frozen=True)
class EnvironmentCheck:
    target: EnvironmentTarget

    def preview(self) -> TargetResult:
        return TargetResult(self.target.name, "planned", "check the environment against the deployments log")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        t, r = self.target, self.target.releases
        name = r.fields.environment or ""
        try:
            logged = t.logged()
            record_id, current = r.current()
            furthest = max(
                logged, key=lambda d: environment_rank(r.workflow, d.get(t.fields.environment)), default=None
            )
            if record_id is None or furthest is None:
                return TargetResult(t.name, "unchanged", "no release record or no deployment logged")
            environment = furthest.get(t.fields.environment)
            there = current.get(name)
            if environment_rank(r.workflow, there) >= environment_rank(r.workflow, environment):
                return TargetResult(t.name, "unchanged", f"{there} (deployments logged: {len(logged)})")
            update = {name: environment}
            deployed_at = furthest.get(t.fields.deployed_at) if t.fields.deployed_at else None
            if r.fields.deployed_at and deployed_at:
                update[r.fields.deployed_at] = deployed_at
            r.client.update([(record_id, update)])
        except AirtableError as exc:
            return TargetResult(t.name, "failed", f"could not check the environment against the log: {exc}")
        journal.record("airtable", r.client.table_name, record_id, {k: (current.get(k), v) for k, v in update.items()})
        log.info(
            "Release %s: environment %s -> %s (the deployments log has it there)", r.plan.version, there, environment
        )
        return TargetResult(t.name, "written", f"{there} -> {environment}: a run at the same time had written {there}")


def may_have_been_applied(exc: AirtableError) -> bool:
    """No answer, or a 5xx / 429 after retries: Airtable may have applied the write before failing to say so."""
    return exc.status is None or exc.status == 429 or exc.status >= 500


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _same(before: Any, after: Any) -> bool:
    if isinstance(before, str) and isinstance(after, str):
        return before.strip() == after.strip()
    return bool(before == after)


def _brief(changes: Mapping[str, tuple[Any, Any]]) -> dict[str, Any]:
    """Changes for the report, long texts cut (the notes are in the report already)."""

    def cut(value: Any) -> Any:
        return value[:120] + "…" if isinstance(value, str) and len(value) > 120 else value

    return {k: {"before": cut(b), "after": cut(a)} for k, (b, a) in changes.items()}
