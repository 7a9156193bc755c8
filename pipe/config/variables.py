"""The pipe's variables: the one schema the code, the README table and the tests share.

Each field of `PipeVariables` is one variable a user passes in `bitbucket-pipelines.yml`. Its
description and `readme_default` feed the README's Variables table (a test keeps them in step).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, JsonValue

from pipe.config.reconcile import Since, parse_sample, parse_since
from pipe.config.start import parse_record_id
from pipe.config.values import (
    parse_base_id,
    parse_base_share,
    parse_bool,
    parse_http_url,
    parse_key_pattern,
    parse_positive_float,
)
from pipe.config.webhook import DEFAULT_WEBHOOK_STAGES, parse_rule_id, parse_stages, parse_time_zone

Flag = Annotated[bool, BeforeValidator(parse_bool)]
HttpUrl = Annotated[str, BeforeValidator(parse_http_url)]
Regex = Annotated[re.Pattern, BeforeValidator(parse_key_pattern)]
BaseId = Annotated[str, BeforeValidator(parse_base_id)]
Seconds = Annotated[float, BeforeValidator(parse_positive_float)]
BaseShare = Annotated[float, BeforeValidator(parse_base_share)]


def _prerelease_identifier(value: object) -> str:
    from pipe.errors import ConfigError
    from pipe.release.version import parse_prerelease_variable

    try:
        return parse_prerelease_variable(str(value).strip())
    except ConfigError as exc:
        raise ValueError(str(exc).split(": ", 1)[-1]) from None


PrereleaseId = Annotated[str, BeforeValidator(_prerelease_identifier)]


def _run_id(value: object) -> str:
    """A pipeline run's ID as the journal holds it: `{uuid}` or `build #12` (one line, at most 200 characters)."""
    text = str(value).strip()
    if not text or len(text) > 200 or any(ord(c) < 32 for c in text):
        raise ValueError(
            "expected the ID of a journaled run as its Run field shows it, such as "
            "{3f0c1e2a-…} (BITBUCKET_PIPELINE_UUID) or build #12"
        )
    return text


RunId = Annotated[str, BeforeValidator(_run_id)]
RuleId = Annotated[str, BeforeValidator(parse_rule_id)]
StageList = Annotated[tuple[str, ...], BeforeValidator(parse_stages)]
TimeZoneName = Annotated[str, BeforeValidator(parse_time_zone)]
ReconcileSince = Annotated[Since, BeforeValidator(parse_since)]
SampleSize = Annotated[int, BeforeValidator(parse_sample)]
RecordId = Annotated[str, BeforeValidator(parse_record_id)]
StageName = Literal["auto", "build", "review", "merge", "deploy", "rollback", "check", "reconcile", "start"]

SECRET_VARIABLES = frozenset({"AIRTABLE_TOKEN", "CODA_API_TOKEN", "BITBUCKET_ACCESS_TOKEN"})
# Variables whose empty value means "none" rather than "not given" (`BITBUCKET_API_PROXY: ""`: no proxy).
EMPTY_MEANS_NONE = frozenset({"BITBUCKET_API_PROXY"})


def _http_url_or_none(value: object) -> str | None:
    """An http(s) URL, or None for an empty value (see EMPTY_MEANS_NONE)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return parse_http_url(value)


OptionalHttpUrl = Annotated[str | None, BeforeValidator(_http_url_or_none)]


def _var(
    description: str, *, default: Any = None, required: str | None = None, readme_default: str | None = None
) -> Any:
    """A variable's metadata; `required` says when it must be set (README marks it with (*))."""
    extra: dict[str, JsonValue] = {"required": required, "readme_default": readme_default}
    return Field(default=default, description=description, json_schema_extra=extra)


