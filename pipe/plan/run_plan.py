"""The plan of a sync run: what each record becomes, and the release it publishes (merge and deploy).

A pure function of the facts: no reads, no writes. A dry run prints it and stops.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipe.config.file import Workflow
from pipe.facts.run_facts import RunFacts
from pipe.model import RecordPlan, Stage
from pipe.plan.records import check_status_options, plan_records
from pipe.plan.release import ReleasePlan, plan_release


@dataclass(frozen=True)
class RunPlan:
    stage: Stage
    records: tuple[RecordPlan, ...]
    release: ReleasePlan | None  # merge and deploy


def plan_run(facts: RunFacts, workflow: Workflow, table: str) -> RunPlan:
    """`table`: the work-items table's name, for messages."""
    records = plan_records(facts, workflow)
    check_status_options(records, facts, table)  # a missing select option stops the run before any write
    return RunPlan(facts.stage, records, plan_release(facts))
