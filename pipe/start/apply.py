"""Carry out the plans of `STAGE: start`: prove write access, create the branches, write them to the records.

Order, so that bad input leaves nothing half done:

1. `prepare` (reads, and one write that changes nothing): the head of MAIN_BRANCH, and Airtable write access
   proven by an update that names no field (as the preflight does), before any branch is created. A missing
   main branch or a read-only Airtable token stops the run here: nothing written.
2. Branches are created from that head, one POST each, journaled. A refusal of the token (401, 403) before the
   first branch stops the run: nothing written. A branch another run created meanwhile (400, and it exists)
   is reused.
3. The records get the branch name and link, 10 per PATCH, journaled. Were that to fail, the branch exists
   and a re-run reuses it and writes the record.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from pipe.clients.airtable import WRITE_CHUNK, AirtableClient, AirtableConfigError, AirtableError
from pipe.clients.bitbucket import BitbucketClient, BitbucketError
from pipe.clients.http import BudgetExceeded
from pipe.errors import UserError
from pipe.sinks.journal import Journal
from pipe.start.plan import StartPlan

log = logging.getLogger("pipe.start")


@dataclass
class StartOutcome:
    created: bool = False  # this run created the branch
    written: bool = False  # the record's fields were written
    error: str | None = None
    note: str = ""  # e.g. another run created the branch meanwhile
    unconfirmed: bool = False  # the create was sent and no answer came: Bitbucket may have created the branch


@dataclass(frozen=True)
class Prepared:
    head: str | None  # the commit new branches start from (None: nothing to create)


def prepare(
    plans: Sequence[StartPlan], bitbucket: BitbucketClient, airtable: AirtableClient, main_branch: str
) -> Prepared:
    creating = [p for p in plans if p.action == "create"]
    if not creating:
        return Prepared(None)
    found = bitbucket.branch(main_branch)
    head = ((found or {}).get("target") or {}).get("hash") if found else None
    if not head:
        raise UserError(
            f"MAIN_BRANCH: got {main_branch!r}; repository {bitbucket.repo_full_name} has no such branch to start "
            "branches from. Set MAIN_BRANCH to the repository's main branch; nothing was written."
        )
    _prove_write_access(airtable, creating[0])
    return Prepared(str(head))


def _prove_write_access(client: AirtableClient, plan: StartPlan) -> None:
    """An update that names no field changes nothing; should Airtable refuse an empty update (422), the branch
    field is set to the value it holds."""
    try:
        try:
            client.patch_record(plan.record_id, {})
        except AirtableError as exc:
            if exc.status != 422 or not plan.changes:
                raise
            first = plan.changes[0]
            client.patch_record(plan.record_id, {first.field: first.before})
    except AirtableError as exc:
        if exc.status in (401, 403):
            raise UserError(
                f"AIRTABLE_TOKEN may read table {client.table_name!r} but not write it ({exc}); add the scope "
                "data.records:write (and editor access to the base). The branch is only created when it can be "
                "written to the record: nothing was written."
            ) from None
        raise


def apply(
    plans: Sequence[StartPlan],
    prepared: Prepared,
    bitbucket: BitbucketClient,
    airtable: AirtableClient,
    journal: Journal,
) -> dict[str, StartOutcome]:
    outcomes = {p.record_id: StartOutcome() for p in plans if p.action != "skip"}
    ready = _create_branches([p for p in plans if p.action == "create"], prepared, bitbucket, journal, outcomes)
    ready += [p for p in plans if p.action == "reuse"]
    order = {p.record_id: i for i, p in enumerate(plans)}
    _write_records(sorted(ready, key=lambda p: order[p.record_id]), airtable, journal, outcomes)
    return outcomes


def _create_branches(
    plans: Sequence[StartPlan],
    prepared: Prepared,
    client: BitbucketClient,
    journal: Journal,
    outcomes: dict[str, StartOutcome],
) -> list[StartPlan]:
    """Create each branch; returns the plans whose branch exists now."""
    done: list[StartPlan] = []
    for index, plan in enumerate(plans):
        assert plan.branch is not None and prepared.head is not None
        try:
            client.create_branch(plan.branch, prepared.head)
        except BitbucketError as exc:
            if exc.status == 400 and client.branch(plan.branch) is not None:
                outcomes[plan.record_id].note = "another run created it meanwhile; reused"
                done.append(plan)
                continue
            if exc.status in (401, 403) and not any(o.created for o in outcomes.values()):
                raise UserError(f"{exc}. Nothing was written.") from None
            if exc.status is None:
                _unconfirmed(plan, prepared, client, journal, outcomes[plan.record_id])
            _fail(plans[index:], outcomes, str(exc), f"not tried after an earlier failure: {exc}")
            return done
        except BudgetExceeded as exc:
            _unconfirmed(plan, prepared, client, journal, outcomes[plan.record_id])
            _fail(plans[index:], outcomes, str(exc), "not tried: the time budget (TIME_BUDGET) ran out")
            return done
        journal.record("bitbucket", client.repo_full_name, plan.branch, {"target": (None, prepared.head)}, created=True)
        outcomes[plan.record_id].created = True
        done.append(plan)
    return done


def _unconfirmed(
    plan: StartPlan, prepared: Prepared, client: BitbucketClient, journal: Journal, outcome: StartOutcome
) -> None:
    """A create sent without an answer: journaled as unconfirmed; a re-run finds the branch if it was made."""
    assert plan.branch is not None
    journal.record(
        "bitbucket",
        client.repo_full_name,
        plan.branch,
        {"target": (None, prepared.head)},
        created=True,
        unconfirmed=True,
    )
    outcome.unconfirmed = True


def _write_records(
    plans: Sequence[StartPlan], client: AirtableClient, journal: Journal, outcomes: dict[str, StartOutcome]
) -> None:
    pending = [p for p in plans if p.changes]
    for start in range(0, len(pending), WRITE_CHUNK):
        batch = pending[start : start + WRITE_CHUNK]
        updates = [(p.record_id, {c.field: c.after for c in p.changes}) for p in batch]
        try:
            client.update(updates)
        except (AirtableError, AirtableConfigError, BudgetExceeded) as exc:
            if isinstance(exc, AirtableConfigError) and not any(o.created or o.written for o in outcomes.values()):
                raise  # refused before anything was written (the branches existed): a configuration problem
            unconfirmed = isinstance(exc, AirtableError) and exc.status is None
            for plan in batch if unconfirmed else ():
                _journal_record(journal, client, plan, unconfirmed=True)
            reason = f"the branch exists, but the record was not written ({exc}); a re-run reuses it and writes it"
            for plan in pending[start:]:
                outcomes[plan.record_id].error = reason
            log.error("Airtable stopped taking writes: %s", exc)
            return
        for plan in batch:
            _journal_record(journal, client, plan)
            outcomes[plan.record_id].written = True


def _journal_record(journal: Journal, client: AirtableClient, plan: StartPlan, *, unconfirmed: bool = False) -> None:
    changes = {c.field: (c.before, c.after) for c in plan.changes}
    journal.record("airtable", client.table_name, plan.record_id, changes, created=False, unconfirmed=unconfirmed)


def _fail(plans: Sequence[StartPlan], outcomes: dict[str, StartOutcome], first: str, rest: str) -> None:
    for index, plan in enumerate(plans):
        outcomes[plan.record_id].error = first if index == 0 else rest
    log.error("Bitbucket stopped creating branches: %s", first)
