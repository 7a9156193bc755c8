"""`STAGE: start` end to end: `pipe.flow.run` as the custom pipeline `start-work` runs it, against the Airtable and
Bitbucket emulators: the branch is created from main's head and written back; re-runs reuse it; statuses are
left alone; dry runs and a view of records."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID

from .harness import (
    BRANCH_107,
    REC_106,
    REC_107,
    REC_108,
    REC_COPY,
    REC_UNICODE,
    REPO_URL,
    SLUG,
    VIEW,
    WS,
    add_copy_of_107,
    add_empty_title,
)

LISTED = ("GET", "listBranches")
MAIN = ("GET", "getBranch")
CREATE = ("POST", "createBranch")
SCHEMA = ("GET", f"/v0/meta/bases/{SAMPLE_BASE_ID}/tables")
RECORDS = ("GET", f"/v0/{SAMPLE_BASE_ID}/Work%20Items")
PATCH = ("PATCH", f"/v0/{SAMPLE_BASE_ID}/Work%20Items")


def test_start_creates_the_branch_from_main_and_writes_it_to_the_record(start_work):
    main = start_work.origin.rev_parse("main")

    result = start_work.run(start_work.start_env(RECORD_ID=REC_107))

    assert result.code == 0, result.log
    assert start_work.branches()[BRANCH_107] == main
    fields = start_work.fields(REC_107)
    assert fields["Branch"] == BRANCH_107
    assert fields["Branch URL"] == f"{REPO_URL}/branch/{BRANCH_107}"
    assert fields["Status"] == "Ready"  # Planned and Ready are the people's; the first build moves it
    assert result.bitbucket_calls() == [LISTED, MAIN, CREATE]
    created = result.bitbucket[-1]
    assert created.body == {"name": BRANCH_107, "target": {"hash": main}}
    assert result.bitbucket[0].param("q") == f'name ~ "feature/{REC_107}"'
    # schema, the record, the write-access probe (names no field), the write
    assert result.airtable_calls() == [SCHEMA, RECORDS, PATCH, PATCH]
    assert result.airtable[2].body["records"] == [{"id": REC_107, "fields": {}}]
    assert f"✔ Start: 1 branch created, 0 reused, 1 record written ({BRANCH_107})." in result.log
    assert "created; Branch, Branch URL written" in result.log
    record = result.report["records"][0]
    assert record["action"] == "create" and record["branch_created"] and record["written"]
    assert result.report["http"]["bitbucket"]["requests"] == 3 and result.report["http"]["airtable"]["requests"] == 4
    assert start_work.token not in result.log


def test_the_writes_are_journaled_beside_the_report(start_work):
    env = start_work.start_env(RECORD_ID=REC_107)

    result = start_work.run(env)

    assert result.code == 0, result.log
    lines = Path(env["REPORT_FILE"].replace(".json", ".journal.jsonl")).read_text().splitlines()
    journal = [json.loads(line) for line in lines]
    main = start_work.origin.rev_parse("main")
    assert [(e["service"], e["record"], e["field"], e["before"], e["after"]) for e in journal] == [
        ("bitbucket", BRANCH_107, "target", None, main),
        ("airtable", REC_107, "Branch", None, BRANCH_107),
        ("airtable", REC_107, "Branch URL", None, f"{REPO_URL}/branch/{BRANCH_107}"),
    ]
    assert journal[0]["created"] is True and journal[1]["created"] is False


def test_a_rerun_reuses_the_branch_and_writes_nothing(start_work):
    env = start_work.start_env(RECORD_ID=REC_107)
    assert start_work.run(env).code == 0

    again = start_work.run(env)

    assert again.code == 0, again.log
    assert again.writes == []
    assert again.bitbucket_calls() == [LISTED]
    assert again.airtable_calls() == [SCHEMA, RECORDS]
    assert f"branch {BRANCH_107} exists already, reused; the record already names it" in again.log
    assert sorted(start_work.branches()) == [BRANCH_107, "main"]


def test_a_branch_made_by_hand_for_the_record_is_reused_never_a_second_one(start_work):
    own = f"feature/{REC_107}_docs-by-hand"
    start_work.bitbucket.add_branch(WS, SLUG, own, start_work.origin.rev_parse("main"))
    start_work.bitbucket.add_branch(WS, SLUG, f"feature/{REC_107}x", start_work.origin.rev_parse("main"))  # not its

    result = start_work.run(start_work.start_env(RECORD_ID=REC_107))

    assert result.code == 0, result.log
    assert CREATE not in result.bitbucket_calls()
    assert start_work.fields(REC_107)["Branch"] == own
    assert f"branch {own} exists already, reused; Branch, Branch URL written" in result.log
    assert result.report["records"][0]["other_branches"] == []


def test_of_several_branches_the_one_the_record_names_is_kept_and_the_others_reported(start_work):
    head = start_work.origin.rev_parse("main")
    for name in (f"feature/{REC_107}-a", f"feature/{REC_107}-b"):
        start_work.bitbucket.add_branch(WS, SLUG, name, head)
    assert start_work.run(start_work.start_env(RECORD_ID=REC_107)).code == 0
    assert start_work.fields(REC_107)["Branch"] == f"feature/{REC_107}-a"  # the first by name

    result = start_work.run(start_work.start_env(RECORD_ID=REC_107))

    assert result.writes == []
    assert f"exists already, reused (also: feature/{REC_107}-b)" in result.log


def test_the_branch_the_record_names_is_reused_when_it_exists(start_work):
    # FEAT-106 is In Progress on feature/FEAT-106-build-image (a branch named by key, made by a person)
    start_work.bitbucket.add_branch(WS, SLUG, "feature/FEAT-106-build-image", start_work.origin.rev_parse("main"))

    result = start_work.run(start_work.start_env(RECORD_ID=REC_106))

    assert result.code == 0, result.log
    assert result.bitbucket_calls() == [LISTED, ("GET", "getBranch")]
    assert start_work.fields(REC_106)["Branch"] == "feature/FEAT-106-build-image"
    assert start_work.fields(REC_106)["Status"] == "In Progress"
    assert sorted(start_work.branches()) == ["feature/FEAT-106-build-image", "main"]


def test_a_branch_the_record_names_that_is_gone_is_replaced(start_work):
    result = start_work.run(start_work.start_env(RECORD_ID=REC_106))  # feature/FEAT-106-build-image: not there

    assert result.code == 0, result.log
    branch = f"feature/{REC_106}-upgrade-build-image"
    assert start_work.fields(REC_106)["Branch"] == branch
    assert branch in start_work.branches()


def test_a_title_of_emoji_and_umlauts_gives_an_ascii_branch_name(start_work):
    result = start_work.run(start_work.start_env(RECORD_ID=REC_UNICODE))

    assert result.code == 0, result.log
    branch = f"feature/{REC_UNICODE}-search-uber-alles"
    assert start_work.fields(REC_UNICODE)["Branch"] == branch
    check = subprocess.run(["git", "check-ref-format", "--branch", branch], capture_output=True)
    assert check.returncode == 0


def test_a_dry_run_reads_everything_and_writes_nothing(start_work):
    result = start_work.run(start_work.start_env(RECORD_ID=REC_107, DRY_RUN="true"))

    assert result.code == 0, result.log
    assert result.writes == []
    assert result.bitbucket_calls() == [LISTED]
    assert f"branch {BRANCH_107} would be created; would write Branch, Branch URL" in result.log
    assert "Dry run: 1 branch would be created, 0 reused, 0 skipped; nothing was written." in result.log
    assert result.report["outcome"] == "planned"
    assert list(start_work.branches()) == ["main"]


def test_a_dry_run_without_a_bitbucket_token_says_existing_branches_were_not_checked(start_work):
    env = start_work.start_env(RECORD_ID=REC_107, DRY_RUN="true")
    del env["BITBUCKET_ACCESS_TOKEN"]

    result = start_work.run(env)

    assert result.code == 0, result.log
    assert result.bitbucket == []
    assert "(existing branches not checked: no BITBUCKET_ACCESS_TOKEN)" in result.report["records"][0]["reason"]


def test_a_view_starts_every_record_it_shows(start_work):
    result = start_work.run(start_work.start_env(START_VIEW=VIEW))

    assert result.code == 0, result.log
    branches = start_work.branches()
    assert BRANCH_107 in branches and f"feature/{REC_UNICODE}-search-uber-alles" in branches
    assert not any(REC_108 in b for b in branches)  # Planned: not in the view
    assert result.bitbucket_calls() == [LISTED, MAIN, CREATE, CREATE]  # one listing for both records
    assert result.bitbucket[0].param("q") == f'name ~ "feature/{REC_107}" OR name ~ "feature/{REC_UNICODE}"'
    writes = [r for r in result.airtable if r.method == "PATCH" and r.body["records"][0]["fields"]]
    assert len(writes) == 1 and len(writes[0].body["records"]) == 2  # both records in one request
    assert result.airtable[1].param("view") == VIEW

    again = start_work.run(start_work.start_env(START_VIEW=VIEW))

    assert again.code == 0 and again.writes == [], again.log
    assert "Start: 0 branches created, 2 reused, 0 records written." in again.log


def test_a_view_with_a_record_that_cannot_start_starts_the_others_and_fails_the_step(start_work):
    add_empty_title(start_work.airtable)

    result = start_work.run(start_work.start_env(START_VIEW=VIEW))

    assert result.code == 1, result.log
    assert BRANCH_107 in start_work.branches()
    assert "recWorkItem000110 '(no title)' (Ready): skipped: its title is empty (field 'Name')" in result.log
    assert "2 branches created, 0 reused, 2 records written; 1 skipped: see above." in result.log
    assert "Branch" not in start_work.fields("recWorkItem000110")


def test_an_empty_view_does_nothing(start_work):
    result = start_work.run(start_work.start_env(START_VIEW="Archived"))

    assert result.code == 0, result.log
    assert result.bitbucket == [] and result.writes == []
    assert "Start: no record to start; nothing was written." in result.log


def test_a_branch_another_run_created_meanwhile_is_reused(start_work):
    def hide_branches(route: str, status: int, body):  # this run lists before the other run's create lands
        if route == "listBranches":
            return {**body, "values": [], "size": 0}
        return body

    start_work.bitbucket.add_branch(WS, SLUG, BRANCH_107, start_work.origin.rev_parse("main"))
    start_work.bitbucket.add_response_hook(hide_branches)

    result = start_work.run(start_work.start_env(RECORD_ID=REC_107))

    assert result.code == 0, result.log
    assert result.bitbucket_calls() == [LISTED, MAIN, CREATE, ("GET", "getBranch")]
    assert result.bitbucket[2].status == 400
    assert "another run created it meanwhile; reused" in result.log
    assert start_work.fields(REC_107)["Branch"] == BRANCH_107


def test_a_branch_filter_bitbucket_refuses_costs_a_full_listing_not_the_run(start_work):
    start_work.bitbucket.add_fault("status", status=400, method="GET", path=r"/refs/branches$", times=1)

    result = start_work.run(start_work.start_env(RECORD_ID=REC_107))

    assert result.code == 0, result.log
    assert result.bitbucket[0].status == 400 and result.bitbucket[0].param("q")
    assert result.bitbucket_calls()[1:] == [LISTED, MAIN, CREATE]
    assert result.bitbucket[1].param("q") is None
    assert BRANCH_107 in start_work.branches()


def test_bitbucket_failing_to_create_leaves_the_others_written_and_a_rerun_finishes(start_work):
    unicode_branch = f"feature/{REC_UNICODE}-search-uber-alles"
    start_work.bitbucket.add_branch(WS, SLUG, unicode_branch, start_work.origin.rev_parse("main"))
    start_work.bitbucket.add_fault("status", status=503, method="POST", path=r"/refs/branches$", times=3)

    result = start_work.run(start_work.start_env(START_VIEW=VIEW))

    assert result.code == 1, result.log
    assert f"branch {BRANCH_107} not created; FAILED: Bitbucket answered 503 while creating branch" in result.log
    assert BRANCH_107 not in start_work.branches()
    assert "Branch" not in start_work.fields(REC_107)
    assert start_work.fields(REC_UNICODE)["Branch"] == unicode_branch  # its branch exists: written
    assert "0 branches created, 1 reused, 1 record written; 1 failed: see above." in result.log

    again = start_work.run(start_work.start_env(START_VIEW=VIEW))

    assert again.code == 0, again.log
    assert start_work.fields(REC_107)["Branch"] == BRANCH_107
    assert "1 branch created, 1 reused, 1 record written." in again.log


def test_airtable_failing_after_the_branch_was_created_keeps_the_branch_and_a_rerun_writes_it(start_work):
    refused = {"error": {"type": "INVALID_VALUE_FOR_COLUMN", "message": "Field 'Branch' cannot accept the value"}}

    def after_create(route: str, status: int, body):
        if route == "createBranch":  # the record's write comes next: Airtable refuses it
            start_work.airtable.inject(Fault(status=422, method="PATCH", times=None, body=refused))
        return body

    start_work.bitbucket.add_response_hook(after_create)

    result = start_work.run(start_work.start_env(RECORD_ID=REC_107))

    assert result.code == 1, result.log
    assert BRANCH_107 in start_work.branches()
    assert "Branch" not in start_work.fields(REC_107)
    assert "the branch exists, but the record was not written" in result.log
    assert "a re-run reuses it and writes it" in result.log
    start_work.airtable.clear_faults()

    again = start_work.run(start_work.start_env(RECORD_ID=REC_107))

    assert again.code == 0, again.log
    assert CREATE not in again.bitbucket_calls()
    assert start_work.fields(REC_107)["Branch"] == BRANCH_107


def test_a_token_pasted_into_a_title_never_reaches_the_branch_name_or_the_log(start_work):
    pasted = "pat" + "AbCdEfGhIjKlMn" + "." + "0123456789abcdef" * 4
    start_work.airtable.add_records(
        SAMPLE_BASE_ID, "Work Items", [{"id": "recWorkItem000113", "fields": {"Name": f"Rotate {pasted} now"}}]
    )

    result = start_work.run(start_work.start_env(RECORD_ID="recWorkItem000113"))

    assert result.code == 0, result.log
    branch = start_work.fields("recWorkItem000113")["Branch"]
    assert branch == "feature/recWorkItem000113-rotate-redacted-now"
    assert pasted not in result.log and pasted.lower() not in result.log


def test_the_time_budget_running_out_stops_cleanly_and_a_rerun_finishes(start_work):
    start_work.bitbucket.add_fault("delay", delay=3.0, method="POST", path=r"/refs/branches$", times=1)

    result = start_work.run(start_work.start_env(START_VIEW=VIEW, TIME_BUDGET="1.5"))

    assert result.code == 1, result.log
    assert "not tried: the time budget (TIME_BUDGET) ran out" in result.log
    assert f"branch {BRANCH_107} perhaps created (no answer came; a re-run finds it); FAILED: " in result.log
    assert result.report["records"][0]["unconfirmed"] is True
    assert "Traceback" not in result.log

    again = start_work.run(start_work.start_env(START_VIEW=VIEW))

    assert again.code == 0, again.log
    assert BRANCH_107 in start_work.branches() and f"feature/{REC_UNICODE}-search-uber-alles" in start_work.branches()
    assert start_work.fields(REC_107)["Branch"] == BRANCH_107
    assert [b for b in start_work.branches() if b.startswith(f"feature/{REC_107}")] == [BRANCH_107]


def test_with_keys_a_branch_named_by_the_records_key_is_its_branch_too(start_work):
    by_key = "feature/FEAT-107-rate-limit-docs"  # made by hand before the team started from Airtable
    head = start_work.origin.rev_parse("main")
    start_work.bitbucket.add_branch(WS, SLUG, by_key, head)
    start_work.bitbucket.add_branch(WS, SLUG, "feature/FEAT-1070-other", head)  # FEAT-1070's, not FEAT-107's

    result = start_work.run(start_work.start_env(RECORD_ID=REC_107, KEY_PATTERN=r"FEAT-\d+", KEY_FIELD="Key"))

    assert result.code == 0, result.log
    assert result.bitbucket[0].param("q") == f'name ~ "feature/{REC_107}" OR name ~ "feature/FEAT-107"'
    assert CREATE not in result.bitbucket_calls()
    assert start_work.fields(REC_107)["Branch"] == by_key
    assert f"branch {by_key} exists already, reused" in result.log


def test_a_copied_record_in_a_view_is_skipped_and_named_and_never_takes_the_other_records_branch(start_work):
    add_copy_of_107(start_work.airtable)  # Ready, and its Branch field still names FEAT-107's branch

    result = start_work.run(start_work.start_env(START_VIEW=VIEW))

    assert result.code == 1, result.log
    assert (
        f"{REC_COPY} 'API rate limit docs' (Ready): skipped: its field 'Branch' holds '{BRANCH_107}', the branch of "
        f"record {REC_107} (a copied record?): clear the field, then start it again"
    ) in result.log
    assert start_work.fields(REC_107)["Branch"] == BRANCH_107  # the original gets its own branch
    assert start_work.fields(REC_COPY)["Branch"] == BRANCH_107  # left as it was
    assert [b for b in start_work.branches() if REC_COPY in b] == []
