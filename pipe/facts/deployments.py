"""Past deployments, read back from the Airtable deployments log (AIRTABLE_DEPLOYMENTS_TABLE).

The deploy stage covers the commits since the last deployment to the same environment. Bitbucket's
own deployment history needs a separate API token, so the pipe keeps its own log in Airtable: one
record per environment and commit, written after a deploy run succeeds (pipe.sinks.deployment_log).
"""

from __future__ import annotations

import logging

from pyairtable.formulas import EQ, Field, to_formula_str

from pipe.clients.airtable import AirtableClient
from pipe.clients.git import GitRepo
from pipe.config.file import DeploymentFields
from pipe.facts.run_facts import Deployment
from pipe.model import CommitRange

log = logging.getLogger("pipe")


def deployment_name(environment: str, sha: str) -> str:
    """The log record's primary value, its natural key: one record per environment and commit."""
    return f"{environment} @ {sha[:12]}"


def deployments_to(client: AirtableClient, fields: DeploymentFields, environment: str) -> list[Deployment]:
    wanted = [fields.environment, fields.commit, *([fields.deployed_at] if fields.deployed_at else [])]
    formula = to_formula_str(EQ(Field(fields.environment), environment))
    found = []
    for record in client.find(formula, wanted, f"reading deployments to {environment!r}"):
        values = record.get("fields", {})
        commit = str(values.get(fields.commit) or "").strip()
        if commit:
            deployed_at = values.get(fields.deployed_at) if fields.deployed_at else None
            found.append(Deployment(record["id"], environment, commit, deployed_at))
    return found


def all_deployments(client: AirtableClient, fields: DeploymentFields) -> list[Deployment]:
    """Every logged deployment, to every environment (one request per 100 records)."""
    wanted = [fields.environment, fields.commit, *([fields.deployed_at] if fields.deployed_at else [])]
    found = []
    for record in client.all_records(wanted, "reading the deployments log"):
        values = record.get("fields", {})
        environment = str(values.get(fields.environment) or "").strip()
        commit = str(values.get(fields.commit) or "").strip()
        if environment and commit:
            deployed_at = values.get(fields.deployed_at) if fields.deployed_at else None
            found.append(Deployment(record["id"], environment, commit, deployed_at))
    return found


def last_deployment(repo: GitRepo, deployments: list[Deployment], head: str) -> Deployment | None:
    """The newest logged deployment whose commit is HEAD or one of its ancestors (a redeploy of an
    older commit, or a commit not in this clone, does not count)."""
    for deployment in sorted(deployments, key=lambda d: d.deployed_at or "", reverse=True):
        if deployment.commit == head or repo.is_ancestor(deployment.commit, head):
            return deployment
    return None


def since_deployment(repo: GitRepo, head: str, last: Deployment, environment: str) -> CommitRange:
    commits = tuple(repo.log(head, f"^{last.commit}")) if last.commit != head else ()
    return CommitRange(
        head=head,
        base=last.commit,
        commits=commits,
        description=f"{last.commit[:7]}..{head[:7]} (since the last deployment to {environment})",
    )
