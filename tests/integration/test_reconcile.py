"""`STAGE: reconcile` end to end: `pipe.flow.run` on a real repository against the Airtable emulator.

The repository (see `repo`): 1.4.0 tagged after FEAT-101; FEAT-105 merged by pull request #41; a commit naming
recWorkItem000106; 1.5.0 tagged; FEAT-107 and FEAT-108 merged by pull request #42. The deployments log says
1.5.0 went to production on 2026-02-01 and the head to staging on 2026-02-03. So the history implies: FEAT-101,
FEAT-105 and recWorkItem000106 Released, FEAT-107 and FEAT-108 On Staging.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyairtable import Api

from pipe.flow import run
from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.gitrepos import bitbucket_merge_message

TABLE = "Work Items"
WRITES = ("PATCH", "POST", "PUT", "DELETE")
FEATURE_105 = "feature/FEAT-105-dark-mode"
FEATURE_107 = "feature/FEAT-107-rate-limit-docs"


@pytest.fixture
def repo(git_repo_builder):
    r = git_repo_builder("product")
    r.commit("feat: login page FEAT-101", {"app.txt": "login"})
    r.tag("1.4.0")
    r.branch(FEATURE_105)
    r.commit("feat(ui): dark mode", {"ui.txt": "dark"})
    r.checkout("main")
    r.merge(FEATURE_105, bitbucket_merge_message(FEATURE_105, 41))
    r.commit("build: upgrade the build image (recWorkItem000106)", {"ci.txt": "2"})
    r.tag("1.5.0", annotated=True)
    r.branch(FEATURE_107)
    r.commit("docs(api): the rate limits FEAT-107", {"docs.txt": "5 rps"})
    r.commit("feat: bulk import FEAT-108", {"import.txt": "bulk"})
    r.checkout("main")
    r.merge(FEATURE_107, bitbucket_merge_message(FEATURE_107, 42))
    return r


@pytest.fixture
def deployed(airtable_emulator, repo):
    """The deployments log: 1.5.0 to production, then the head to staging."""
    airtable_emulator.add_records(
        SAMPLE_BASE_ID,
        "Deployments",
        [
            {
                "Deployment": "production @ 1.5.0",
                "Environment": "production",
                "Commit": repo.rev_parse("1.5.0"),
                "Deployed At": "2026-02-01T10:00:00.000Z",
            },
            {
                "Deployment": "staging @ head",
                "Environment": "staging",
                "Commit": repo.head(),
                "Deployed At": "2026-02-03T09:30:00.000Z",
            },
        ],
    )
    return airtable_emulator


def env_for(emulator, repo, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        "STAGE": "reconcile",
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": TABLE,
        "AIRTABLE_DEPLOYMENTS_TABLE": "Deployments",
        "AIRTABLE_API_URL": emulator.url,
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "BITBUCKET_BRANCH": "main",
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "BITBUCKET_BUILD_NUMBER": "77",
        "REPORT_FILE": str(tmp_path / "reconcile.json"),
    }
    env.update(extra)
    return env


def records(emulator) -> dict[str, dict]:
    return {r["fields"].get("Key") or r["id"]: r["fields"] for r in emulator.records(SAMPLE_BASE_ID, TABLE)}


def writes(emulator) -> list[str]:
    return [
        f"{r.method} {r.path}" for r in emulator.requests if r.method in WRITES and not r.path.endswith("/listRecords")
    ]


def report(tmp_path: Path) -> dict:
    return json.loads((tmp_path / "reconcile.json").read_text())


def rows(out: str, key: str) -> dict[str, str]:
    """The table's rows of one record: field -> the whole line."""
    found = {}
    for line in out.splitlines():
        if line.startswith(f"INFO: {key}  "):
            field = next(
                f
                for f in ("Status", "Merged At", "Released At", "Last Commit", "Commit URL", "Pull Request", "Branch")
                if f" {f} " in line
            )
            found[field] = line
    return found


