"""Log a deployment in AIRTABLE_DEPLOYMENTS_TABLE so the next deploy to the same environment covers
only the commits since this one (read back by pipe.facts.deployments). Written last, after every
other target of the run succeeded; upserted on its name (environment @ commit): a redeploy of the
same commit writes nothing."""

from __future__ import annotations

from pyairtable.formulas import EQ, Field, to_formula_str

from pipe.clients.airtable import AirtableClient, AirtableError
from pipe.config.file import DeploymentFields
from pipe.facts.deployments import deployment_name
from pipe.plan.release import TargetResult
from pipe.sinks.journal import Journal


class DeploymentLogSink:
    def __init__(self, client: AirtableClient, fields: DeploymentFields, journal: Journal):
        self.client = client
        self.fields = fields
        self.journal = journal

    def apply(
        self, environment: str, sha: str, version: str, deployed_time: str, run_id: str | None, *, dry_run: bool
    ) -> TargetResult:
        f = self.fields
        name = deployment_name(environment, sha)
        target = f"Airtable {self.client.table_name} {name}"
        record = {f.name: name, f.environment: environment, f.commit: sha}
        if f.deployed_at:
            record[f.deployed_at] = deployed_time
        if f.version:
            record[f.version] = version
        if f.run and run_id:
            record[f.run] = run_id
        try:
            found = self.client.find(to_formula_str(EQ(Field(f.name), name)), [f.name], f"reading deployment {name}")
            if found:
                return TargetResult(target, "unchanged", "this commit is already logged as deployed there")
            if dry_run:
                return TargetResult(target, "planned", "log the deployment")
            written = self.client.upsert([record], [f.name])
        except AirtableError as exc:
            return TargetResult(target, "failed", str(exc))
        record_id = written[0]["id"] if written else "?"
        changes = {k: (None, v) for k, v in record.items()}
        self.journal.record("airtable", self.client.table_name, record_id, changes, created=True)
        return TargetResult(target, "written", record_id)
