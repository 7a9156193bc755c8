"""The targets a sync run walks, in the order they are applied (see pipe.sinks.base for the contract).

The work items come first; the deployment log comes after every other write, as it is written only when
everything before it succeeded; then, at deploy, the release's environment is checked against the log. Each
factory returns None when the run does not use its target (not configured, not this stage).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipe.sinks import airtable_records, airtable_release, changelog_file, coda_page, coda_rows, deployment_log
from pipe.sinks.base import Target, TargetRun

TargetFactory = Callable[[TargetRun], Target | None]

TARGETS: Sequence[TargetFactory] = (
    airtable_records.target,  # the work items: statuses and links
    changelog_file.target,  # CHANGELOG_FILE: the release's section
    airtable_release.target,  # AIRTABLE_RELEASES_TABLE: one record per version
    coda_rows.target,  # CODA_TABLE: one row per changelog entry
    coda_page.target,  # CODA_PAGE: the notes, once per release
    deployment_log.target,  # AIRTABLE_DEPLOYMENTS_TABLE: only when all above succeeded
    airtable_release.environment_target,  # deploy: the release's environment, the furthest the log holds
)


def build_targets(run: TargetRun) -> list[Target]:
    return [t for t in (factory(run) for factory in TARGETS) if t is not None]