def test_report_lists_every_disagreement_and_writes_nothing(deployed, repo, tmp_path, capsys):
    before = records(deployed)
    deployed.reset_log()
    assert run(env_for(deployed, repo, tmp_path), repo.path) == 0
    out = capsys.readouterr().out
    assert writes(deployed) == []
    assert records(deployed) == before

    feat105 = rows(out, "FEAT-105 (recWorkItem000105)")
    assert "In Review" in feat105["Status"] and "Released" in feat105["Status"] and "to fix" in feat105["Status"]
    assert "deployed to production at" in feat105["Status"] and "release 1.5.0" in feat105["Status"]
    assert "2026-02-01T10:00:00.000Z" in feat105["Released At"]
    assert "(empty)" in feat105["Merged At"]
    feat107 = rows(out, "FEAT-107 (recWorkItem000107)")
    assert "Ready" in feat107["Status"] and "On Staging" in feat107["Status"]
    assert "https://bitbucket.org/acme/product/pull-requests/42" in feat107["Pull Request"]
    assert FEATURE_107 in feat107["Branch"]
    assert "Released At" not in feat107  # only staged: nothing says it was released
    assert "FEAT-101 (recWorkItem000101)" not in out.split("Disagreements")[1].split("\n", 2)[1]  # header row
    assert rows(out, "FEAT-101 (recWorkItem000101)") == {}  # Released, as the history implies
    assert SAMPLE_READWRITE_TOKEN not in out

    data = report(tmp_path)
    assert data["stage"] == "reconcile" and data["mode"] == "report" and data["outcome"] == "ok"
    assert data["history"]["commits"] == len(repo.git("rev-list", "main").split())
    assert data["history"]["release_tags"] == 2 and data["history"]["deployments"] == 2
    by_key = {r["reference"]: r for r in data["records"]}
    assert by_key["FEAT-105"]["status_implied"] == "Released"
    assert by_key["FEAT-105"]["release"] == "1.5.0"
    status = next(d for d in by_key["FEAT-105"]["disagreements"] if d["field"] == "Status")
    assert status["base"] == "In Review" and status["history"] == "Released" and status["action"] == "to fix"
    assert status["tags"] == ["1.5.0"] and status["commits"] == [repo.rev_parse("1.5.0~1")]  # the merge names it
    assert by_key["FEAT-101"]["disagreements"] == []
    assert data["summary"]["records_compared"] == 5
    assert data["summary"]["fixed"] == 0 and data["summary"]["to_fix"] == data["summary"]["disagreements"]
    assert {u["record_id"] for u in data["unknown_to_history"]} == {
        "recWorkItem000102",
        "recWorkItem000103",
        "recWorkItem000104",
    }
    assert "3 records of 'Work Items' are named nowhere in the history read" in out
    assert "nothing written (RECONCILE: report): set RECONCILE: apply to write the fixes." in out


def test_apply_writes_the_fixes_journaled_and_a_second_run_finds_nothing(deployed, repo, tmp_path, capsys):
    env = env_for(deployed, repo, tmp_path, RECONCILE="apply")
    assert run(env, repo.path) == 0
    now = records(deployed)
    assert now["FEAT-105"]["Status"] == "Released"
    assert now["FEAT-105"]["Released At"] == "2026-02-01T10:00:00.000Z"
    assert now["FEAT-105"]["Merged At"] and now["FEAT-105"]["Last Run"] == "build #77"
    assert now["FEAT-105"]["Pull Request"].endswith("/pull-requests/16")  # already set: left as it was
    assert now["FEAT-106"]["Status"] == "Released"
    assert now["FEAT-107"]["Status"] == "On Staging" and now["FEAT-108"]["Status"] == "On Staging"
    assert now["FEAT-108"]["Pull Request"] == "https://bitbucket.org/acme/product/pull-requests/42"
    assert now["FEAT-108"]["Branch"] == FEATURE_107
    assert now["FEAT-108"]["Last Commit"] == repo.rev_parse(f"{FEATURE_107}")
    assert now["FEAT-101"]["Last Run"] == "#40"  # in agreement: not written
    journal = [json.loads(line) for line in (tmp_path / "reconcile.journal.jsonl").read_text().splitlines()]
    status = next(e for e in journal if e["record"] == "recWorkItem000107" and e["field"] == "Status")
    assert (status["before"], status["after"], status["run_id"]) == ("Ready", "On Staging", "build #77")
    data = report(tmp_path)
    assert data["summary"]["fixed"] == data["summary"]["to_fix"] > 0
    assert data["targets"][0]["status"] == "written"
    assert "fixed" in capsys.readouterr().out

    deployed.reset_log()
    assert run({**env, "REPORT_FILE": str(tmp_path / "again.json")}, repo.path) == 0
    assert writes(deployed) == []
    assert "No disagreement" in capsys.readouterr().out
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["summary"]["disagreements"] == 0


