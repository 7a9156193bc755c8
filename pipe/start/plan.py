"""What `STAGE: start` does for each record, as plain data: create its branch, reuse the one it has, or skip it
(with the reason). Pure: a function of the facts.

A record's own branch is any branch whose name starts with `feature/<record ID>`, or the branch its branch
field names when that still exists; it is reused, never a second one made. A record whose branch field names
another record's branch (a copied record) is skipped, as is one with an empty title that needs a new branch.
Statuses are never part of the plan: Planned and Ready belong to the people in Airtable, and the first build of
the branch moves the record to In Progress.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pipe.model import FieldChange
from pipe.start.facts import Branch, StartFacts, WorkItem
from pipe.start.names import branch_name, other_records

Action = Literal["create", "reuse", "skip"]
BranchUrl = Callable[[str], str | None]  # branch name -> its web page (PipelineContext.branch_url)


@dataclass(frozen=True)
class StartPlan:
    item: WorkItem
    action: Action
    branch: str | None  # the branch the record gets (None when skipped)
    url: str | None  # its web page
    reason: str  # for the log and the report: why this action
    changes: tuple[FieldChange, ...] = ()  # what is written to the record
    others: tuple[str, ...] = ()  # more branches of the record that exist (reported, left alone)

    @property
    def record_id(self) -> str:
        return self.item.record_id


def plan_start(facts: StartFacts, branch_url: BranchUrl, key_pattern: re.Pattern[str] | None) -> tuple[StartPlan, ...]:
    return tuple(_plan(item, facts, branch_url, key_pattern) for item in facts.items)


def _plan(item: WorkItem, facts: StartFacts, branch_url: BranchUrl, key_pattern: re.Pattern[str] | None) -> StartPlan:
    field = facts.fields.branch or "Branch"
    if item.branch and (owners := other_records(item.branch, item.record_id)):
        return StartPlan(
            item,
            "skip",
            None,
            None,
            f"its field {field!r} holds {item.branch!r}, the branch of record {owners[0]} (a copied record?): "
            f"clear the field, then start it again",
        )
    existing = _existing(item, facts)
    if existing:
        chosen, *more = existing
        reason = "its branch exists already" + (f" (also: {', '.join(b.name for b in more)})" if more else "")
        return _with_changes(item, "reuse", chosen.name, branch_url, reason, facts, tuple(b.name for b in more))
    if item.title is None:
        return StartPlan(
            item,
            "skip",
            None,
            None,
            f"its title is empty (field {facts.title_field!r}) and the branch name is made from it: give the "
            "record a title, then start it again",
        )
    name = branch_name(item.record_id, item.title, key_pattern)
    reason = f"no branch yet: from the head of {facts.main_branch}"
    if not facts.branches_read:
        reason += " (existing branches not checked: no BITBUCKET_ACCESS_TOKEN)"
    return _with_changes(item, "create", name, branch_url, reason, facts)


def _existing(item: WorkItem, facts: StartFacts) -> list[Branch]:
    """The record's branches: the one its branch field names first (when it exists), then the others by name."""
    own = list(facts.branches.get(item.record_id, ()))
    named = facts.named.get(item.branch) if item.branch else None
    first = next((b for b in own if b.name == item.branch), None) or named
    if first is None:
        return own
    return [first, *(b for b in own if b.name != first.name)]


def _with_changes(
    item: WorkItem,
    action: Action,
    name: str,
    branch_url: BranchUrl,
    reason: str,
    facts: StartFacts,
    others: tuple[str, ...] = (),
) -> StartPlan:
    url = branch_url(name)
    changes = []
    if facts.fields.branch and item.branch != name:
        changes.append(FieldChange(facts.fields.branch, item.branch, name))
    if facts.fields.branch_url and url and item.branch_url != url:
        changes.append(FieldChange(facts.fields.branch_url, item.branch_url, url))
    return StartPlan(item, action, name, url, reason, tuple(changes), others)
