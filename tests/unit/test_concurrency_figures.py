"""The figures testkit/concurrency.py reports: backward writes in the order Airtable carried them out."""

from __future__ import annotations

from pipe.config.file import Workflow
from testkit.concurrency import Backward, StatusWrite, backward_writes


def writes(*pairs: tuple[str, float]) -> list[StatusWrite]:
    return [StatusWrite(status, at) for status, at in pairs]


def test_writes_that_only_move_forward_are_not_backward():
    assert backward_writes(writes(("In Progress", 0), ("Merged", 1), ("Released", 2)), Workflow()) == Backward()


def test_a_write_behind_an_earlier_one_counts_and_its_repair_is_timed():
    found = backward_writes(
        writes(("Merged", 0), ("Released", 1), ("On Staging", 2), ("Merged", 2.5), ("Released", 3.25)), Workflow()
    )
    assert found == Backward(count=2, repaired=2, seconds=(1.25, 0.75))


def test_a_backward_write_nothing_repaired_is_counted_but_not_timed():
    assert backward_writes(writes(("Released", 0), ("On Staging", 1)), Workflow()) == Backward(1, 0, ())


def test_a_repair_must_reach_the_furthest_status_written_before():
    found = backward_writes(writes(("Released", 0), ("In Progress", 1), ("On Staging", 2)), Workflow())
    assert found == Backward(count=2, repaired=0, seconds=())
