"""The merge and deploy stages end to end: `pipe.flow.run` on real repositories against the Airtable
emulator over HTTP (release record, work item statuses, deployment log, CHANGELOG file)."""

from __future__ import annotations

import json
import re

import pytest

from pipe.flow import run
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED
from testkit.gitrepos import bitbucket_merge_message

WRITES = ("PATCH", "POST", "PUT", "DELETE")


@pytest.fixture
def repo(git_repo_builder):
    """main: 1.4.0 tagged, then a merged PR for FEAT-105, a fix naming FEAT-106 by record ID."""
    r = git_repo_builder("product")
    r.commit("feat: login page FEAT-101", {"app.txt": "1"})
    r.tag("1.4.0")
    r.branch("feature/FEAT-105-dark-mode")
    r.commit("feat(ui): dark mode", {"ui.txt": "dark"})
    r.checkout("main")
    r.merge("feature/FEAT-105-dark-mode", bitbucket_merge_message("feature/FEAT-105-dark-mode", 7))
    r.commit("fix: build image upgrade (recWorkItem000106)", {"ci.txt": "2"})
    return r


def env_for(emulator, repo, tmp_path, **extra):
    env = {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": emulator.url,
        "AIRTABLE_RELEASES_TABLE": "Releases",
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "CHANGELOG_FILE": "CHANGELOG.md",
        "BITBUCKET_BRANCH": "main",
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "BITBUCKET_BUILD_NUMBER": "12",
        "REPORT_FILE": str(tmp_path / "report.json"),
    }
    env.update(extra)
    return env


def by_key(emulator):
    return {r["fields"].get("Key"): r["fields"] for r in emulator.records(SAMPLE_BASE_ID, "Work Items")}


def release_record(emulator, version):
    found = [r for r in emulator.records(SAMPLE_BASE_ID, "Releases") if r["fields"].get("Version") == version]
    assert len(found) <= 1, f"duplicated release records: {found}"
    return found[0]["fields"] if found else None


def writes(emulator):
    return [f"{r.method} {r.path}" for r in emulator.requests if r.method in WRITES]


def test_merge_marks_work_items_merged_and_publishes_the_release(airtable_emulator, repo, tmp_path):
    assert run(env_for(airtable_emulator, repo, tmp_path), repo.path) == 0
    items = by_key(airtable_emulator)
    assert items["FEAT-105"]["Status"] == "Merged" and items["FEAT-105"]["Merged At"]
    assert items["FEAT-106"]["Status"] == "Merged"
    assert items["FEAT-101"]["Status"] == "Released"  # in the previous release; never moved back
    release = release_record(airtable_emulator, "1.5.0")
    assert release is not None
    assert set(release["Work Items"]) == {"recWorkItem000105", "recWorkItem000106"}
    assert "Dark mode" in release["Notes"] and "Upgrade build image" in release["Notes"]  # titles, not keys
    changelog = (repo.path / "CHANGELOG.md").read_text()
    assert changelog.count("## ") == changelog.count("## [1.5.0]") + changelog.count("### ")
    assert "1.5.0" in changelog and "#7" in changelog
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["release"]["version"] == "1.5.0"
    assert {t["status"] for t in report["release"]["targets"]} == {"written"}


def test_rerunning_the_merge_writes_nothing(airtable_emulator, repo, tmp_path):
    env = env_for(airtable_emulator, repo, tmp_path)
    assert run(env, repo.path) == 0
    changelog = (repo.path / "CHANGELOG.md").read_text()
    airtable_emulator.reset_log()
    assert run(env, repo.path) == 0
    assert writes(airtable_emulator) == []
    assert (repo.path / "CHANGELOG.md").read_text() == changelog
    releases = [r for r in airtable_emulator.records(SAMPLE_BASE_ID, "Releases") if r["fields"]["Version"] == "1.5.0"]
    assert len(releases) == 1


def test_another_merge_replaces_the_unreleased_section_instead_of_adding_one(airtable_emulator, repo, tmp_path):
    assert run(env_for(airtable_emulator, repo, tmp_path), repo.path) == 0
    repo.commit("fix: dark mode contrast FEAT-105", {"ui.txt": "darker"})
    assert run(env_for(airtable_emulator, repo, tmp_path), repo.path) == 0
    changelog = (repo.path / "CHANGELOG.md").read_text()
    assert changelog.count("[1.5.0]") == 1 and "contrast" in changelog
    assert "contrast" in release_record(airtable_emulator, "1.5.0")["Notes"]


