"""The Code Insights report of a run, as the JSON Bitbucket takes (reference: bitbucket-api.md §3): the linked
records with their status before → after, the release at merge and deploy, counts, a link to the Airtable table,
and one annotation per finding (pipe.insights.findings).

Pure. What the report says depends only on what the run found and did, never on the build number or the time,
so a re-run that changes nothing renders the same report and writes nothing (pipe.sinks.code_insights).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipe.facts.run_facts import RunFacts
from pipe.insights.findings import Finding
from pipe.model import RecordOutcome, RecordPlan
from pipe.plan.run_plan import RunPlan

REPORT_ID = "airtable-coda-sync"  # stable: a re-run on the same commit replaces the report
REPORTER = "airtable-coda-sync"
TITLE = "Airtable records"
# Report type is one of SECURITY, COVERAGE, TEST, BUG; none is "work tracking". TEST reads best next to a
# PASSED/FAILED result and a merge check; nothing here depends on it.
REPORT_TYPE = "TEST"
MAX_DETAILS = 2000  # no limit is published for Cloud; kept short so the report panel stays readable
MAX_ANNOTATIONS = 1000  # per report (bitbucket-api.md §3)
MAX_SUMMARY = 450  # Bitbucket Server caps annotation summaries near 450; Cloud publishes no limit
REPORT_FIELDS = ("title", "details", "reporter", "link", "report_type", "result", "data")
ANNOTATION_FIELDS = ("annotation_type", "summary", "details", "result", "severity", "link")


@dataclass(frozen=True)
class InsightsReport:
    body: dict[str, Any]  # the PUT …/reports/{REPORT_ID} body
    annotations: tuple[dict[str, Any], ...]  # POST …/annotations items, each with its external_id
    findings: int  # how many findings there were (more than the annotations when capped)


def build_report(
    facts: RunFacts,
    plan: RunPlan,
    outcomes: Mapping[str, RecordOutcome],
    found: Sequence[Finding],
    *,
    failures: Sequence[str] = (),
    table_url: str | None = None,
    table_name: str | None = None,
) -> InsightsReport:
    """`failures`: why the run failed (failed targets, REQUIRE_RECORD), which makes the result FAILED."""
    records = plan.records
    moved = sum(1 for p in records if _moved(p, outcomes.get(p.key)))
    failed = sum(1 for p in records if (o := outcomes.get(p.key)) is not None and o.error)
    skipped = sum(1 for p in records if p.skipped)
    data: list[dict[str, Any]] = [
        {"title": "Stage", "type": "TEXT", "value": _stage(facts)},
        {"title": "Linked records", "type": "NUMBER", "value": sum(1 for p in records if p.record_id)},
        {"title": "Status moved", "type": "NUMBER", "value": moved},
        {"title": "Skipped", "type": "NUMBER", "value": skipped},
        {"title": "Failed", "type": "NUMBER", "value": failed},
    ]
    if plan.release is not None:
        data.append({"title": "Release", "type": "TEXT", "value": plan.release.version})
    if table_url:
        data.append({"title": "Airtable", "type": "LINK", "value": {"text": table_name or "table", "href": table_url}})
    body: dict[str, Any] = {
        "title": TITLE,
        "details": _details(facts, plan, outcomes, failures),
        "reporter": REPORTER,
        "report_type": REPORT_TYPE,
        "result": "FAILED" if failures or failed else "PASSED",
        "data": data,
    }
    if table_url:
        body["link"] = table_url
    return InsightsReport(body, tuple(annotation_items(found)), len(found))


def annotation_items(found: Sequence[Finding]) -> list[dict[str, Any]]:
    """One annotation per finding, at most 1,000 (the last one then says how many more there were)."""
    items = [_annotation(f) for f in found]
    if len(items) <= MAX_ANNOTATIONS:
        return items
    more = len(items) - (MAX_ANNOTATIONS - 1)
    overflow = {
        "external_id": "acs-more",
        "annotation_type": "CODE_SMELL",
        "summary": f"{more} more findings are not shown here (a report holds 1,000); the pipe's log lists them all",
        "result": "FAILED",
        "severity": "MEDIUM",
    }
    return [*items[: MAX_ANNOTATIONS - 1], overflow]


def _annotation(finding: Finding) -> dict[str, Any]:
    item: dict[str, Any] = {
        "external_id": finding.external_id,
        "annotation_type": "BUG" if finding.kind == "failed" else "CODE_SMELL",
        "summary": _cut(finding.summary, MAX_SUMMARY),
        "details": f"{finding.summary} (found in {finding.where})",
        "result": finding.result,
        "severity": finding.severity,
    }
    if finding.link:
        item["link"] = finding.link
    return item


def _details(facts: RunFacts, plan: RunPlan, outcomes: Mapping[str, RecordOutcome], failures: Sequence[str]) -> str:
    parts = [*failures]
    linked = [p for p in plan.records if p.record_id]
    if linked:
        lines = [record_line(p, outcomes.get(p.key)) for p in linked]
        parts.append(f"{len(linked)} linked record{'s' if len(linked) != 1 else ''}: " + "; ".join(lines) + ".")
    else:
        parts.append("No Airtable record is linked to this commit.")
    if plan.release is not None:
        environment = f", deployed to {plan.release.environment}" if plan.release.environment else ""
        parts.append(f"Release {plan.release.version}{environment}.")
    return _cut(" ".join(parts), MAX_DETAILS)


def record_line(plan: RecordPlan, outcome: RecordOutcome | None) -> str:
    """`FEAT-107 'API rate limit docs' Ready → In Progress` (or `… In Progress` when it did not move)."""
    title = f" '{plan.title}'" if plan.title else ""
    before = plan.status_before or "(empty)"
    after = (outcome.repaired if outcome else None) or plan.status_after or plan.status_before or "(empty)"
    status = after if before == after else f"{before} → {after}"
    if outcome is not None and outcome.error:
        status += " (not written)"
    return f"{plan.reference}{title} {status}"


def _moved(plan: RecordPlan, outcome: RecordOutcome | None) -> bool:
    return bool(outcome and outcome.written and plan.status_after and plan.status_after != plan.status_before)


def _stage(facts: RunFacts) -> str:
    if facts.environment:
        return f"{facts.stage.value} ({facts.environment})"
    return facts.stage.value


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def same_fields(wanted: Mapping[str, Any], current: Mapping[str, Any] | None, names: Sequence[str]) -> bool:
    """Whether `current` (as Bitbucket answers it) already holds `wanted` on `names`; a field left out counts as
    equal to one Bitbucket answers empty."""
    if current is None:
        return False
    return all((wanted.get(n) or None) == (current.get(n) or None) for n in names)
