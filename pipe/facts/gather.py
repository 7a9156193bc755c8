"""Gather every fact a sync run plans from, once, in order: the stage, the commits (a deploy: since the last
logged deployment), the release and its notes, the references, and what Airtable holds for them.

Reads only: git (fetching more history of a shallow clone when needed) and Airtable reads. The result is
frozen; secrets and token-shaped strings in commit messages and record titles are masked in it, so nothing
the run writes anywhere can carry them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from pipe.clients.airtable import AirtableClient, TableSchema
from pipe.clients.bitbucket import BitbucketClient
from pipe.clients.git import GitRepo
from pipe.config.settings import RunSettings, Settings
from pipe.facts.airtable_state import read_state, unknown_resolution
from pipe.facts.deployments import deployments_to, last_deployment, since_deployment
from pipe.facts.fields import pin_fields
from pipe.facts.history import branch_name, change_range
from pipe.facts.pipelines import detect_stage
from pipe.facts.pull_requests import merged_pull_requests
from pipe.facts.release import gather_release
from pipe.facts.run_facts import Deployment, ReleaseFacts, RunFacts, TableFields
from pipe.facts.scrub import Masker, scrub
from pipe.facts.shared_storage import shared_release_version
from pipe.model import Commit, CommitRange, PipelineContext, Reference, Resolution, Stage
from pipe.references import find_references, near_miss_record_ids
from pipe.release.links import Links
from pipe.release.template import LoadedTemplate

log = logging.getLogger("pipe")

# Stage times written within this many seconds (at least) may come from a run still going on.
MIN_RECENT_WINDOW = 900.0


def gather(
    settings: Settings,
    repo: GitRepo,
    context: PipelineContext,
    airtable: AirtableClient | None,
    masker: Masker,
    now: int,
    *,
    bitbucket: BitbucketClient | None = None,
) -> RunFacts:
    """`bitbucket`: a client with BITBUCKET_ACCESS_TOKEN, to read the merged pull requests' state at merge."""
    run = settings.run
    branch = branch_name(repo, context.branch)
    decision = detect_stage(run.stage, context, run.main_branch, branch)
    log.info("Stage: %s (%s)", decision.stage.value, decision.reason)

    release = _release(settings, repo, context) if decision.stage in (Stage.MERGE, Stage.DEPLOY) else None
    commit_range = release.range.commit_range if release else _change_range(repo, decision.stage, context, run)
    _log_range(commit_range)

    schema = airtable.schema() if airtable is not None else None
    fields = _fields(settings, schema)
    last = None
    if airtable is not None and decision.stage is Stage.DEPLOY:
        last, commit_range = _since_last_deployment(settings, repo, airtable, context, commit_range, fields)

    texts = [branch or "", *(c.message for c in commit_range.commits)]
    near_misses = tuple(near_miss_record_ids(texts))
    references = tuple(find_references(branch, commit_range.commits, settings.airtable.key_pattern))
    _log_references(references)
    mentioned = _mentioned(release, settings)
    resolution = _resolution(settings, airtable, schema, fields, [*references, *mentioned])

    head_commits = [c for c in commit_range.commits if c.sha == commit_range.head]
    head = head_commits[0] if head_commits else _commit(repo, commit_range.head)
    facts = RunFacts(
        stage=decision.stage,
        stage_reason=decision.reason,
        context=context,
        branch=branch,
        main_branch=run.main_branch,
        commit_range=commit_range,
        head=head,
        references=references,
        near_misses=near_misses,
        airtable=resolution,
        fields=fields,
        links=_links(repo, context),
        now=now,
        recent_window=max(MIN_RECENT_WINDOW, 2 * run.time_budget),
        release=release,
        last_deployment=last,
        pull_requests=merged_pull_requests(bitbucket, decision.stage, commit_range, settings),
    )
    return scrub(facts, masker, keep=(LoadedTemplate,))


