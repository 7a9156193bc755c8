"""Build validated settings from the environment and the config file, listing every problem at once."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from pipe.config.file import (
    DEFAULT_CONFIG_FILE,
    CodaColumns,
    DeploymentFields,
    FieldMapping,
    FileConfig,
    JournalFields,
    ReleaseFields,
    Workflow,
    load_file_config,
)
from pipe.config.reconcile import Since, reconcile_problems
from pipe.config.start import start_problems
from pipe.config.values import parse_bool
from pipe.config.variables import EMPTY_MEANS_NONE, SECRET_VARIABLES, PipeVariables, variable_names
from pipe.config.webhook import webhook_problems, webhook_warnings
from pipe.errors import ConfigError
from pipe.release.config import ReleaseConfig

# Prefixes of our variables: an unknown variable with one of them is probably a typo.
_OWN_PREFIXES = ("AIRTABLE_", "CODA_")
REPORT_FILE_NAME = "airtable-coda-sync-report.json"


@dataclass(frozen=True)
class RunSettings:
    """How this run behaves, whatever it writes to."""

    stage: str  # a STAGE value: auto, build, review, merge, deploy, rollback, check
    main_branch: str
    dry_run: bool
    fail_on_error: bool
    time_budget: float
    debug: bool
    report_path: Path | None
    journal_file: str | None  # STAGE=rollback: the journal to roll back
    journal_run: str | None = None  # STAGE=rollback: the run to roll back, read from AIRTABLE_JOURNAL_TABLE


@dataclass(frozen=True)
class AirtableSettings:
    """The base, its work-items table and the optional release and deployment tables."""

    token: str | None
    base_id: str | None
    table: str | None
    api_url: str
    rate_limit_wait: float
    requests_per_second: float  # AIRTABLE_REQUESTS_PER_SECOND: this run's share of the base
    key_pattern: re.Pattern[str] | None
    key_field: str | None
    releases_table: str | None
    deployments_table: str | None
    fields: FieldMapping
    releases: ReleaseFields
    deployments: DeploymentFields
    journal_table: str | None = None  # AIRTABLE_JOURNAL_TABLE: every write is appended there too
    journal: JournalFields = JournalFields()

    @property
    def readable(self) -> bool:
        """A token, a base and a table: the work items can be read (and, outside a dry run, written)."""
        return bool(self.token and self.base_id and self.table)


@dataclass(frozen=True)
class CodaSettings:
    token: str | None
    doc_id: str | None
    table: str | None
    page: str | None
    api_url: str
    columns: CodaColumns

    @property
    def targets(self) -> bool:
        """A doc and at least one of its targets is named (with or without a token: a dry run shows them)."""
        return bool(self.doc_id and (self.table or self.page))


@dataclass(frozen=True)
class BitbucketSettings:
    """Where the pipe reports in Bitbucket itself: the Code Insights report and the pull-request comment."""

    token: str | None  # BITBUCKET_ACCESS_TOKEN: the pull-request comment, the merged pull request's state
    api_url: str
    proxy: str | None  # the Pipelines auth proxy for Code Insights; None: none (the token, if any, instead)
    code_insights: bool  # CODE_INSIGHTS, by default on inside Pipelines
    require_record: bool  # REQUIRE_RECORD


@dataclass(frozen=True)
class CodaWebhookSettings:
    """A Coda automation rule triggered with a JSON payload (the doc and token are `CodaSettings`')."""

    rule_id: str | None  # None: no webhook
    stages: tuple[str, ...]  # the stages that trigger it
    test: bool  # STAGE: check sends a test payload
    time_zone: str  # IANA name of the payload's date-times


@dataclass(frozen=True)
class ReconcileSettings:
    """`STAGE: reconcile`: compare what the history implies with the base (docs/recovery.md)."""

    apply: bool  # RECONCILE: apply writes the fixes; report (the default) only lists the disagreements
    since: Since | None  # RECONCILE_SINCE: after a tag or since a date; None: the whole history
    sample: int | None  # RECONCILE_SAMPLE: check only this many referenced records


@dataclass(frozen=True)
class StartSettings:
    """`STAGE: start`: the records to start work on (one of the two is set)."""

    record_id: str | None  # RECORD_ID
    view: str | None  # START_VIEW: every record of this view of AIRTABLE_TABLE


@dataclass(frozen=True)
class ReleaseSettings:
    version: str | None  # VERSION
    prerelease: str | None  # PRERELEASE: compute the next version as a pre-release of this channel (rc…)
    template: str | None  # CHANGELOG_TEMPLATE
    changelog_file: str | None  # CHANGELOG_FILE
    notes: ReleaseConfig  # grouping, tag pattern (config file `release:` + TAG_PATTERN)


@dataclass(frozen=True)
class Settings:
    """Everything the run was told, validated. Code reads the typed sections (`settings.coda.table`); the raw
    `variables` stay for the variable schema and its README table."""

    variables: PipeVariables
    file: FileConfig
    config_path: Path | None
    report_path: Path | None
    release_config: ReleaseConfig = ReleaseConfig()
    warnings: tuple[str, ...] = ()
    inside_pipelines: bool = False  # CI and BITBUCKET_BUILD_NUMBER are set: the default of CODE_INSIGHTS

    @property
    def secrets(self) -> list[str]:
        return [v for v in (getattr(self.variables, n, None) for n in SECRET_VARIABLES) if v]

    @property
    def run(self) -> RunSettings:
        v = self.variables
        return RunSettings(
            stage=v.STAGE,
            main_branch=v.MAIN_BRANCH,
            dry_run=v.DRY_RUN,
            fail_on_error=v.FAIL_ON_ERROR,
            time_budget=v.TIME_BUDGET,
            debug=v.DEBUG,
            report_path=self.report_path,
            journal_file=v.JOURNAL_FILE,
            journal_run=v.JOURNAL_RUN,
        )

    @property
    def airtable(self) -> AirtableSettings:
        v, section = self.variables, self.file.airtable
        return AirtableSettings(
            token=v.AIRTABLE_TOKEN,
            base_id=v.AIRTABLE_BASE_ID,
            table=v.AIRTABLE_TABLE,
            api_url=v.AIRTABLE_API_URL,
            rate_limit_wait=v.AIRTABLE_RATE_LIMIT_WAIT,
            requests_per_second=v.AIRTABLE_REQUESTS_PER_SECOND,
            key_pattern=v.KEY_PATTERN,
            key_field=v.KEY_FIELD,
            releases_table=v.AIRTABLE_RELEASES_TABLE,
            deployments_table=v.AIRTABLE_DEPLOYMENTS_TABLE,
            fields=section.fields,
            releases=section.releases,
            deployments=section.deployments,
            journal_table=v.AIRTABLE_JOURNAL_TABLE,
            journal=section.journal,
        )

    @property
    def coda(self) -> CodaSettings:
        v = self.variables
        return CodaSettings(
            token=v.CODA_API_TOKEN,
            doc_id=v.CODA_DOC_ID,
            table=v.CODA_TABLE,
            page=v.CODA_PAGE,
            api_url=v.CODA_API_URL,
            columns=self.file.coda.columns,
        )

    @property
    def bitbucket(self) -> BitbucketSettings:
        v = self.variables
        return BitbucketSettings(
            token=v.BITBUCKET_ACCESS_TOKEN,
            api_url=v.BITBUCKET_API_URL,
            proxy=v.BITBUCKET_API_PROXY,
            code_insights=self.inside_pipelines if v.CODE_INSIGHTS is None else v.CODE_INSIGHTS,
            require_record=v.REQUIRE_RECORD,
        )

    @property
    def coda_webhook(self) -> CodaWebhookSettings:
        v = self.variables
        return CodaWebhookSettings(
            rule_id=v.CODA_WEBHOOK_RULE_ID,
            stages=v.CODA_WEBHOOK_STAGES,
            test=v.CODA_WEBHOOK_TEST,
            time_zone=v.CODA_WEBHOOK_TIME_ZONE,
        )

    @property
    def reconcile(self) -> ReconcileSettings:
        v = self.variables
        return ReconcileSettings(apply=v.RECONCILE == "apply", since=v.RECONCILE_SINCE, sample=v.RECONCILE_SAMPLE)

    @property
    def start(self) -> StartSettings:
        v = self.variables
        return StartSettings(record_id=v.RECORD_ID, view=v.START_VIEW)

    @property
    def release(self) -> ReleaseSettings:
        v = self.variables
        return ReleaseSettings(
            version=v.VERSION,
            prerelease=v.PRERELEASE,
            template=v.CHANGELOG_TEMPLATE,
            changelog_file=v.CHANGELOG_FILE,
            notes=self.release_config,
        )

    @property
    def workflow(self) -> Workflow:
        return self.file.workflow


def load_settings(env: Mapping[str, str], repo_root: Path | None) -> Settings:
    """Validate variables and the config file. Raises ConfigError naming every problem."""
    problems: list[str] = []
    warnings: list[str] = []
    known = set(variable_names())
    raw = {name: env[name] for name in known if env.get(name, "") != "" or (name in EMPTY_MEANS_NONE and name in env)}

    variables = _validate_variables(raw, problems)
    warnings.extend(_unknown_variable_warnings(env, known))
    warnings.extend(webhook_warnings(raw))

    config_path, config_problem = _config_path(raw.get("CONFIG_FILE"), repo_root)
    if config_problem:
        problems.append(config_problem)
    display = raw.get("CONFIG_FILE") or DEFAULT_CONFIG_FILE
    file_config, file_problems = load_file_config(config_path, display, root=repo_root or Path.cwd())
    problems.extend(file_problems)

    release = _release_config(file_config, raw, display, problems)
    problems.extend(_cross_checks(raw))
    if problems:
        notes = [f"note: {w}" for w in warnings]
        raise ConfigError("The pipe's configuration has problems; nothing was done:", problems + notes)
    assert variables is not None
    return Settings(
        variables=variables,
        file=file_config,
        config_path=config_path,
        report_path=_report_path(variables, env),
        release_config=release or ReleaseConfig(),
        warnings=tuple(warnings),
        inside_pipelines=inside_pipelines(env),
    )


def inside_pipelines(env: Mapping[str, str]) -> bool:
    """Bitbucket Pipelines sets `CI=true` and `BITBUCKET_BUILD_NUMBER` for every step and forwards both to pipes
    (bitbucket-pipes.md §4.1); the toolkit also proxies Code Insights only when `CI` is set."""
    return env.get("CI", "").strip().lower() == "true" and bool(env.get("BITBUCKET_BUILD_NUMBER", "").strip())


def _validate_variables(raw: dict[str, str], problems: list[str]) -> PipeVariables | None:
    try:
        return PipeVariables.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0])
            given = "(secret, not shown)" if name in SECRET_VARIABLES else repr(raw.get(name))
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "literal_error":
                message = message.replace("Input should be", "expected")
            problems.append(f"{name}: got {given}; {message}")
        return None