def test_tag_build_publishes_under_the_tag(airtable_emulator, repo, tmp_path):
    repo.tag("v2.0.0")
    env = env_for(airtable_emulator, repo, tmp_path, BITBUCKET_TAG="v2.0.0")
    del env["BITBUCKET_BRANCH"]
    assert run(env, repo.path) == 0
    assert release_record(airtable_emulator, "2.0.0") is not None
    assert release_record(airtable_emulator, "1.5.0") is None


def test_deploy_to_staging_then_production_moves_records_forward_once(airtable_emulator, repo, tmp_path):
    base = env_for(airtable_emulator, repo, tmp_path, AIRTABLE_DEPLOYMENTS_TABLE="Deployments")
    assert run(base, repo.path) == 0  # merge
    staging = {**base, "BITBUCKET_DEPLOYMENT_ENVIRONMENT": "staging"}
    assert run(staging, repo.path) == 0
    assert by_key(airtable_emulator)["FEAT-105"]["Status"] == "On Staging"
    assert release_record(airtable_emulator, "1.5.0")["Environment"] == "staging"
    logged = airtable_emulator.records(SAMPLE_BASE_ID, "Deployments")
    assert [(d["fields"]["Environment"], d["fields"]["Commit"]) for d in logged] == [("staging", repo.head())]

    airtable_emulator.reset_log()
    assert run(staging, repo.path) == 0  # the same commit deployed twice: nothing changes
    assert writes(airtable_emulator) == []

    production = {**base, "BITBUCKET_DEPLOYMENT_ENVIRONMENT": "production"}
    assert run(production, repo.path) == 0
    items = by_key(airtable_emulator)
    assert items["FEAT-105"]["Status"] == "Released" and items["FEAT-105"]["Released At"]
    assert release_record(airtable_emulator, "1.5.0")["Environment"] == "production"


def test_deploy_covers_only_the_commits_since_the_last_deployment(airtable_emulator, repo, tmp_path):
    base = env_for(airtable_emulator, repo, tmp_path, AIRTABLE_DEPLOYMENTS_TABLE="Deployments")
    staging = {**base, "BITBUCKET_DEPLOYMENT_ENVIRONMENT": "staging"}
    assert run(staging, repo.path) == 0
    repo.commit("feat: audit export FEAT-104 and bulk import FEAT-108", {"x.txt": "1"})
    staging_next = {**staging, "BITBUCKET_COMMIT": repo.head()}
    airtable_emulator.reset_log()
    assert run(staging_next, repo.path) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert sorted(r["reference"] for r in report["records"]) == ["FEAT-104", "FEAT-108"]
    assert by_key(airtable_emulator)["FEAT-108"]["Status"] == "On Staging"


def test_dry_run_without_tokens_renders_the_notes_and_writes_nothing(repo, tmp_path, capsys):
    env = {
        "DRY_RUN": "true",
        "CHANGELOG_FILE": "CHANGELOG.md",
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "BITBUCKET_BRANCH": "main",
        "REPORT_FILE": str(tmp_path / "report.json"),
    }
    assert run(env, repo.path) == 0
    assert re.search(r"CHANGELOG.md: +planned \(would add the section of 1.5.0\)", capsys.readouterr().out)
    assert not (repo.path / "CHANGELOG.md").exists()
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["release"]["version"] == "1.5.0"
    assert report["release"]["targets"] == [
        {"target": "CHANGELOG.md", "status": "planned", "detail": "would add the section of 1.5.0", "changes": {}}
    ]


def test_a_template_error_stops_the_run_before_anything_is_written(airtable_emulator, repo, tmp_path, capsys):
    (repo.path / "notes.md.j2").write_text("{% for r in releases %}\n{{ r.version | nosuchfilter }}\n{% endfor %}\n")
    env = env_for(airtable_emulator, repo, tmp_path, CHANGELOG_TEMPLATE="notes.md.j2")
    assert run(env, repo.path) == 2
    assert writes(airtable_emulator) == []
    out = capsys.readouterr().out
    assert "changelog template notes.md.j2, line 2" in out and "nosuchfilter" in out
    assert not (repo.path / "CHANGELOG.md").exists()


