"""The targets a sync run walks, in the order they are applied (see pipe.sinks.base for the contract).

The work items come first; the deployment log comes after every other write to Airtable and Coda, as it is
written only when everything before it succeeded; then, at deploy, the release's environment is checked against
the log. Each factory returns None when the run does not use its target (not configured, not this stage).
The Bitbucket targets (pull-request comment, Code Insights report) come after them: they show what the others did
and never fail a sync that succeeded; the change journal in Airtable comes last, as it appends every write above.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipe.sinks import (
    airtable_records,
    airtable_release,
    changelog_file,
    coda_page,
    coda_rows,
    coda_webhook,
    code_insights,
    deployment_log,
    journal_table,
    pr_comment,
    sync_errors,
)
from pipe.sinks.base import Target, TargetRun

TargetFactory = Callable[[TargetRun], Target | None]

TARGETS: Sequence[TargetFactory] = (
    airtable_records.target,  # the work items: statuses and links
    sync_errors.target,  # airtable.fields.sync_error: the reason, on records whose write failed
    changelog_file.target,  # CHANGELOG_FILE: the release's section
    airtable_release.target,  # AIRTABLE_RELEASES_TABLE: one record per version
    coda_rows.target,  # CODA_TABLE: one row per changelog entry
    coda_page.target,  # CODA_PAGE: the notes, once per release
    coda_webhook.target,  # CODA_WEBHOOK_RULE_ID: one trigger per chosen stage, when all above succeeded
    deployment_log.target,  # AIRTABLE_DEPLOYMENTS_TABLE: only when all above succeeded
    airtable_release.environment_target,  # deploy: the release's environment, the furthest the log holds
    pr_comment.target,  # review, BITBUCKET_ACCESS_TOKEN: the one pull-request comment
    code_insights.target,  # CODE_INSIGHTS: the report on the commit, after everything it reports on
    journal_table.target,  # AIRTABLE_JOURNAL_TABLE: every write above, appended 10 per request; never fails a sync
)


def build_targets(run: TargetRun) -> list[Target]:
    return [t for t in (factory(run) for factory in TARGETS) if t is not None]
