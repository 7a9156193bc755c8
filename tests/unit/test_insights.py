"""Pure parts of the Bitbucket report and comment: rendering, caps, stable ids, comparisons, messages."""

from __future__ import annotations

from pipe.insights.comment import (
    CHANGES_BEGIN,
    CHANGES_END,
    MARKER,
    NOTHING_CHANGED,
    changes_block,
    changes_text,
    render_comment,
)
from pipe.insights.findings import Finding
from pipe.insights.report import MAX_ANNOTATIONS, annotation_items, record_line, same_fields
from pipe.model import RecordOutcome, RecordPlan
from pipe.plan.sync_errors import sync_error_change


def plan(reference: str = "FEAT-7", **kw) -> RecordPlan:
    values = {"record_id": "recAAAAAAAAAAAAAA", "title": "Login | SSO", "status_before": "Ready"}
    values.update(kw)
    return RecordPlan(reference=reference, **values)


def finding(i: int, kind="missing") -> Finding:
    return Finding(kind, f"FEAT-{i}", f"FEAT-{i}: no record has this key", "a" * 40, "commit aaaaaaa")


# -- the comment ---------------------------------------------------------------------------------------


def test_the_comment_opens_with_the_marker_and_escapes_table_cells():
    text = render_comment([plan(status_after="In Review")], {}, [], changes=NOTHING_CHANGED)
    assert text.startswith(MARKER + "\n")
    assert "| FEAT-7 | Login \\| SSO | In Review |  |" in text
    assert f"{CHANGES_BEGIN}\n{NOTHING_CHANGED}\n{CHANGES_END}" in text


def test_the_changes_part_is_kept_when_a_run_changed_nothing():
    first = render_comment([plan()], {}, [], changes="**Changed by build #5, commit abc1234:**\n\n- FEAT-7 moved")
    assert changes_block(first) == "**Changed by build #5, commit abc1234:**\n\n- FEAT-7 moved"
    again = render_comment([plan()], {}, [], changes=changes_block(first) or NOTHING_CHANGED)
    assert again == first
    assert changes_block("no block here") is None


def test_changes_text_lists_only_records_this_run_wrote():
    moved = plan(status_after="In Review", changes=())
    unchanged = plan("FEAT-8", record_id="recBBBBBBBBBBBBBB")
    outcomes = {moved.key: RecordOutcome(written=True), unchanged.key: RecordOutcome()}
    text = changes_text([moved, unchanged], outcomes, "build #9, commit 1234567")
    assert text is not None and text.startswith("**Changed by build #9, commit 1234567:**")
    assert "FEAT-7 'Login | SSO' Ready → In Review" in text and "FEAT-8" not in text
    assert changes_text([unchanged], outcomes, "x") is None


def test_a_huge_pull_request_is_cut_with_a_count():
    plans = [plan(f"FEAT-{i}", record_id=f"rec{i:014d}") for i in range(1200)]
    text = render_comment(plans, {}, [finding(i) for i in range(1200)], changes=NOTHING_CHANGED)
    assert "| … | 1150 more records | | |" in text
    assert "- … and 1170 more (see the pipe's log)" in text
    assert len(text) < 20_000


# -- the report -------------------------------------------------------------------------------------------


def test_at_most_1000_annotations_the_last_saying_how_many_more():
    items = annotation_items([finding(i) for i in range(1234)])
    assert len(items) == MAX_ANNOTATIONS
    assert items[-1]["external_id"] == "acs-more"
    assert items[-1]["summary"].startswith("235 more findings are not shown here")
    assert len({i["external_id"] for i in items}) == MAX_ANNOTATIONS


def test_annotation_ids_are_stable_and_safe():
    a, b = finding(1), finding(1)
    assert a.external_id == b.external_id and a.external_id.startswith("acs-missing-FEAT-1-")
    odd = Finding("look-alike", "rec/../ä b", "x", None, "the branch name x")
    assert all(c.isalnum() or c == "-" for c in odd.external_id)
    assert finding(1).external_id != finding(1, kind="failed").external_id


def test_record_lines_show_the_move_or_the_status():
    assert record_line(plan(status_after="In Progress"), RecordOutcome(written=True)) == (
        "FEAT-7 'Login | SSO' Ready → In Progress"
    )
    assert record_line(plan(status_after="Ready"), None) == "FEAT-7 'Login | SSO' Ready"
    failed = record_line(plan(status_after="In Progress"), RecordOutcome(error="422"))
    assert failed.endswith("(not written)")


def test_same_fields_treats_absent_and_empty_alike():
    wanted = {"title": "T", "details": "D", "data": [{"title": "x", "value": 1}]}
    assert same_fields(wanted, {**wanted, "remote_link_enabled": False, "link": None}, ["title", "details", "link"])
    assert not same_fields(wanted, {**wanted, "details": "E"}, ["details"])
    assert not same_fields(wanted, None, ["title"])


def test_the_sync_error_field_is_cleared_or_set_only_when_it_differs():
    assert sync_error_change("Sync Error", None, None) is None
    assert sync_error_change("Sync Error", "", None) is None
    assert sync_error_change("Sync Error", "old reason", None).after is None
    assert sync_error_change("Sync Error", "same ", "same") is None
    assert sync_error_change("Sync Error", None, "why").after == "why"