def test_the_release_is_shared_with_a_later_deploy_step(airtable_emulator, repo, tmp_path):
    shared = tmp_path / "shared"
    base = env_for(airtable_emulator, repo, tmp_path, VERSION="3.1.0", BITBUCKET_PIPE_SHARED_STORAGE_DIR=str(shared))
    assert run(base, repo.path) == 0
    assert json.loads((shared / "release.json").read_text())["version"] == "3.1.0"
    assert (shared / "merge-report.json").is_file()
    deploy = {**base, "BITBUCKET_DEPLOYMENT_ENVIRONMENT": "staging"}
    del deploy["VERSION"]  # the deploy step reads the version the merge step published
    assert run(deploy, repo.path) == 0
    assert release_record(airtable_emulator, "3.1.0")["Environment"] == "staging"
    assert SAMPLE_READWRITE_TOKEN not in (shared / "deploy-report.json").read_text()


CODA_TOKEN = "fake-coda-token-for-tests"


@pytest.mark.coda_emulator(seed=CODA_SEED, mutation_delay=0.05, rate_limits=None)
def test_merge_publishes_coda_rows_and_page_once(airtable_emulator, coda_emulator, repo, tmp_path, capsys):
    coda_emulator.add_token(CODA_TOKEN)
    env = env_for(
        airtable_emulator,
        repo,
        tmp_path,
        CODA_API_TOKEN=CODA_TOKEN,
        CODA_DOC_ID=SAMPLE_DOC_ID,
        CODA_TABLE="Changelog",
        CODA_PAGE="Release Notes",
        CODA_API_URL=coda_emulator.url,
        DEBUG="true",
    )
    assert run(env, repo.path) == 0
    rows = [r for r in coda_emulator.rows(SAMPLE_DOC_ID, "Changelog") if r.get("Release") == "1.5.0"]
    assert sorted(r["Description"] for r in rows) == ["build image upgrade (recWorkItem000106)", "dark mode"]
    assert {r["Records"] for r in rows} == {"Dark mode", "Upgrade build image"}
    page = coda_emulator.page_text(SAMPLE_DOC_ID, "Release Notes")
    assert page.count("release 1.5.0") == 1

    writes_before = [r for r in coda_emulator.requests if r.method in WRITES]
    assert run(env, repo.path) == 0  # the same release again: nothing is sent to Coda
    assert [r for r in coda_emulator.requests if r.method in WRITES] == writes_before
    assert len([r for r in coda_emulator.rows(SAMPLE_DOC_ID, "Changelog") if r.get("Release") == "1.5.0"]) == 2
    assert coda_emulator.page_text(SAMPLE_DOC_ID, "Release Notes").count("release 1.5.0") == 1
    report = (tmp_path / "report.json").read_text()
    assert CODA_TOKEN not in report and SAMPLE_READWRITE_TOKEN not in report
    log = capsys.readouterr().out
    assert re.search(r"Coda table Changelog: +unchanged", log) and "GET" in log  # DEBUG logged the requests...
    assert CODA_TOKEN not in log and SAMPLE_READWRITE_TOKEN not in log  # ...with the tokens redacted


def test_a_release_update_whose_answer_is_lost_is_journaled_as_unconfirmed(airtable_emulator, repo, tmp_path):
    from testkit.emulators.airtable import Fault

    env = env_for(airtable_emulator, repo, tmp_path, AIRTABLE_RATE_LIMIT_WAIT="0.01")
    assert run(env, repo.path) == 0
    repo.commit("fix: dark mode contrast FEAT-105", {"ui.txt": "darker"})
    # Every attempt to update the release record is applied, then its connection dropped.
    airtable_emulator.inject(Fault(kind="drop", after_apply=True, method="PATCH", path="Releases", times=None))
    assert run({**env, "BITBUCKET_COMMIT": repo.head()}, repo.path) == 1
    lines = [json.loads(line) for line in (tmp_path / "report.journal.jsonl").read_text().splitlines()]
    release_lines = [line for line in lines if line["table"] == "Releases" and line.get("unconfirmed")]
    assert {line["field"] for line in release_lines} >= {"Notes"}
    assert "contrast" in release_record(airtable_emulator, "1.5.0")["Notes"]  # it was applied after all


