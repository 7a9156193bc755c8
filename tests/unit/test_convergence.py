"""The pure pieces that make concurrent runs converge (docs/concurrency.md): stage times and the statuses they
imply, the status set again after reading back, the copies of a page section, and the record kept when runs
created one twice."""

from __future__ import annotations

import pytest

from pipe.clients.coda import PageLine
from pipe.config.file import ReleaseFields, Workflow
from pipe.model import Stage
from pipe.plan.workflow import furthest, implied_status, parse_time, repair_status, time_status
from pipe.sinks.airtable_release import merged_fields
from pipe.sinks.coda_page import duplicate_sections, release_marker
from pipe.sinks.duplicates import oldest

DEFAULT = Workflow()
# A team with a QA environment before staging, a status people own, and its own names.
QA = Workflow(
    statuses=["Todo", "Doing", "Review", "Done", "In QA", "Staged", "Live"],
    stages={Stage.BUILD: "Doing", Stage.REVIEW: "Review", Stage.MERGE: "Done", Stage.DEPLOY: "Live"},
    environments={"staging": "Staged", "qa": "In QA", "production": "Live"},
    human_owned=["Parked"],
)
NOW = parse_time("2026-03-01T12:00:00.000Z") or 0.0
WINDOW = 900.0


def at(seconds_before_now: float) -> str:
    """An Airtable dateTime this many seconds before NOW."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(NOW - seconds_before_now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# -- furthest ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (["Merged", "Released", "On Staging"], "Released"),
        (["In Review", None, "In Progress"], "In Review"),
        ([None, ""], None),
        ([], None),
        (["Blocked", "Merged"], "Merged"),  # a status people own is not along the workflow
        (["Nonsense"], None),
    ],
)
def test_furthest_is_the_status_furthest_along_the_workflow(statuses, expected):
    assert furthest(DEFAULT, statuses) == expected


# -- time_status ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "logical", "expected"),
    [
        (DEFAULT, "reviewed_at", "In Review"),
        (DEFAULT, "merged_at", "Merged"),
        (DEFAULT, "released_at", "Released"),
        (DEFAULT, "staged_at", "On Staging"),
        (QA, "merged_at", "Done"),
        (QA, "released_at", "Live"),
        (QA, "staged_at", "In QA"),  # the first pre-release environment along the workflow, not the first listed
        (DEFAULT, "commit", None),
        (DEFAULT, "status", None),
    ],
)
def test_each_stage_time_implies_its_stages_status(workflow, logical, expected):
    assert time_status(workflow, logical) == expected


def test_staged_at_implies_nothing_when_every_environment_releases():
    only_production = Workflow(environments={"production": "Released"})
    assert time_status(only_production, "staged_at") is None


# -- implied_status -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ({"merged_at": at(60)}, "Merged"),
        ({"merged_at": at(60), "released_at": at(30)}, "Released"),
        ({"merged_at": at(30), "released_at": at(5000)}, "Merged"),  # released long ago: a person reopened it
        ({"merged_at": at(WINDOW + 1)}, None),
        ({"merged_at": at(WINDOW)}, "Merged"),  # the window's edge is inside
        ({"released_at": at(-60)}, "Released"),  # a clock a little ahead of ours
        ({"released_at": at(-WINDOW - 60)}, None),  # far in the future: not a time a run just wrote
        ({"merged_at": None, "released_at": ""}, None),
        ({"merged_at": "not a time", "released_at": 17}, None),
        ({"merged_at": "2026-03-01", "staged_at": at(10)}, "On Staging"),  # a date alone is midnight, long ago
        ({}, None),
    ],
)
def test_recent_stage_times_imply_the_furthest_status(times, expected):
    assert implied_status(DEFAULT, times, now=NOW, recent_window=WINDOW) == expected


# -- repair_status --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "wanted", "expected"),
    [
        ("On Staging", "Released", "Released"),  # a staging run wrote after production: set again
        ("In Progress", "Released", "Released"),  # a late branch build
        (None, "Merged", "Merged"),  # emptied meanwhile
        ("Released", "Released", None),
        ("Released", "Merged", None),  # ahead of what this run wants: never moved back
        ("Blocked", "Released", None),  # owned by people: never overwritten by a repair
        ("Won't Do", "Merged", None),
        ("Shipped", "Released", None),  # not in the workflow: left alone
        ("On Staging", None, None),  # nothing wanted
        ("Merged", "Nonsense", None),  # a wanted status that is not in the workflow is never written
        (None, "Nonsense", None),
    ],
)
def test_the_status_is_set_again_only_when_it_is_behind_what_the_run_wants(current, wanted, expected):
    assert repair_status(DEFAULT, current, wanted) == expected


def test_repair_respects_the_teams_own_workflow():
    assert repair_status(QA, "Staged", "Live") == "Live"
    assert repair_status(QA, "Parked", "Live") is None
    assert repair_status(QA, "In QA", "Staged") == "Staged"


# -- duplicate_sections ------------------------------------------------------------------------------------------


def page(*texts: str) -> list[PageLine]:
    return [PageLine(f"cl-{i}", "paragraph", text) for i, text in enumerate(texts)]


def ids(lines: list[PageLine], *indexes: int) -> list[str]:
    return [lines[i].id for i in indexes]


M15, M16 = release_marker("1.5.0"), release_marker("1.6.0")


def test_a_section_on_the_page_once_has_no_copies():
    lines = page("# Release Notes", "Features", "- dark mode", M15, "Fixes", M16)
    assert duplicate_sections(lines, "1.5.0") == []
    assert duplicate_sections(lines, "1.6.0") == []
    assert duplicate_sections(lines, "2.0.0") == []


def test_copies_after_the_first_are_found_up_to_the_marker_before_them():
    lines = page("# Release Notes", "- dark mode", M15, "- dark mode", M15, "- dark mode", f"  {M15}  ")
    assert duplicate_sections(lines, "1.5.0") == ids(lines, 3, 4, 5, 6)


def test_a_copy_after_another_release_starts_after_that_release_s_marker():
    lines = page("intro", "- dark mode", M15, "- audit", M16, "- dark mode", M15)
    assert duplicate_sections(lines, "1.5.0") == ids(lines, 5, 6)
    assert duplicate_sections(lines, "1.6.0") == []


def test_a_release_whose_marker_starts_like_another_is_not_its_copy():
    lines = page("- a", release_marker("1.5.0-rc.1"), "- b", M15, "- c", release_marker("1.5.0-rc.1"))
    assert duplicate_sections(lines, "1.5.0") == []
    assert duplicate_sections(lines, "1.5.0-rc.1") == ids(lines, 4, 5)


# -- the record kept, and what it takes from the others ----------------------------------------------------


def test_the_oldest_record_is_kept_and_ties_go_to_the_smaller_record_id():
    a = {"id": "recB", "createdTime": "2026-03-01T12:00:01.000Z"}
    b = {"id": "recA", "createdTime": "2026-03-01T12:00:02.000Z"}
    c = {"id": "recC", "createdTime": "2026-03-01T12:00:01.000Z"}
    assert oldest([b, c, a]) is a
    assert oldest([b]) is b
    assert oldest([]) is None


FIELDS = ReleaseFields()


def test_the_kept_record_takes_every_link_and_the_fields_it_lacks():
    kept = {"Version": "1.5.0", "Work Items": ["rec1"], "Notes": "", "Environment": "staging"}
    others = [
        {"Version": "1.5.0", "Work Items": ["rec2", "rec1"], "Notes": "- dark mode", "Date": "2026-03-01"},
        {"Version": "1.5.0", "Work Items": ["rec3", "rec2"], "Notes": "other notes"},
    ]
    merged = merged_fields(FIELDS, kept, others, DEFAULT, environment=False)
    assert merged == {"Work Items": ["rec1", "rec2", "rec3"], "Notes": "- dark mode", "Date": "2026-03-01"}


def test_only_a_deploy_run_moves_the_furthest_environment_into_the_kept_record():
    kept = {"Version": "1.5.0", "Environment": "staging", "Deployed At": "2026-03-01T12:00:00.000Z"}
    others = [{"Version": "1.5.0", "Environment": "production", "Deployed At": "2026-03-01T12:01:00.000Z"}]
    assert merged_fields(FIELDS, kept, others, DEFAULT, environment=False) == {}
    assert merged_fields(FIELDS, kept, others, DEFAULT, environment=True) == {
        "Environment": "production",
        "Deployed At": "2026-03-01T12:01:00.000Z",
    }
    behind = [{"Version": "1.5.0", "Environment": "staging"}]
    assert merged_fields(FIELDS, {**kept, "Environment": "production"}, behind, DEFAULT, environment=True) == {}


def test_nothing_is_taken_when_the_duplicates_hold_nothing_more():
    kept = {"Version": "1.5.0", "Work Items": ["rec1"], "Notes": "n"}
    assert merged_fields(FIELDS, kept, [{"Version": "1.5.0", "Work Items": ["rec1"]}], DEFAULT, environment=True) == {}
