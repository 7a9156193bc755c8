"""The optional YAML file in the user's repository: field mapping and status workflow.

Problems are reported with the file name and line, e.g.
`.airtable-coda-sync.yml line 4 (workflow.stages.review): 'In Reveiw' is not one of the statuses`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipe.files import FileRefused, read_clone_file
from pipe.model import Stage

DEFAULT_CONFIG_FILE = ".airtable-coda-sync.yml"
MAX_CONFIG_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 50  # the deepest key of the schema is 4 levels down
MAX_YAML_NODES = 100_000  # scalars and collections, aliases expanded

DEFAULT_STATUSES = ["Planned", "Ready", "In Progress", "In Review", "Merged", "On Staging", "Released"]
DEFAULT_STAGE_STATUS = {
    Stage.BUILD: "In Progress",
    Stage.REVIEW: "In Review",
    Stage.MERGE: "Merged",
    Stage.DEPLOY: "Released",
}
DEFAULT_ENVIRONMENT_STATUS = {"staging": "On Staging", "production": "Released"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FieldMapping(_Strict):
    """Airtable field names the pipe writes. `null` leaves a field alone."""

    title: str | None = Field(
        default=None, description="Field shown as the record's title (default: the primary field)"
    )
    status: str | None = "Status"
    branch: str | None = "Branch"
    branch_url: str | None = Field(None, description="The branch's web link (STAGE: start, build and review)")
    pull_request: str | None = "Pull Request"
    commit: str | None = "Last Commit"
    commit_url: str | None = "Commit URL"
    build_url: str | None = "Build URL"
    last_run: str | None = "Last Run"
    merged_at: str | None = "Merged At"
    reviewed_at: str | None = Field(None, description="Time of the first pull-request pipeline of the record")
    staged_at: str | None = Field(None, description="Time of the first deployment to a pre-release environment")
    released_at: str | None = "Released At"
    pull_request_state: str | None = Field(
        None, description="The pull request's state: OPEN at review, MERGED at merge (read with BITBUCKET_ACCESS_TOKEN)"
    )
    sync_error: str | None = Field(
        None, description="Why the record's last sync failed or was skipped, in plain words; cleared once it syncs"
    )

    def written(self) -> dict[str, str]:
        """Logical name -> field name, for the fields the pipe may write (title is only read)."""
        return {k: v for k, v in self.model_dump().items() if v and k != "title"}


class ReleaseFields(_Strict):
    """Fields of the release record (AIRTABLE_RELEASES_TABLE), one record per version. `null` skips a field."""

    version: str = "Version"
    notes: str | None = "Notes"
    date: str | None = "Date"
    items: str | None = Field(default="Work Items", description="Link field to the work items table")
    environment: str | None = "Environment"
    deployed_at: str | None = "Deployed At"


class DeploymentFields(_Strict):
    """Fields of the deployments log (AIRTABLE_DEPLOYMENTS_TABLE): one record per environment and commit,
    read back to find the commits a deploy covers (those since the last deployment to that environment)."""

    name: str = "Deployment"
    environment: str = "Environment"
    commit: str = "Commit"
    deployed_at: str | None = "Deployed At"
    version: str | None = "Version"
    run: str | None = "Run"


class JournalFields(_Strict):
    """Fields of the change journal (AIRTABLE_JOURNAL_TABLE): one record per field the pipe wrote, appended after
    the run's writes. `entry` is the key entries are upserted on (`<run> #<n> <digest>`); `before` and `after`
    hold the values as JSON (plain text as is). `null` leaves an optional field out."""

    entry: str = "Entry"
    run: str = "Run"
    stage: str | None = "Stage"
    service: str = "Service"
    table: str = "Table"
    record: str = "Record"
    field: str = "Field"
    before: str = "Before"
    after: str = "After"
    time: str = "Time"
    change: str | None = Field(default="Change", description="created or updated (empty when the write does not say)")
    unconfirmed: str | None = Field(default="Unconfirmed", description="checked: no answer said the write was done")
    pipeline: str | None = Field(default="Pipeline", description="link to the pipeline run")


class AirtableSection(_Strict):
    fields: FieldMapping = FieldMapping()
    releases: ReleaseFields = ReleaseFields()
    deployments: DeploymentFields = DeploymentFields()
    journal: JournalFields = JournalFields()


class CodaColumns(_Strict):
    """Columns of the Coda changelog table (CODA_TABLE), by name or ID. `release` and `entry_key` are the
    key columns rows are upserted on; `null` leaves a column out."""

    release: str = "Release"
    entry_key: str = "Entry Key"
    type: str | None = "Type"
    scope: str | None = "Scope"
    description: str | None = "Description"
    breaking: str | None = "Breaking"
    records: str | None = "Records"
    pull_request: str | None = "PR"
    commit: str | None = "Commit"
    date: str | None = "Date"

    def written(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}


class CodaSection(_Strict):
    columns: CodaColumns = CodaColumns()


class Workflow(_Strict):
    """The team's status workflow, in order. Statuses only ever move forward along it."""

    statuses: list[str] = Field(default_factory=lambda: list(DEFAULT_STATUSES), min_length=1)
    stages: dict[Stage, str] = Field(default_factory=lambda: dict(DEFAULT_STAGE_STATUS))
    environments: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ENVIRONMENT_STATUS))
    human_owned: list[str] = Field(default_factory=lambda: ["Blocked", "Won't Do"])

    @model_validator(mode="after")
    def _consistent(self) -> Workflow:
        problems = []
        seen = set()
        for status in self.statuses:
            if not status.strip():
                problems.append("statuses must not be empty strings")
            if status in seen:
                problems.append(f"status {status!r} is listed twice")
            seen.add(status)
        for stage, status in self.stages.items():
            if status not in seen:
                problems.append(f"stages.{stage.value}: {status!r} is not one of the statuses {self.statuses}")
        for env, status in self.environments.items():
            if status not in seen:
                problems.append(f"environments.{env}: {status!r} is not one of the statuses {self.statuses}")
        for status in self.human_owned:
            if status in seen:
                problems.append(f"human_owned: {status!r} is also in statuses; a status is either moved or owned")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def stage_status(self, stage: Stage, environment: str | None = None) -> str | None:
        if stage is Stage.DEPLOY and environment is not None:
            mapped = self.environments.get(environment) or self.environments.get(environment.lower())
            if mapped:
                return mapped
        return self.stages.get(stage)


