"""Compare what the history implies for each record with what the base holds: pure.

A disagreement is a field where the base is behind the history, each with what the history says and why.
Per field (the logical names of the config file's `airtable.fields`), what the history implies and when the base
disagrees:

* `status`: the furthest of the merge stage's status and those of the environments the record was deployed to.
  A status before it is fixed forward (pipe.plan.workflow); a status people own, or one not in the workflow, is
  reported and left alone.
* `merged_at`: when the first commit naming the record was merged into MAIN_BRANCH; `released_at` / `staged_at`:
  when the first deployment holding it went to a release / another environment. Disagrees when empty.
* `commit` (and `commit_url`): the newest commit naming it. Disagrees when empty or an older commit of the history.
* `pull_request`, `pull_request_state`, `branch`: the pull request and branch of the Bitbucket merge commit that
  merged it (its state MERGED). Disagrees when empty (a state: also when OPEN).

Like the sync, a reconcile never moves a status back, never touches a status people own, and writes a stage time
only into an empty field; a base ahead of the history (a status further on, a newer or unknown commit, a link or
time already there) is no disagreement: a later build, a deployment the log does not know or a person put it
there. A record whose status is left alone still gets its empty links. Records that get a fix also get `Last Run`
(the reconcile's run), as every record the pipe writes does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipe.config.file import Workflow
from pipe.facts.run_facts import TableFields
from pipe.model import FieldChange, PipelineContext, RecordPlan, RecordState, ReferenceKind, Resolution, Stage
from pipe.plan.records import airtable_time, cell_text
from pipe.plan.workflow import decide_status, parse_time
from pipe.reconcile.evidence import Evidence, HistoryIndex
from pipe.reconcile.referenced import Referenced

MERGED_STATE = "MERGED"


@dataclass(frozen=True)
class Disagreement:
    field: str  # the Airtable field
    logical: str  # its name in the mapping (status, merged_at, commit...)
    base: Any  # what the base holds (None: empty)
    history: Any  # what the history implies
    fix: bool  # written with RECONCILE: apply (False: left alone, `why` says why)
    why: str  # what in the history implies it, or why it is left alone
    commits: tuple[str, ...]  # the commits behind it, newest first
    tags: tuple[str, ...]  # the release tags behind it


@dataclass(frozen=True)
class Reconciled:
    plan: RecordPlan  # the fixes as a sync would write them (skipped: a reference the base has no record for)
    evidence: Evidence | None  # None when the base has no such record
    disagreements: tuple[Disagreement, ...] = ()

    @property
    def fixes(self) -> tuple[Disagreement, ...]:
        return tuple(d for d in self.disagreements if d.fix)


def reconcile_records(
    wanted: Sequence[Referenced],
    resolution: Resolution,
    index: HistoryIndex,
    fields: TableFields,
    workflow: Workflow,
    context: PipelineContext,
    branch: str,
) -> list[Reconciled]:
    """One result per record the history names (references to the same record by ID and by key are one), and
    one skipped result per reference the base has no single record for."""
    found: dict[str, tuple[RecordState, list[Referenced]]] = {}
    results: list[Reconciled] = []
    for item in wanted:
        state, problem = _resolve(item, resolution)
        if state is None:
            plan = RecordPlan(reference=item.value, record_id=None, sources=item.references, skipped=problem)
            results.append(Reconciled(plan, None))
        else:
            found.setdefault(state.record_id, (state, []))[1].append(item)
    compare = _Comparison(fields, workflow, context, index, branch)
    for state, items in found.values():
        evidence = index.evidence(sha for item in items for sha in item.commits)
        results.append(compare.record(state, items, evidence, resolution))
    return results


def _resolve(item: Referenced, resolution: Resolution) -> tuple[RecordState | None, str | None]:
    """The record a reference names, or why there is none (the sync's words: pipe.plan.records)."""
    if item.kind is ReferenceKind.RECORD_ID:
        state = resolution.by_id.get(item.value)
        return (state, None) if state is not None else (None, "no such record in the table")
    matches = resolution.by_key.get(item.value, ())
    if not matches:
        return None, "no record has this key"
    if len(matches) > 1:
        ids = ", ".join(m.record_id for m in matches)
        return None, f"the key matches {len(matches)} records ({ids}); make it unique"
    return matches[0], None


@dataclass(frozen=True)
class _Comparison:
    fields: TableFields
    workflow: Workflow
    context: PipelineContext
    index: HistoryIndex
    branch: str  # MAIN_BRANCH, for messages

    def record(
        self, state: RecordState, items: Sequence[Referenced], evidence: Evidence, resolution: Resolution
    ) -> Reconciled:
        names = self.fields.items.written()
        current: Mapping[str, Any] = state.fields
        found: list[Disagreement] = []
        status_before = cell_text(current.get(names["status"])) if "status" in names else None
        for check in (self._status, self._times, self._commit, self._pull_request):
            found.extend(check(names, current, evidence))
        changes = [FieldChange(d.field, d.base, d.history) for d in found if d.fix]
        status_after = next((d.history for d in found if d.fix and d.logical == "status"), status_before)
        run_id, last_run = self.context.run_id, names.get("last_run")
        if changes and run_id and last_run and cell_text(current.get(last_run)) != run_id:
            changes.append(FieldChange(last_run, current.get(last_run), run_id))
        sources = tuple(r for item in items for r in item.references)
        plan = RecordPlan(
            reference=items[0].value,
            record_id=state.record_id,
            title=resolution.title(state),
            url=resolution.record_url(state.record_id),
            status_before=status_before,
            status_after=status_after,
            changes=tuple(changes),
            sources=sources,
        )
        return Reconciled(plan, evidence, tuple(found))

    # -- one check per group of fields -----------------------------------------------------------------------

    def _status(self, names: Mapping[str, str], current: Mapping[str, Any], evidence: Evidence) -> list[Disagreement]:
        name = names.get("status")
        if not name or evidence.status is None:
            return []
        before = cell_text(current.get(name))
        decision = decide_status(self.workflow, before, evidence.status)
        if decision.after is not None:
            return [self._found(name, "status", before, decision.after, True, _status_why(evidence), evidence)]
        owned = before in self.workflow.human_owned or (before and before not in self.workflow.statuses)
        if owned:
            return [self._found(name, "status", before, evidence.status, False, decision.reason, evidence)]
        return []

    def _times(self, names: Mapping[str, str], current: Mapping[str, Any], evidence: Evidence) -> list[Disagreement]:
        found = []
        merged, name = evidence.merged_by, names.get("merged_at")
        if merged is not None and name and _empty(current.get(name)):
            why = f"merged into {self.branch} by {merged.short_sha} on {_day(merged.timestamp)}"
            value = airtable_time(merged.timestamp)
            found.append(self._found(name, "merged_at", None, value, True, why, evidence, (merged.sha,)))
        release = self.workflow.stage_status(Stage.DEPLOY)
        for logical, releases in (("released_at", True), ("staged_at", False)):
            name = names.get(logical)
            if not name or not _empty(current.get(name)):
                continue
            held = [d for d in evidence.deployments if (d.status == release) is releases and d.deployed_at]
            stamps = [(parse_time(d.deployed_at), d) for d in held]
            dated = [(stamp, d) for stamp, d in stamps if stamp is not None]
            if dated:
                stamp, first = min(dated, key=lambda pair: pair[0])
                value = airtable_time(int(stamp))
                found.append(self._found(name, logical, None, value, True, first.label, evidence, (first.commit,)))
        return found

    def _commit(self, names: Mapping[str, str], current: Mapping[str, Any], evidence: Evidence) -> list[Disagreement]:
        newest = evidence.newest
        if newest is None:
            return []
        found = []
        commit_field, url_field = names.get("commit"), names.get("commit_url")
        holds = cell_text(current.get(commit_field)) if commit_field else None
        moves = False
        if commit_field and (holds is None or (holds in self.index and self._older(holds, newest))):
            why = "the newest commit naming the record" + (
                f" (the base names an older one, {holds[:7]})" if holds else ""
            )
            found.append(self._found(commit_field, "commit", holds, newest, True, why, evidence, (newest,)))
            moves = True
        url = self.context.commit_url(newest)
        if url_field and url and (moves or not commit_field or holds == newest):
            held_url = cell_text(current.get(url_field))
            if held_url is None or (moves and held_url != url):
                why = "the link of the newest commit naming the record"
                found.append(self._found(url_field, "commit_url", held_url, url, True, why, evidence, (newest,)))
        return found

    def _pull_request(
        self, names: Mapping[str, str], current: Mapping[str, Any], evidence: Evidence
    ) -> list[Disagreement]:
        merged = evidence.merged_by
        if merged is None:
            return []
        found = []
        shas = (merged.sha,)
        repo = self.context.repo_url
        number = evidence.pull_request
        if number is not None:
            why = f"pull request #{number}, merged by {merged.short_sha}"
            name = names.get("pull_request")
            if name and repo and _empty(current.get(name)):
                url = f"{repo}/pull-requests/{number}"
                found.append(self._found(name, "pull_request", None, url, True, why, evidence, shas))
            name = names.get("pull_request_state")
            if name and cell_text(current.get(name)) in (None, "OPEN"):
                before = cell_text(current.get(name))
                found.append(self._found(name, "pull_request_state", before, MERGED_STATE, True, why, evidence, shas))
        name = names.get("branch")
        if name and evidence.branch and _empty(current.get(name)):
            why = f"the branch {merged.short_sha} merged"
            found.append(self._found(name, "branch", None, evidence.branch, True, why, evidence, shas))
        return found

    # -- helpers ------------------------------------------------------------------------------------------------

    def _found(
        self,
        field: str,
        logical: str,
        base: Any,
        history: Any,
        fix: bool,
        why: str,
        evidence: Evidence,
        commits: tuple[str, ...] | None = None,
    ) -> Disagreement:
        return Disagreement(field, logical, base, history, fix, why, commits or evidence.commits, evidence.tags)

    def _older(self, sha: str, than: str) -> bool:
        """`sha` comes after `than` in the log, which lists the newest first."""
        return self.index.order[sha] > self.index.order[than]


def _status_why(evidence: Evidence) -> str:
    deployed = [d for d in evidence.deployments if d.status == evidence.status]
    if deployed:
        return deployed[0].label
    merged = evidence.merged_by
    if merged is not None:
        return f"merged by {merged.short_sha} on {_day(merged.timestamp)}"
    return "named by commits of the main branch"


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _day(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