def test_statuses_only_move_forward_and_statuses_people_own_are_left_alone(deployed, repo, tmp_path, capsys):
    table = Api(SAMPLE_READWRITE_TOKEN, endpoint_url=deployed.url).table(SAMPLE_BASE_ID, TABLE)
    table.update("recWorkItem000107", {"Status": "Released"})  # ahead of the history (On Staging)
    table.update("recWorkItem000108", {"Status": "Blocked"})  # owned by people
    assert run(env_for(deployed, repo, tmp_path, RECONCILE="apply"), repo.path) == 0
    now = records(deployed)
    assert now["FEAT-107"]["Status"] == "Released"
    assert now["FEAT-108"]["Status"] == "Blocked"
    assert now["FEAT-108"]["Branch"] == FEATURE_107  # its empty links are still filled in
    out = capsys.readouterr().out
    blocked = rows(out, "FEAT-108 (recWorkItem000108)")["Status"]
    assert "Blocked" in blocked and "On Staging" in blocked and "left alone" in blocked and "owned by people" in blocked
    assert "Status" not in rows(out, "FEAT-107 (recWorkItem000107)")
    data = report(tmp_path)
    assert data["summary"]["left_alone"] == 1


def test_a_record_a_person_moved_back_after_the_sync_is_found_and_fixed(airtable_emulator, repo, tmp_path, capsys):
    sync = env_for(airtable_emulator, repo, tmp_path, REPORT_FILE=str(tmp_path / "merge.json"))
    del sync["STAGE"]
    assert run(sync, repo.path) == 0  # the merge stage: every record of the release Merged
    assert records(airtable_emulator)["FEAT-107"]["Status"] == "Merged"
    table = Api(SAMPLE_READWRITE_TOKEN, endpoint_url=airtable_emulator.url).table(SAMPLE_BASE_ID, TABLE)
    table.update("recWorkItem000107", {"Status": "In Progress"})  # by hand
    capsys.readouterr()

    assert run(env_for(airtable_emulator, repo, tmp_path), repo.path) == 0
    out = capsys.readouterr().out
    found = rows(out, "FEAT-107 (recWorkItem000107)")  # the merge wrote the rest (FEAT-105 and 106 are older)
    assert "In Progress" in found["Status"] and "Merged" in found["Status"]
    # the merge stage wrote the times and the commit; no review stage ran here, so the links are still empty
    assert sorted(found) == ["Branch", "Pull Request", "Status"]
    assert all("(empty)" in found[f] for f in ("Branch", "Pull Request"))

    assert run(env_for(airtable_emulator, repo, tmp_path, RECONCILE="apply"), repo.path) == 0
    assert records(airtable_emulator)["FEAT-107"]["Status"] == "Merged"


def test_dry_run_of_apply_says_what_it_would_fix_and_writes_nothing(deployed, repo, tmp_path, capsys):
    deployed.reset_log()
    assert run(env_for(deployed, repo, tmp_path, RECONCILE="apply", DRY_RUN="true"), repo.path) == 0
    assert writes(deployed) == []
    out = capsys.readouterr().out
    assert "would fix" in rows(out, "FEAT-105 (recWorkItem000105)")["Status"]
    assert report(tmp_path)["outcome"] == "planned"
    assert not (tmp_path / "reconcile.journal.jsonl").exists()


def test_since_a_tag_reads_only_the_history_after_it(deployed, repo, tmp_path, capsys):
    assert run(env_for(deployed, repo, tmp_path, RECONCILE_SINCE="1.5.0"), repo.path) == 0
    data = report(tmp_path)
    assert {r["reference"] for r in data["records"]} == {"FEAT-107", "FEAT-108"}
    assert data["history"]["since"] == "since tag 1.5.0"
    assert data["history"]["commits"] == 3  # the two commits of the branch and their merge