def _release(settings: Settings, repo: GitRepo, context: PipelineContext) -> ReleaseFacts:
    """VERSION, else on a branch build the version an earlier step of this pipeline published for the same
    commit (shared storage), else the tag or a version bumped from the commits."""
    shared = Path(context.pipe_shared_storage_dir) if context.pipe_shared_storage_dir else None
    version = settings.release.version or (None if context.tag else shared_release_version(shared, context.commit))
    return gather_release(repo, settings, context, version)


def _change_range(repo: GitRepo, stage: Stage, context: PipelineContext, run: RunSettings) -> CommitRange:
    """Build and review: the branch's (or pull request's) own commits."""
    base_branch = (context.pr_destination_branch or run.main_branch) if stage is Stage.REVIEW else run.main_branch
    return change_range(repo, head=context.commit, base_branch=base_branch, logger=log)


def _log_range(commit_range: CommitRange) -> None:
    log.info("Commits: %s in %s", _count(len(commit_range.commits), "commit"), commit_range.description)
    for note in commit_range.fetched:
        log.info("Fetched %s", note)
    for warning in commit_range.warnings:
        log.warning(warning)


def _log_references(references: Sequence[Reference]) -> None:
    distinct = sorted({r.value for r in references})
    found = ", ".join(distinct) if distinct else "none"
    log.info("References: %s (%s)", _count(len(distinct), "record"), found)


def _fields(settings: Settings, schema: TableSchema | None) -> TableFields:
    """Field names pinned against the schema (stops on a missing field or a type change before any write)."""
    a = settings.airtable
    items = pin_fields(schema, a.fields, a.key_field) if schema is not None else a.fields
    choices = None
    if schema is not None and items.status:
        status = schema.fields.get(items.status)
        choices = status.choices if status is not None and status.type == "singleSelect" else None
    return TableFields(items, a.releases, a.deployments, choices)


def _since_last_deployment(
    settings: Settings,
    repo: GitRepo,
    client: AirtableClient,
    context: PipelineContext,
    commit_range: CommitRange,
    fields: TableFields,
) -> tuple[Deployment | None, CommitRange]:
    """With a deployments log: only the commits since the last deployment to this environment (none when this
    very commit was deployed there already)."""
    table, environment = settings.airtable.deployments_table, context.deployment_environment
    if not table or not environment:
        return None, commit_range
    deployments = deployments_to(client.for_table(table), fields.deployments, environment)
    last = last_deployment(repo, deployments, commit_range.head)
    if last is None:
        log.info("No earlier deployment to %s is logged: covering %s", environment, commit_range.description)
        return None, commit_range
    narrowed = since_deployment(repo, commit_range.head, last, environment)
    log.info(
        "Commits since the last deployment: %s in %s", _count(len(narrowed.commits), "commit"), narrowed.description
    )
    return last, narrowed


def _mentioned(release: ReleaseFacts | None, settings: Settings) -> list[Reference]:
    """Records the release notes mention are read too (in the same requests), for their titles."""
    if release is None or release.notes.commit_range is None:
        return []
    return find_references(None, release.notes.commit_range.commits, settings.airtable.key_pattern)


def _resolution(
    settings: Settings,
    client: AirtableClient | None,
    schema: TableSchema | None,
    fields: TableFields,
    references: Sequence[Reference],
) -> Resolution:
    to_read = list({(r.kind, r.value): r for r in references}.values())
    if client is None or not to_read:
        if client is None and to_read:
            log.info("No AIRTABLE_TOKEN: the plan shows what would be set, without reading current values.")
        return unknown_resolution(fields.items)
    return read_state(client, to_read, fields.items, settings.airtable.key_field, schema)


def _links(repo: GitRepo, context: PipelineContext) -> Links:
    if context.repo_url:
        return Links(context.repo_url)
    return Links.from_remote(repo.remote_url("origin"))


def _commit(repo: GitRepo, sha: str) -> Commit | None:
    if not sha:
        return None
    found = repo.log(sha, max_count=1)
    return found[0] if found else None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
