"""Log a deployment in AIRTABLE_DEPLOYMENTS_TABLE so the next deploy to the same environment covers only the
commits since this one (read back by pipe.facts.deployments). Applied last, and only when every target
before it succeeded (work items included), so a failed deploy is retried whole; upserted on its name
(environment @ commit): a redeploy of the same commit, or two runs logging it at once, write one record."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyairtable.formulas import EQ, Field, to_formula_str

from pipe.clients.airtable import AirtableClient, AirtableError
from pipe.config.file import DeploymentFields
from pipe.facts.deployments import deployment_name
from pipe.facts.fields import pin_section
from pipe.model import Stage, TargetResult
from pipe.plan.release import ReleasePlan
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.journal import Journal


def target(run: TargetRun) -> DeploymentLogTarget | Fixed | None:
    table, release = run.settings.airtable.deployments_table, run.plan.release
    if run.facts.stage is not Stage.DEPLOY or not table or release is None or not release.environment:
        return None
    name = f"Airtable {table} {deployment_name(release.environment, release.head)}"
    if run.clients.airtable is None:
        return Fixed(TargetResult(name, "planned", "not read (no token)"))
    client = run.clients.airtable.for_table(table)
    return DeploymentLogTarget(client, run.facts.fields.deployments, release, run.facts.run_id, name)


@dataclass
class DeploymentLogTarget:
    client: AirtableClient
    fields: DeploymentFields
    release: ReleasePlan
    run_id: str | None
    name: str

    def prepare(self) -> DeploymentLogChange | Fixed:
        # a missing table, field or a type change raises AirtableConfigError: nothing is written
        fields = pin_section(self.client.schema("AIRTABLE_DEPLOYMENTS_TABLE"), self.fields, "airtable.deployments")
        environment = self.release.environment or ""
        key = deployment_name(environment, self.release.head)
        found = self.client.find(
            to_formula_str(EQ(Field(fields.name), key)), [fields.name], f"reading deployment {key}"
        )
        if found:
            return Fixed(TargetResult(self.name, "unchanged", "this commit is already logged as deployed there"))
        record: dict[str, Any] = {fields.name: key, fields.environment: environment, fields.commit: self.release.head}
        if fields.deployed_at:
            record[fields.deployed_at] = self.release.deployed_time or ""
        if fields.version:
            record[fields.version] = self.release.version
        if fields.run and self.run_id:
            record[fields.run] = self.run_id
        return DeploymentLogChange(self.client, fields.name, record, self.name)


@dataclass(frozen=True)
class DeploymentLogChange:
    client: AirtableClient
    key_field: str
    record: dict[str, Any]
    name: str

    def preview(self) -> TargetResult:
        return TargetResult(self.name, "planned", "log the deployment")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        if any(r.failed for r in earlier):
            return TargetResult(
                self.name, "skipped", "not logged because a work item or a target above failed; the next run retries it"
            )
        try:
            written = self.client.upsert([self.record], [self.key_field])
        except AirtableError as exc:
            return TargetResult(self.name, "failed", str(exc))
        record_id = written[0]["id"] if written else "?"
        changes = {k: (None, v) for k, v in self.record.items()}
        journal.record("airtable", self.client.table_name, record_id, changes, created=True)
        return TargetResult(self.name, "written", record_id)