def _release_config(
    file_config: FileConfig, raw: Mapping[str, str], display: str, problems: list[str]
) -> ReleaseConfig | None:
    data = dict(file_config.release)
    if "TAG_PATTERN" in raw:
        data["tag_pattern"] = raw["TAG_PATTERN"]
    try:
        return ReleaseConfig.from_dict(data, where=f"{display} (release)")
    except ConfigError as exc:
        for problem in exc.problems:
            if "tag_pattern" in problem and "TAG_PATTERN" in raw:
                problem = f"TAG_PATTERN: got {raw['TAG_PATTERN']!r}; " + problem.split(": ", 1)[-1]
            problems.append(problem)
        return None


def _cross_checks(raw: Mapping[str, str]) -> list[str]:
    """Rules between variables, checked on the raw values so they are listed with type errors."""
    problems = []
    try:
        dry_run = parse_bool(raw.get("DRY_RUN", "false"))
    except ValueError:
        dry_run = None  # already reported; the requirement below depends on it
    rollback = raw.get("STAGE") == "rollback"
    # A rollback finds its tables in the journal; it needs the base and a token.
    airtable = ("AIRTABLE_TOKEN", "AIRTABLE_BASE_ID") + (() if rollback else ("AIRTABLE_TABLE",))
    if dry_run is False:
        for name in airtable:
            if name not in raw:
                problems.append(f"{name}: is required (or set DRY_RUN: 'true' to only print the plan)")
    elif dry_run and "AIRTABLE_TOKEN" in raw:
        for name in airtable[1:]:
            if name not in raw:
                problems.append(f"{name}: is required when AIRTABLE_TOKEN is given")
    if "CODA_API_TOKEN" in raw:
        for name in ("CODA_DOC_ID", "CODA_TABLE"):
            # a rollback finds its Coda tables and pages in the journal
            if name not in raw and not (name == "CODA_TABLE" and ("CODA_WEBHOOK_RULE_ID" in raw or rollback)):
                problems.append(f"{name}: is required when CODA_API_TOKEN is given")
    for name in ("CODA_DOC_ID", "CODA_TABLE", "CODA_PAGE"):
        if name in raw and "CODA_API_TOKEN" not in raw and dry_run is False:
            problems.append(f"CODA_API_TOKEN: is required when {name} is given (or set DRY_RUN: 'true')")
            break
    problems.extend(webhook_problems(raw, dry_run))
    problems.extend(reconcile_problems(raw))
    problems.extend(start_problems(raw, dry_run))
    if "VERSION" in raw:
        from pipe.release.version import parse_version_variable

        try:
            parse_version_variable(raw["VERSION"])
        except ConfigError as exc:
            problems.append(str(exc).replace("VERSION: ", f"VERSION: got {raw['VERSION']!r}; ", 1))
    if rollback and "JOURNAL_FILE" not in raw and "JOURNAL_RUN" not in raw:
        problems.append(
            "JOURNAL_FILE: is required with STAGE: rollback (the run's <report name>.journal.jsonl), or "
            "JOURNAL_RUN with AIRTABLE_JOURNAL_TABLE"
        )
    problems.extend(_journal_run_problems(raw, rollback))
    if "JOURNAL_FILE" in raw and not rollback:
        problems.append("JOURNAL_FILE: is only used with STAGE: rollback; set STAGE: rollback to roll that run back")
    if "KEY_PATTERN" in raw and "KEY_FIELD" not in raw:
        problems.append("KEY_FIELD: is required when KEY_PATTERN is set (the field that holds the key)")
    if "KEY_FIELD" in raw and "KEY_PATTERN" not in raw:
        problems.append("KEY_PATTERN: is required when KEY_FIELD is set (a regex such as FEAT-\\d+)")
    return problems