class PipeVariables(BaseModel):
    """Validated pipe variables. Built from the environment by `pipe.config.load`."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, extra="ignore")

    AIRTABLE_TOKEN: str | None = _var(
        "Airtable personal access token (secured variable). Scopes: `data.records:read`, "
        "`data.records:write`, and `schema.bases:read` to check fields before writing.",
        required="unless `DRY_RUN` is true",
    )
    AIRTABLE_BASE_ID: BaseId | None = _var(
        "ID of the Airtable base that holds the work items (`app…`).", required="unless `DRY_RUN` is true"
    )
    AIRTABLE_TABLE: str | None = _var(
        "Name or ID (`tbl…`) of the table of work items (features, bugs).",
        required="unless `DRY_RUN` is true or `STAGE` is `rollback`",
    )
    AIRTABLE_API_URL: HttpUrl = _var(
        "Base URL of the Airtable API, for a proxy or a local emulator.",
        default="https://api.airtable.com",
        readme_default="`https://api.airtable.com`",
    )
    STAGE: StageName = _var(
        "`auto`, `build`, `review`, `merge`, `deploy`, `check`, `rollback`, `reconcile` or `start`. `auto` "
        "detects the stage from the Pipelines environment (see Details); `check` runs the preflight checks and "
        "syncs nothing (see docs/preflight.md); `rollback` restores what the run journaled in `JOURNAL_FILE` (or "
        "`JOURNAL_RUN`) changed and `reconcile` compares what the git history implies with the base and reports "
        "every disagreement (see docs/recovery.md); `start` creates a branch for an Airtable record "
        "(`RECORD_ID` or `START_VIEW`; see docs/start-work.md).",
        default="auto",
        readme_default="`auto`",
    )
    MAIN_BRANCH: str = _var(
        "The branch releases are made from; a build of another branch covers its commits not on it.",
        default="main",
        readme_default="`main`",
    )
    KEY_PATTERN: Regex | None = _var(
        "Regular expression for human keys of records, such as `FEAT-\\d+`, found as whole words. Needs `KEY_FIELD`."
    )
    KEY_FIELD: str | None = _var("Airtable field that holds the human key matched by `KEY_PATTERN`.")
    CONFIG_FILE: str | None = _var(
        "Path, inside the repository, of the YAML file with the field mapping and status workflow.",
        readme_default="`.airtable-coda-sync.yml` when it exists",
    )
    DRY_RUN: Flag = _var(
        "Print the plan and write nothing. Works without any token.", default=False, readme_default="`false`"
    )
    FAIL_ON_ERROR: Flag = _var(
        "Exit non-zero when a record or row fails to sync. With `false` failures are reported and the exit code is 0.",
        default=True,
        readme_default="`true`",
    )
    REPORT_FILE: str | None = _var(
        "Where to write the JSON report.",
        readme_default="`$BITBUCKET_PIPE_STORAGE_DIR/airtable-coda-sync-report.json` when that is set, else none",
    )
    JOURNAL_FILE: str | None = _var(
        "With `STAGE: rollback`: the journal of the run to roll back (written beside its report as "
        "`<report name>.journal.jsonl`), relative to the clone or absolute.",
        required="with `STAGE: rollback` (unless `JOURNAL_RUN` is set)",
    )
    JOURNAL_RUN: RunId | None = _var(
        "With `STAGE: rollback`: roll back the run with this ID (its `Run` field in `AIRTABLE_JOURNAL_TABLE`, "
        "such as `build #12` or the pipeline UUID), read from the change journal in Airtable instead of a "
        "journal file."
    )
    AIRTABLE_RATE_LIMIT_WAIT: Seconds = _var(
        "Seconds to wait after Airtable answers 429 (Airtable locks the base out for 30 seconds).",
        default=30.0,
        readme_default="`30`",
    )
    AIRTABLE_REQUESTS_PER_SECOND: BaseShare = _var(
        "This run's share of the base's 5 requests per second, spaced evenly. When many pipelines write to one "
        "base at once, shares that add up to about half the base (2.5 divided by how many run at once) make "
        "lockouts rare, at the price of slower runs; see docs/many-pipelines.md.",
        default=5.0,
        readme_default="`5` (the whole base)",
    )
    TAG_PATTERN: str | None = _var(
        "Regular expression that picks the release tags among all tags (searched in the tag name, so anchor "
        "it); the version is the semantic version in the tag's name, after an optional prefix such as `v`.",
        readme_default="`^v?\\d+\\.\\d+\\.\\d+` with optional pre-release and build parts",
    )
    VERSION: str | None = _var(
        "Version of the release at the merge and deploy stages, instead of the one bumped from the commits.",
        readme_default="the tag on a tag build, else bumped from the commits",
    )
    CHANGELOG_TEMPLATE: str | None = _var(
        "Path, inside the repository, of a Jinja2 template for the release notes (rendered in a sandbox).",
        readme_default="the template shipped with the pipe",
    )
    CHANGELOG_FILE: str | None = _var(
        "Path, inside the repository, of a Markdown changelog the release section is prepended to "
        "(once per version) at the merge and deploy stages.",
        readme_default="none (no file written)",
    )
    CODA_API_TOKEN: str | None = _var(
        "Coda API token (secured variable), to publish release notes to Coda.", required="to publish to Coda"
    )
    CODA_DOC_ID: str | None = _var(
        "ID of the Coda doc (the part after `_d` in its URL).", required="with `CODA_API_TOKEN`"
    )
    CODA_TABLE: str | None = _var(
        "Name or ID of the Coda table that gets one row per changelog entry.",
        required="with `CODA_API_TOKEN` (unless `CODA_WEBHOOK_RULE_ID` is set)",
    )
    CODA_PAGE: str | None = _var(
        "Name or ID of a Coda page the rendered notes of each release are appended to (once per release)."
    )
    CODA_API_URL: HttpUrl = _var(
        "Base URL of the Coda API, for a proxy or a local emulator.",
        default="https://coda.io/apis/v1",
        readme_default="`https://coda.io/apis/v1`",
    )
    CODA_WEBHOOK_RULE_ID: RuleId | None = _var(
        "ID of a Coda automation rule with the trigger “Webhook invoked” (`grid-auto-…`; the rule's ⋯ menu shows "
        "it with Developer Mode on), or the webhook URL of its Step 1. At the stages in `CODA_WEBHOOK_STAGES` the "
        "pipe POSTs a JSON payload to it (see docs/coda-webhook.md). Needs `CODA_API_TOKEN` with write access to "
        "the doc, and `CODA_DOC_ID`."
    )
    CODA_WEBHOOK_STAGES: StageList = _var(
        "The stages that trigger the rule: `build`, `review`, `merge`, `deploy`, comma separated. One POST per "
        "stage that runs; none on a dry run.",
        default=DEFAULT_WEBHOOK_STAGES,
        readme_default="`merge,deploy`",
    )
    CODA_WEBHOOK_TEST: Flag = _var(
        'With `STAGE: check`: send the rule one test payload (`"test": true`, sample values) so you can watch it '
        "run before going live. Otherwise the check sends nothing to the rule.",
        default=False,
        readme_default="`false`",
    )
    CODA_WEBHOOK_TIME_ZONE: TimeZoneName = _var(
        "IANA time zone (such as `Europe/Berlin`) of the payload's date-times, written in ISO 8601 with the "
        "zone's offset.",
        default="UTC",
        readme_default="`UTC`",
    )
    AIRTABLE_RELEASES_TABLE: str | None = _var(
        "Name or ID of an Airtable table that gets one record per release (by version), with its notes and "
        "links to its work items."
    )
    AIRTABLE_DEPLOYMENTS_TABLE: str | None = _var(
        "Name or ID of an Airtable table where the deploy stage logs each deployment (environment and "
        "commit), so the next deploy covers only the commits since the last one to that environment.",
        readme_default="none: a deploy covers the commits since the previous release tag",
    )
    AIRTABLE_JOURNAL_TABLE: str | None = _var(
        "Name or ID of an Airtable table (in the same base) where every write of every run is also appended, "
        "one record per field (run, stage, record, field, before, after, time, pipeline link), so changes can be "
        "audited and filtered in Airtable; `STAGE: rollback` can read a run back from it (`JOURNAL_RUN`). See "
        "docs/recovery.md."
    )
    TIME_BUDGET: Seconds = _var(
        "Seconds the pipe may spend on Airtable and Coda requests (waits for rate limits included). When it runs "
        "out the pipe sends nothing more, reports what was written and what is left, and fails the step; a "
        "re-run finishes the job.",
        default=600.0,
        readme_default="`600`",
    )
    ENABLED: Flag = _var(
        "Kill switch: `false` logs that the pipe is paused and exits 0 without reading or writing anything.",
        default=True,
        readme_default="`true`",
    )
    DEBUG: Flag = _var(
        "Log every HTTP request (tokens redacted) and more detail.", default=False, readme_default="`false`"
    )
    PRERELEASE: PrereleaseId | None = _var(
        "Make the release computed at the merge and deploy stages a pre-release with this identifier: `rc` "
        "gives `2.0.0-rc.1`, then `2.0.0-rc.2`... After a pre-release tag the next release is a pre-release "
        "of the same identifier even without it; set `VERSION` to leave the pre-release line.",
        readme_default="none (a pre-release only after a pre-release tag)",
    )
    CODE_INSIGHTS: Flag | None = _var(
        "Publish a Code Insights report on `BITBUCKET_COMMIT` at every stage (the linked records, their status "
        "before and after, the release, annotations for mistyped or missing records and failures; see "
        "docs/bitbucket-report-and-comment.md). Needs no credentials inside Pipelines (the auth proxy adds "
        "them). A report that cannot be sent is a warning, never a failed sync.",
        readme_default="`true` inside Pipelines (`CI` and `BITBUCKET_BUILD_NUMBER` set), else `false`",
    )
    REQUIRE_RECORD: Flag = _var(
        "Policy: a branch build or pull request whose branch and commits reference no Airtable record gets a "
        "FAILED Code Insights report and the step fails, so a passing report can be made a merge check.",
        default=False,
        readme_default="`false`",
    )
    BITBUCKET_ACCESS_TOKEN: str | None = _var(
        "Bitbucket repository access token (secured variable), with the least scope `pullrequest` (read pull "
        "requests and comment on them): keeps one comment up to date on the pull request at the review stage and "
        "reads the merged pull request's state at the merge stage. Without it the pipe writes no comment. With "
        "`STAGE: start` it creates branches: the scope `repository:write` (also reads branches).",
    )
    RECORD_ID: RecordId | None = _var(
        "With `STAGE: start`: the Airtable record (`rec…`, or its URL) to start work on: the pipe creates "
        "`feature/<record ID>-<title>` from the head of `MAIN_BRANCH` (or reuses the record's branch) and writes "
        "the branch back to the record (see docs/start-work.md).",
        required="with `STAGE: start`, unless `START_VIEW` is set",
    )
    START_VIEW: str | None = _var(
        "With `STAGE: start`: name or ID of an Airtable view (such as `Ready for Dev`) of `AIRTABLE_TABLE`; every "
        "record in it gets its branch, for a scheduled pipeline. Instead of `RECORD_ID`."
    )
    BITBUCKET_API_URL: HttpUrl = _var(
        "Base URL of the Bitbucket API, for tests and self-hosted runners. Code Insights requests go there "
        "through `BITBUCKET_API_PROXY`; requests with `BITBUCKET_ACCESS_TOKEN` go there directly (over https "
        "for `api.bitbucket.org`).",
        default="http://api.bitbucket.org/2.0",
        readme_default="`http://api.bitbucket.org/2.0`",
    )
    BITBUCKET_API_PROXY: OptionalHttpUrl = _var(
        "The Pipelines auth proxy Code Insights requests go through (it adds the credentials); empty for none "
        "(then the report is sent with `BITBUCKET_ACCESS_TOKEN`, if given).",
        default="http://host.docker.internal:29418",
        readme_default="`http://host.docker.internal:29418`",
    )
    RECONCILE: Literal["report", "apply"] = _var(
        "With `STAGE: reconcile`: `report` lists every disagreement between the history and the base and writes "
        "nothing (the step passes); `apply` also writes the fixes (statuses forward only, empty links filled), "
        "journaled like any run.",
        default="report",
        readme_default="`report`",
    )
    RECONCILE_SINCE: ReconcileSince | None = _var(
        "With `STAGE: reconcile`: read the history after this release tag (`v1.4.0`), or since this date "
        "(`2024-05-01`, or an ISO 8601 date-time).",
        readme_default="the whole history of `MAIN_BRANCH`",
    )
    RECONCILE_SAMPLE: SampleSize | None = _var(
        "With `STAGE: reconcile`: check only this many of the referenced records, a sample that is the same for "
        "the same commit (see docs/recovery.md), for a quick check after an incident.",
        readme_default="every referenced record",
    )


def variable_names() -> list[str]:
    return list(PipeVariables.model_fields)


def variable_table() -> list[dict[str, Any]]:
    """One row per variable for the README table: name, required, default, description."""
    rows = []
    for name, info in PipeVariables.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        rows.append(
            {
                "name": name,
                "required": extra.get("required"),
                "default": extra.get("readme_default"),
                "description": info.description,
                "secret": name in SECRET_VARIABLES,
            }
        )
    return rows
