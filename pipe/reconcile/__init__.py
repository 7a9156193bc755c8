"""`STAGE: reconcile`: compare what the git history implies for every record it names with what the base holds,
report every disagreement, and with `RECONCILE: apply` write the forward-only fixes (docs/recovery.md).

- `history`: MAIN_BRANCH's commits (one `git log`) and release tags (facts: reads only);
- `referenced`: the records the commits name, and the reproducible sample (`RECONCILE_SAMPLE`);
- `base`: the work items and the deployments log, as Airtable holds them (reads only);
- `evidence`: per record, what the history implies (merged by, release, deployments, status): pure;
- `compare`: the disagreements and the fixes, by the sync's workflow rules (pipe.plan.workflow): pure;
- `output`: the log's table and the JSON report;
- `mode`: `reconcile_mode(start) -> Finish`, the row of `pipe.flow.MODES`.
"""

from pipe.reconcile.mode import reconcile_mode

__all__ = ["reconcile_mode"]
