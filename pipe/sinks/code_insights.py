"""The Code Insights report on BITBUCKET_COMMIT, applied last: it reports what every target before it did.

prepare() reads the commit's report and its annotations (nothing when there is no report yet); apply() renders
the report from the earlier targets' results and writes only the difference: the report when it changed,
annotations that are new or changed (100 per request), and deletes annotations no longer found. A re-run that
finds the same renders the same report and writes nothing.

A run that covers no commit (a deployment re-run: nothing since the last one) leaves an existing report alone.

It never fails a sync that succeeded: an unreachable auth proxy, a refusal or a rate limit is a warning and the
result is `skipped`. The one exception is REQUIRE_RECORD (pipe.insights.policy), by design: its result is
`failed`, so the step fails, whether or not the report could be sent.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipe.clients.bitbucket import BitbucketClient, BitbucketError
from pipe.config.file import Workflow
from pipe.facts.run_facts import RunFacts
from pipe.insights.findings import findings
from pipe.insights.policy import missing_record_problem
from pipe.insights.report import ANNOTATION_FIELDS, REPORT_FIELDS, REPORT_ID, InsightsReport, build_report, same_fields
from pipe.model import Status, TargetResult
from pipe.plan.run_plan import RunPlan
from pipe.sinks.airtable_records import NAME as RECORDS
from pipe.sinks.base import TargetRun
from pipe.sinks.journal import Journal

log = logging.getLogger("pipe.bitbucket")

NAME = "Bitbucket Code Insights report"


def target(run: TargetRun) -> CodeInsightsTarget | None:
    b = run.settings.bitbucket
    if not b.code_insights and not b.require_record:
        return None
    client = run.clients.insights if b.code_insights else None
    if b.code_insights and client is None:
        why = (
            "BITBUCKET_REPO_FULL_NAME (or BITBUCKET_WORKSPACE and BITBUCKET_REPO_SLUG) is not set"
            if run.facts.context.repo_full_name is None
            else "BITBUCKET_API_PROXY is empty and no BITBUCKET_ACCESS_TOKEN is set, so nothing can authenticate it"
        )
        log.warning("No Code Insights report: %s", why)
    keys = run.settings.airtable.key_pattern is not None
    policy = missing_record_problem(run.facts, run.plan, keys) if b.require_record else None
    table = run.settings.airtable.table
    return CodeInsightsTarget(client, run.facts, run.plan, run.settings.workflow, policy, table, run.dry_run)


@dataclass
class CodeInsightsTarget:
    client: BitbucketClient | None  # None: the policy is checked, no report is sent (CODE_INSIGHTS false)
    facts: RunFacts
    plan: RunPlan
    workflow: Workflow
    policy: str | None  # the REQUIRE_RECORD message when the run breaks it
    table: str | None
    dry_run: bool
    name: str = NAME

    def prepare(self) -> CodeInsightsChange:
        commit = self.facts.context.commit
        change = CodeInsightsChange(self, commit)
        if self.client is None or self.dry_run:
            return change
        if not commit:
            change.unsent = "BITBUCKET_COMMIT is not set"
            return change
        try:
            change.current = self.client.report(commit, REPORT_ID)
            if change.current is not None:
                change.current_annotations = {
                    str(a.get("external_id")): a for a in self.client.annotations(commit, REPORT_ID)
                }
        except BitbucketError as exc:
            change.unsent = str(exc)
        return change


@dataclass
class CodeInsightsChange:
    target: CodeInsightsTarget
    commit: str | None
    current: dict[str, Any] | None = None  # the report as read, None when there is none yet
    current_annotations: dict[str, dict[str, Any]] = field(default_factory=dict)
    unsent: str | None = None  # why the report cannot be sent (read failed, no commit)

    @property
    def name(self) -> str:
        return NAME

    def preview(self) -> TargetResult:
        if self.target.policy:
            return TargetResult(NAME, "failed", self.target.policy)
        where = f"on commit {self.commit[:7]}" if self.commit else "(no BITBUCKET_COMMIT)"
        return TargetResult(NAME, "planned", f"would publish the report {where}")

    def apply(self, journal: Journal, earlier: Sequence[TargetResult]) -> TargetResult:
        t = self.target
        failures = [t.policy] if t.policy else []
        if t.client is None:
            return TargetResult(NAME, "failed", t.policy) if t.policy else TargetResult(NAME, "skipped", "off")
        if self.current is not None and not t.facts.commit_range.commits and not t.policy:
            # e.g. a deployment re-run: no commit since the last one, so nothing to add to what the report says
            return TargetResult(NAME, "unchanged", "this run covers no commit; the report on the commit stays")
        report = self._render(earlier, failures)
        before = t.client.policy.stats["requests"]
        try:
            writes = self._send(t.client, report) if self.unsent is None else None
        except BitbucketError as exc:
            writes, self.unsent = None, str(exc)
        requests = t.client.policy.stats["requests"] - before
        if writes is None:
            log.warning("The Code Insights report was not sent: %s. The sync itself is not affected.", self.unsent)
            detail = f"not sent: {self.unsent}"
            return TargetResult(NAME, "failed" if t.policy else "skipped", "; ".join([*failures, detail]))
        counts = {"result": report.body["result"], "annotations": len(report.annotations), "writes": writes}
        status: Status = "written" if writes else "unchanged"
        detail = f"{report.body['result']}, {len(report.annotations)} annotation(s), {writes} write(s)"
        if t.policy:
            return TargetResult(NAME, "failed", f"{t.policy} (report {detail})", {**counts, "requests": requests})
        return TargetResult(NAME, status, detail, {**counts, "requests": requests})

    def _render(self, earlier: Sequence[TargetResult], failures: list[str]) -> InsightsReport:
        t = self.target
        records = next((r for r in earlier if r.target == RECORDS), None)
        outcomes = dict(records.records) if records else {}
        failed = [f"{r.target} failed: {r.detail}" for r in earlier if r.failed and r.target != RECORDS]
        found = findings(t.facts, t.plan.records, outcomes, t.workflow, [r for r in earlier if r.target != RECORDS])
        prefix = t.facts.airtable.url_prefix
        return build_report(
            t.facts,
            t.plan,
            outcomes,
            found,
            failures=[*failures, *failed],
            table_url=prefix.rstrip("/") if prefix else None,
            table_name=t.table,
        )

    def _send(self, client: BitbucketClient, report: InsightsReport) -> int:
        """Write the difference; returns the write requests sent."""
        assert self.commit is not None
        writes = 0
        wanted = {a["external_id"]: a for a in report.annotations}
        for stale in [i for i in self.current_annotations if i not in wanted]:  # first: room under the 1,000 cap
            client.delete_annotation(self.commit, REPORT_ID, stale)
            writes += 1
        if not same_fields(report.body, self.current, REPORT_FIELDS):
            client.put_report(self.commit, REPORT_ID, report.body)
            writes += 1
        changed = [a for i, a in wanted.items() if not _same_annotation(a, self.current_annotations.get(i))]
        writes += client.upsert_annotations(self.commit, REPORT_ID, changed)
        return writes


def _same_annotation(wanted: Mapping[str, Any], current: Mapping[str, Any] | None) -> bool:
    return same_fields(wanted, current, ANNOTATION_FIELDS)