class FileConfig(_Strict):
    airtable: AirtableSection = AirtableSection()
    coda: CodaSection = CodaSection()
    workflow: Workflow = Workflow()
    # Release notes grouping and tag pattern; validated by pipe.release.config.ReleaseConfig.from_dict.
    release: dict[str, Any] = Field(default_factory=dict)


def load_file_config(path: Path | None, display_name: str, root: Path | None = None) -> tuple[FileConfig, list[str]]:
    """Parse and validate the file. Returns the config and the list of problems (empty when fine).

    The file is read from the clone at `root` (default: the file's folder, which is the clone's root for the
    default file): a link out of it, a FIFO, a device or a file over MAX_CONFIG_BYTES is a problem, as is
    YAML nested deeper than MAX_YAML_DEPTH or whose aliases expand past MAX_YAML_NODES nodes."""
    if path is None:
        return FileConfig(), []
    text, problem = _read(path, display_name, root or path.parent)
    if problem:
        return FileConfig(), [problem]
    try:
        problem = _shape_problem(text)
        if problem:
            return FileConfig(), [f"{display_name}: {problem}"]
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) if node is not None else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return FileConfig(), [f"{display_name}{where}: not valid YAML ({problem})"]
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return FileConfig(), [f"{display_name}: expected a mapping at the top level, got {type(data).__name__}"]
    try:
        return FileConfig.model_validate(data), []
    except ValidationError as exc:
        return FileConfig(), [_describe(dict(error), node, display_name) for error in exc.errors()]


def _read(path: Path, display_name: str, root: Path) -> tuple[str, str | None]:
    """The file's text, or a problem naming it."""
    try:
        data = read_clone_file(path, root, display_name, limit=MAX_CONFIG_BYTES, shown=display_name)
        return data.decode("utf-8"), None
    except FileRefused as exc:
        return "", str(exc)
    except (OSError, UnicodeDecodeError) as exc:
        return "", f"{display_name}: cannot be read ({exc})"


def _shape_problem(text: str) -> str | None:
    """Refuse YAML that would exhaust the stack or the memory before it is built: nesting deeper than
    MAX_YAML_DEPTH (PyYAML composes recursively) or aliases expanding past MAX_YAML_NODES nodes (an alias
    bomb: each level repeats the one before). Walks the parser's event stream, which is not recursive;
    raises yaml.YAMLError for invalid YAML as composing would."""
    sizes: dict[str, int] = {}  # nodes each anchor stands for, aliases expanded
    open_nodes: list[tuple[str | None, int]] = []  # (anchor, nodes counted before it) per open collection
    nodes = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append((event.anchor, nodes))
            nodes += 1
            if len(open_nodes) > MAX_YAML_DEPTH:
                return f"nested more than {MAX_YAML_DEPTH} levels deep (line {event.start_mark.line + 1})"
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, before = open_nodes.pop()
            if anchor is not None:
                sizes[anchor] = nodes - before
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            nodes += sizes.get(event.anchor or "", 1)
        if nodes > MAX_YAML_NODES:
            return (
                f"expands to more than {MAX_YAML_NODES:,} values (line {event.start_mark.line + 1}); "
                "anchors and aliases (&name, *name) repeat what they name"
            )
    return None


def _describe(error: dict[str, Any], node: yaml.Node | None, display_name: str) -> str:
    loc = [str(part) for part in error["loc"]]
    line = _line_of(node, loc)
    where = f" line {line}" if line else ""
    path = ".".join(loc) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key; check its spelling against the README's configuration file section"
    elif error["type"] in ("string_type", "list_type", "dict_type", "enum", "literal_error"):
        message = f"{message} (given: {error.get('input')!r})"
    return f"{display_name}{where} ({path}): {message}"


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """1-based line of the YAML node at a pydantic error location, as deep as the path resolves."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == part:
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return line
    return line
