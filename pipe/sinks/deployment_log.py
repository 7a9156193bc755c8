"""Log a deployment in AIRTABLE_DEPLOYMENTS_TABLE so the next deploy to the same environment covers only the
commits since this one (read back by pipe.facts.deployments). Applied after every other write, and only when
every target before it succeeded (work items included), so a failed deploy is retried whole; upserted on its
name (environment @ commit), so a redeploy of the same commit writes nothing. Two runs logging it at once may
create two records (Airtable does not say whether upserts of a new key are atomic): after writing, the run
reads the name back and deletes every record of it but the oldest (pipe.sinks.duplicates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pyairtable.formulas import EQ, Field, to_formula_str

from pipe.clients.airtable import AirtableClient, AirtableError
from pipe.config.file import DeploymentFields
from pipe.facts.deployments import deployment_name
from pipe.facts.fields import pin_section
from pipe.model import Stage, Status, TargetResult
from pipe.plan.release import ReleasePlan
from pipe.sinks.base import Fixed, TargetRun
from pipe.sinks.duplicates import delete_others, oldest
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
        if len(found) == 1:
            return Fixed(TargetResult(self.name, "unchanged", "this commit is already logged as deployed there"))
        record: dict[str, Any] = {fields.name: key, fields.environment: environment, fields.commit: self.release.head}
        if fields.deployed_at:
            record[fields.deployed_at] = self.release.deployed_time or ""
        if fields.version:
            record[fields.version] = self.release.version
        if fields.run and self.run_id:
            record[fields.run] = self.run_id
        return DeploymentLogChange(self.client, fields.name, record, self.name, logged=bool(found))


@dataclass(frozen=True)
class DeploymentLogChange:
    client: AirtableClient
    key_field: str
    record: dict[str, Any]
    name: str
    logged: bool = False  # logged already, several times (by runs at the same time): only the copies go

    def preview(self) -> TargetResult:
        return TargetResult(
            self.name, "planned", "delete copies of the log record" if self.logged else "log the deployment"
        )

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        if any(r.failed for r in earlier):
            return TargetResult(
                self.name, "skipped", "not logged because a work item or a target above failed; the next run retries it"
            )
        if self.logged:
            return self._one_record(journal, "unchanged", "this commit is already logged as deployed there")
        try:
            written = self.client.upsert([self.record], [self.key_field])
        except AirtableError as exc:
            if exc.status != 422:
                return TargetResult(self.name, "failed", str(exc))
            # several records have the name already: runs at the same time logged it
            return self._one_record(journal, "unchanged", "logged by runs at the same time")
        record_id = written[0]["id"] if written else "?"
        changes = {k: (None, v) for k, v in self.record.items()}
        journal.record("airtable", self.client.table_name, record_id, changes, created=True)
        return self._one_record(journal, "written", record_id)

    def _one_record(self, journal: Journal, status: Status, detail: str) -> TargetResult:
        key = self.record[self.key_field]
        try:
            found = self.client.find(
                to_formula_str(EQ(Field(self.key_field), key)), [self.key_field], f"reading deployment {key}"
            )
            kept = oldest(found)
            deleted = delete_others(self.client, found, kept["id"], journal) if kept and len(found) > 1 else 0
        except AirtableError as exc:
            return TargetResult(self.name, "failed", f"{detail}; then: {exc}")
        if deleted:
            detail += f"; deleted {deleted} copy(ies) a run at the same time logged"
        return TargetResult(self.name, status, detail)