def _journal_run_problems(raw: Mapping[str, str], rollback: bool) -> list[str]:
    """JOURNAL_RUN: a rollback reads that run from AIRTABLE_JOURNAL_TABLE, instead of a JOURNAL_FILE."""
    if "JOURNAL_RUN" not in raw:
        return []
    if not rollback:
        return ["JOURNAL_RUN: is only used with STAGE: rollback; set STAGE: rollback to roll that run back"]
    problems = []
    if "JOURNAL_FILE" in raw:
        problems.append("JOURNAL_RUN: give JOURNAL_FILE or JOURNAL_RUN, not both (they name what to roll back)")
    if "AIRTABLE_JOURNAL_TABLE" not in raw:
        problems.append("AIRTABLE_JOURNAL_TABLE: is required with JOURNAL_RUN (the table the run was journaled in)")
    return problems


def _unknown_variable_warnings(env: Mapping[str, str], known: set[str]) -> list[str]:
    warnings = []
    for name in sorted(env):
        if name.startswith(_OWN_PREFIXES) and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            warnings.append(f"{name} is not a variable of this pipe and is ignored{hint}")
    return warnings


def _config_path(given: str | None, repo_root: Path | None) -> tuple[Path | None, str | None]:
    """The config file to read (as named, links not resolved: the reader refuses a link out of the clone, the
    default file exactly like a CONFIG_FILE), or a problem."""
    root = repo_root or Path.cwd()
    if given is None:
        default = root / DEFAULT_CONFIG_FILE
        return (default if default.exists() or default.is_symlink() else None), None
    path = root / given
    if not path.resolve().is_relative_to(root.resolve()) and not path.is_symlink():
        return None, f"CONFIG_FILE: got {given!r}; expected a path inside the repository"
    if not (path.exists() or path.is_symlink()):
        return None, f"CONFIG_FILE: got {given!r}; no such file in the repository ({path})"
    return path, None


def _report_path(v: PipeVariables, env: Mapping[str, str]) -> Path | None:
    if v.REPORT_FILE:
        return Path(v.REPORT_FILE)
    storage = env.get("BITBUCKET_PIPE_STORAGE_DIR")
    return Path(storage) / REPORT_FILE_NAME if storage else None


def environment() -> dict[str, str]:
    return dict(os.environ)