def test_a_deploy_whose_work_items_failed_is_not_logged_so_the_next_run_retries_them(airtable_emulator, repo, tmp_path):
    from testkit.emulators.airtable import Fault

    env = env_for(
        airtable_emulator,
        repo,
        tmp_path,
        AIRTABLE_DEPLOYMENTS_TABLE="Deployments",
        BITBUCKET_DEPLOYMENT_ENVIRONMENT="staging",
    )
    airtable_emulator.inject(Fault(status=422, method="PATCH", path="Work", times=None))
    assert run(env, repo.path) == 1
    assert airtable_emulator.records(SAMPLE_BASE_ID, "Deployments") == []
    report = json.loads((tmp_path / "report.json").read_text())
    assert [t["status"] for t in report["release"]["targets"] if t["target"].startswith("Airtable Deployments")] == [
        "skipped"
    ]
    airtable_emulator.clear_faults()
    assert run(env, repo.path) == 0  # the same deploy again covers the same commits and finishes the job
    assert by_key(airtable_emulator)["FEAT-105"]["Status"] == "On Staging"
    assert len(airtable_emulator.records(SAMPLE_BASE_ID, "Deployments")) == 1


@pytest.mark.coda_emulator(seed=CODA_SEED, mutation_delay=0.05, rate_limits=None)
def test_a_release_with_nothing_to_show_gets_a_record_but_no_changelog_section_or_page(
    airtable_emulator, coda_emulator, git_repo_builder, tmp_path, capsys
):
    coda_emulator.add_token(CODA_TOKEN)
    r = git_repo_builder("product")
    r.commit("feat: login page FEAT-101", {"app.txt": "1"})
    r.tag("1.4.0")
    r.commit("chore: tidy the build FEAT-105", {"ci.txt": "2"})  # a hidden type: nothing to show
    env = env_for(
        airtable_emulator,
        r,
        tmp_path,
        CODA_API_TOKEN=CODA_TOKEN,
        CODA_DOC_ID=SAMPLE_DOC_ID,
        CODA_TABLE="Changelog",
        CODA_PAGE="Release Notes",
        CODA_API_URL=coda_emulator.url,
    )
    page_before = coda_emulator.page_text(SAMPLE_DOC_ID, "Release Notes")

    assert run(env, r.path) == 0
    out = capsys.readouterr().out
    assert not (r.path / "CHANGELOG.md").exists()
    assert coda_emulator.page_text(SAMPLE_DOC_ID, "Release Notes") == page_before
    assert release_record(airtable_emulator, "1.4.1")  # the record is kept
    assert re.search(r"CHANGELOG.md: +skipped \(release 1.4.1 has no notable changes", out)
    assert re.search(r"Coda page Release Notes: +skipped", out)
    assert by_key(airtable_emulator)["FEAT-105"]["Status"] == "Merged"


def test_prerelease_makes_the_merge_publish_a_release_candidate(airtable_emulator, repo, tmp_path):
    assert run(env_for(airtable_emulator, repo, tmp_path, PRERELEASE="rc"), repo.path) == 0
    assert release_record(airtable_emulator, "1.5.0-rc.1")
    heading = next(line for line in (repo.path / "CHANGELOG.md").read_text().splitlines() if line.startswith("## "))
    assert "1.5.0-rc.1" in heading


@pytest.mark.coda_emulator(seed=CODA_SEED, mutation_delay=60, rate_limits=None)
def test_a_coda_write_never_confirmed_is_reported_as_queued_not_as_no_target(
    airtable_emulator, coda_emulator, repo, tmp_path, capsys, monkeypatch
):
    """Issue 9 section 4: Coda accepted the rows and the page but did not apply them while the run polled.
    The summary names the targets and says they are queued, not confirmed; nothing failed."""
    from pipe.clients.coda import MutationPolling

    quick = MutationPolling(timeout=0.3, first_delay=0.05, interval=0.05, not_found_grace=0.1)
    monkeypatch.setattr("pipe.sinks.coda_rows.MutationPolling", lambda: quick)
    monkeypatch.setattr("pipe.sinks.coda_page.MutationPolling", lambda: quick)
    coda_emulator.add_token(CODA_TOKEN)
    env = env_for(
        airtable_emulator,
        repo,
        tmp_path,
        CODA_API_TOKEN=CODA_TOKEN,
        CODA_DOC_ID=SAMPLE_DOC_ID,
        CODA_TABLE="Changelog",
        CODA_API_URL=coda_emulator.url,
    )
    assert run(env, repo.path) == 0
    out = capsys.readouterr().out
    assert "no publishing target is configured" not in out
    assert re.search(r"Coda table Changelog: +pending \(2 written \(2 queued, not confirmed\)\)", out)
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith("✔ Done: ") and "queued in Coda, not confirmed yet: Coda table Changelog" in verdict
    report = json.loads((tmp_path / "report.json").read_text())
    assert [t["status"] for t in report["release"]["targets"] if t["target"].startswith("Coda")] == ["pending"]
