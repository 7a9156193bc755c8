"""Typed data passed between the stages of a run: facts -> plan -> sinks -> report.

Everything here is plain, immutable data. Modules that gather facts produce these objects,
the planner consumes them and produces a plan, and sinks apply the plan and say what happened
(outcomes are separate objects: a plan is never changed once made). Nothing in this module talks
to git, the network or the environment.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# defined apart, so that the release CLI need not build this module's dataclasses (see pipe.commits)
from pipe.commits import Commit as Commit
from pipe.commits import CommitRange as CommitRange
from pipe.commits import Reference as Reference
from pipe.commits import ReferenceKind as ReferenceKind
from pipe.commits import ReferenceSource as ReferenceSource
from pipe.commits import Tag as Tag


class Stage(enum.StrEnum):
    """The pipeline stage the pipe runs at; decides the status a record moves to."""

    BUILD = "build"
    REVIEW = "review"
    MERGE = "merge"
    DEPLOY = "deploy"


@dataclass(frozen=True)
class PipelineContext:
    """What the Bitbucket Pipelines environment says about this run."""

    branch: str | None = None
    tag: str | None = None
    commit: str | None = None
    pr_id: str | None = None
    pr_destination_branch: str | None = None
    deployment_environment: str | None = None
    build_number: str | None = None
    pipeline_uuid: str | None = None
    step_uuid: str | None = None
    workspace: str | None = None
    repo_slug: str | None = None
    repo_full_name: str | None = None
    clone_dir: str | None = None
    git_http_origin: str | None = None
    pipe_storage_dir: str | None = None
    pipe_shared_storage_dir: str | None = None

    @property
    def repo_url(self) -> str | None:
        if self.git_http_origin:
            # Pipelines sets BITBUCKET_GIT_HTTP_ORIGIN to an http:// URL (http://bitbucket.org/team/repo);
            # links written into Airtable should be the https:// ones people open.
            origin = self.git_http_origin.rstrip("/")
            return "https://" + origin[len("http://") :] if origin.startswith("http://") else origin
        if self.repo_full_name:
            return f"https://bitbucket.org/{self.repo_full_name}"
        return None

    def commit_url(self, sha: str) -> str | None:
        return f"{self.repo_url}/commits/{sha}" if self.repo_url else None

    def branch_url(self, name: str) -> str | None:
        """The branch's web page (slashes kept, as Bitbucket shows it)."""
        from urllib.parse import quote

        return f"{self.repo_url}/branch/{quote(name, safe='/')}" if self.repo_url else None

    @property
    def pr_url(self) -> str | None:
        if self.repo_url and self.pr_id:
            return f"{self.repo_url}/pull-requests/{self.pr_id}"
        return None

    @property
    def build_url(self) -> str | None:
        if self.repo_url and self.build_number:
            return f"{self.repo_url}/pipelines/results/{self.build_number}"
        return None

    @property
    def run_id(self) -> str | None:
        """Identifies the pipeline run that changed a record (pipeline UUID, else build number)."""
        if self.pipeline_uuid:
            return self.pipeline_uuid
        if self.build_number:
            return f"build #{self.build_number}"
        return None


@dataclass(frozen=True)
class RecordState:
    """An Airtable record as read before planning."""

    record_id: str
    fields: Mapping[str, Any]
    key: str | None = None  # value of KEY_FIELD, when keys are used


@dataclass(frozen=True)
class Resolution:
    """What was read from Airtable for the references: records by ID and by key. `known` is False when
    nothing could be read (a dry run without a token): plans then show what would be set."""

    known: bool
    by_id: Mapping[str, RecordState]
    by_key: Mapping[str, Sequence[RecordState]]
    title_field: str | None
    url_prefix: str | None = None  # https://airtable.com/<base>/<table>/ : a record's link is this + its ID

    def record_url(self, record_id: str) -> str | None:
        return f"{self.url_prefix}{record_id}" if self.url_prefix else None

    def title(self, state: RecordState) -> str | None:
        value = state.fields.get(self.title_field) if self.title_field else None
        return None if value in (None, "") else str(value)


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class RecordPlan:
    """What the run intends to do to one record (never changed once planned; see RecordOutcome)."""

    reference: str  # the record ID or key as found in the code
    record_id: str | None
    title: str | None = None
    url: str | None = None
    status_before: str | None = None
    status_after: str | None = None
    changes: tuple[FieldChange, ...] = ()
    sources: tuple[Reference, ...] = ()
    skipped: str | None = None  # why nothing is planned (missing record, human-owned status...)
    known: bool = True  # False when current values could not be read (dry run without a token)

    @property
    def changed_fields(self) -> list[str]:
        return [c.field for c in self.changes]

    @property
    def key(self) -> str:
        """Identifies the plan within a run: the record ID, else the reference."""
        return self.record_id or self.reference

    @property
    def writes(self) -> bool:
        return bool(self.changes) and not self.skipped and self.record_id is not None


@dataclass(frozen=True)
class RecordOutcome:
    """What happened to one planned record when the plan was applied."""

    written: bool = False
    error: str | None = None
    repaired: str | None = None  # a status set again after reading back (another run had moved it back)


Status = Literal["planned", "written", "unchanged", "skipped", "failed", "pending"]


@dataclass(frozen=True)
class TargetResult:
    """What happened at one target of a run (pipe.sinks), for the log, the report and the targets applied after it."""

    target: str  # e.g. "CHANGELOG.md", "Airtable Releases 1.4.0", "Coda table Changelog"
    status: Status
    detail: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)
    records: Mapping[str, RecordOutcome] = field(default_factory=dict)  # the work items: by RecordPlan.key

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def as_dict(self) -> dict[str, Any]:
        return {"target": self.target, "status": self.status, "detail": self.detail, "changes": dict(self.changes)}
