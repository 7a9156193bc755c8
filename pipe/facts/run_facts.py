"""Everything a sync run knows before it plans, gathered once (`pipe.facts.gather`) and never changed.

Plans (`pipe.plan`) are pure functions of these facts; targets (`pipe.sinks`) read them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pipe.config.file import DeploymentFields, FieldMapping, ReleaseFields
from pipe.model import Commit, CommitRange, PipelineContext, Reference, Resolution, Stage
from pipe.release.links import Links
from pipe.release.notes import ReleaseNotes
from pipe.release.range import ReleaseRange
from pipe.release.template import LoadedTemplate


@dataclass(frozen=True)
class ReleaseFacts:
    """Merge and deploy: the release and its notes (from git only) and the template that renders them."""

    range: ReleaseRange
    notes: ReleaseNotes
    template: LoadedTemplate

    @property
    def head(self) -> str:
        return self.range.commit_range.head


@dataclass(frozen=True)
class TableFields:
    """The field names of every Airtable table the run touches, pinned by ID where the config asked for it and
    checked against the base's schema when the token may read it."""

    items: FieldMapping
    releases: ReleaseFields
    deployments: DeploymentFields
    status_choices: tuple[str, ...] | None = None  # options of a single-select status field; None: free text


@dataclass(frozen=True)
class Deployment:
    """A logged deployment (AIRTABLE_DEPLOYMENTS_TABLE)."""

    record_id: str
    environment: str
    commit: str
    deployed_at: str | None


@dataclass(frozen=True)
class PullRequestFacts:
    """A pull request as Bitbucket has it (read with BITBUCKET_ACCESS_TOKEN)."""

    number: int
    state: str | None  # OPEN, MERGED, DECLINED or SUPERSEDED
    url: str | None  # its web page


@dataclass(frozen=True)
class RunFacts:
    stage: Stage
    stage_reason: str
    context: PipelineContext
    branch: str | None
    main_branch: str
    commit_range: CommitRange  # the commits whose records this run moves (a deploy: since the last one)
    head: Commit | None  # the commit the run is about (BITBUCKET_COMMIT), when in the clone
    references: tuple[Reference, ...]
    near_misses: tuple[str, ...]  # words that look like record IDs but are not
    airtable: Resolution  # the referenced records (and those the release notes mention), as read
    fields: TableFields
    links: Links  # web links of the repository (commits, pull requests)
    now: int  # seconds since the epoch when the facts were gathered: the time this run writes
    recent_window: float  # stage times written this recently may come from a run still going on
    release: ReleaseFacts | None = None
    last_deployment: Deployment | None = None  # deploy with a deployments log: the last one to this environment
    masked: int = 0  # how many token-shaped strings were masked in commit messages and titles
    # merge, with BITBUCKET_ACCESS_TOKEN: reference value -> the pull request that merged it (pipe.facts.pull_requests)
    pull_requests: Mapping[str, PullRequestFacts] = field(default_factory=dict)

    @property
    def environment(self) -> str | None:
        return self.context.deployment_environment if self.stage is Stage.DEPLOY else None

    @property
    def run_id(self) -> str | None:
        return self.context.run_id