def test_since_a_date_reads_only_the_commits_made_then_or_later(deployed, repo, tmp_path):
    stamp = int(repo.git("log", "-1", "--format=%ct", FEATURE_107))  # the second commit of the branch
    from datetime import UTC, datetime

    day = datetime.fromtimestamp(stamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert run(env_for(deployed, repo, tmp_path, RECONCILE_SINCE=day), repo.path) == 0
    data = report(tmp_path)
    assert {r["reference"] for r in data["records"]} == {"FEAT-108", "FEAT-107"}  # the merge names FEAT-107 too
    assert data["history"]["commits"] == 2


def test_since_a_tag_the_clone_lacks_stops_with_exit_2(deployed, repo, tmp_path, capsys):
    deployed.reset_log()
    assert run(env_for(deployed, repo, tmp_path, RECONCILE_SINCE="v9.9.9"), repo.path) == 2
    out = capsys.readouterr().out
    assert "RECONCILE_SINCE: got 'v9.9.9'; this clone has no tag 'v9.9.9' (tags here: 1.5.0, 1.4.0)" in out
    assert deployed.requests == []


def test_a_sample_is_reproducible_and_reads_only_its_records(deployed, repo, tmp_path):
    env = env_for(deployed, repo, tmp_path, RECONCILE_SAMPLE="2")
    deployed.reset_log()
    assert run(env, repo.path) == 0
    first = report(tmp_path)
    reads = [r for r in deployed.requests if "/Work%20Items" in r.path or "/Work Items" in r.path]
    kinds = {"id" if r["reference"].startswith("rec") else "key" for r in first["records"]}
    assert len(reads) == len(kinds)  # one read by record ID, one by key (each of up to 100 records), as needed
    assert first["sample"]["size"] == 2 and first["sample"]["of"] == 5 and len(first["records"]) == 2
    assert first["whole_table"] is False and first["unknown_to_history"] == []
    assert run(env, repo.path) == 0
    assert [r["reference"] for r in report(tmp_path)["records"]] == [r["reference"] for r in first["records"]]


def test_a_history_that_names_no_record_says_so_and_reads_nothing(
    airtable_emulator, git_repo_builder, tmp_path, capsys
):
    bare = git_repo_builder("bare")
    bare.commit("chore: start")
    bare.commit("fix: a typo")
    airtable_emulator.reset_log()
    env = env_for(airtable_emulator, bare, tmp_path)
    del env["KEY_PATTERN"], env["KEY_FIELD"]
    assert run(env, bare.path) == 0
    out = capsys.readouterr().out
    assert (
        "names no Airtable record: its commit messages hold no record IDs (rec + 14 letters or digits), and no "
        "KEY_PATTERN is set" in out
    )
    assert "set KEY_PATTERN and KEY_FIELD" in out
    assert airtable_emulator.requests == []


def test_a_feature_branch_clone_reads_the_main_branch_it_fetches_not_its_own(
    deployed, repo, git_repo_builder, tmp_path, capsys
):
    repo.branch("feature/FEAT-103-more")
    repo.commit("feat: more FEAT-103")  # not merged: says nothing about FEAT-103
    clone = repo.pipelines_branch_checkout(git_repo_builder.path("build"), "feature/FEAT-103-more")
    env = env_for(deployed, clone, tmp_path, BITBUCKET_BRANCH="feature/FEAT-103-more")
    assert run(env, clone.path) == 0
    data = report(tmp_path)
    assert data["history"]["head"] == repo.rev_parse("main")
    assert "FEAT-103" not in {r["reference"] for r in data["records"]}
    assert "Fetched main from origin (the clone had only feature/FEAT-103-more)" in capsys.readouterr().out


def test_a_clone_without_the_main_branch_nor_a_remote_stops_with_exit_2(
    airtable_emulator, repo, git_repo_builder, tmp_path, capsys
):
    repo.branch("feature/FEAT-103-more")
    clone = repo.pipelines_branch_checkout(git_repo_builder.path("build"), "feature/FEAT-103-more")
    clone.git("remote", "remove", "origin")
    env = env_for(airtable_emulator, clone, tmp_path, BITBUCKET_BRANCH="feature/FEAT-103-more")
    airtable_emulator.reset_log()
    assert run(env, clone.path) == 2
    out = capsys.readouterr().out
    assert (
        "MAIN_BRANCH: got 'main'; STAGE: reconcile reads the history of that branch, which is not in this clone (this "
        "step runs on 'feature/FEAT-103-more') and there is no git remote 'origin' to fetch it from." in out
    )
    assert airtable_emulator.requests == []


def test_a_shallow_clone_of_a_custom_pipeline_is_made_whole_first(deployed, repo, git_repo_builder, tmp_path, capsys):
    clone = repo.pipelines_branch_checkout(git_repo_builder.path("shallow"), "main", depth=1)
    assert clone.is_shallow()
    env = env_for(deployed, clone, tmp_path)
    del env["BITBUCKET_BRANCH"]  # a custom pipeline has none (bitbucket-pipes.md §4.1)
    assert run(env, clone.path) == 0
    assert not clone.is_shallow()
    data = report(tmp_path)
    assert data["history"]["commits"] == len(repo.git("rev-list", "main").split())
    assert data["history"]["release_tags"] == 2
    assert "Fetched the whole history and the tags of origin" in capsys.readouterr().out


def test_a_status_option_the_field_lacks_stops_apply_before_any_write(airtable_emulator, repo, tmp_path, capsys):
    (repo.path / ".airtable-coda-sync.yml").write_text(
        "workflow:\n  statuses: [Planned, Ready, In Progress, In Review, Merged, Shipped, Released]\n"
        "  stages: {build: In Progress, review: In Review, merge: Shipped, deploy: Released}\n"
        "  environments: {}\n"
    )
    airtable_emulator.reset_log()
    env = env_for(airtable_emulator, repo, tmp_path, RECONCILE="apply", AIRTABLE_DEPLOYMENTS_TABLE="")
    del env["AIRTABLE_DEPLOYMENTS_TABLE"]
    assert run(env, repo.path) == 2
    assert "has no option 'Shipped'" in capsys.readouterr().out
    assert writes(airtable_emulator) == []


def test_a_write_airtable_refuses_fails_the_step_and_the_others_are_written(deployed, repo, tmp_path, capsys):
    deployed.inject(Fault(status=500, method="PATCH", times=None))
    assert run(env_for(deployed, repo, tmp_path, RECONCILE="apply", TIME_BUDGET="20"), repo.path) == 1
    data = report(tmp_path)
    assert data["outcome"] == "failed" and data["summary"]["records_failed"] > 0
    assert "FAILED" in capsys.readouterr().out


def test_a_token_in_a_merged_branch_name_reaches_no_output(airtable_emulator, repo, tmp_path, capsys):
    table = Api(SAMPLE_READWRITE_TOKEN, endpoint_url=airtable_emulator.url).table(SAMPLE_BASE_ID, TABLE)
    table.update("recWorkItem000103", {"Branch": ""})
    branch = f"feature/FEAT-103-{SAMPLE_READWRITE_TOKEN}"
    repo.branch(branch)
    repo.commit("fix: session timeout", {"session.txt": "30m"})
    repo.checkout("main")
    repo.merge(branch, bitbucket_merge_message(branch, 43))
    env = env_for(airtable_emulator, repo, tmp_path, RECONCILE="apply", BITBUCKET_COMMIT=repo.head())
    del env["AIRTABLE_DEPLOYMENTS_TABLE"]
    assert run(env, repo.path) == 0
    assert records(airtable_emulator)["FEAT-103"]["Branch"] == "feature/FEAT-103-[redacted]"
    texts = [capsys.readouterr().out, *(p.read_text() for p in tmp_path.glob("reconcile*"))]
    assert len(texts) == 3 and all(SAMPLE_READWRITE_TOKEN not in text for text in texts)  # log, report, journal
    assert "feature/FEAT-103-[redacted]" in texts[0]
