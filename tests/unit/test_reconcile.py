"""The pure parts of `STAGE: reconcile`: what the history implies (pipe.reconcile.evidence), the comparison with
the base (pipe.reconcile.compare), the sample (pipe.reconcile.referenced) and its variables (pipe.config)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipe.config import load_settings
from pipe.config.file import DeploymentFields, FieldMapping, ReleaseFields, Workflow
from pipe.config.reconcile import Since, parse_sample, parse_since
from pipe.errors import ConfigError
from pipe.facts.run_facts import Deployment, TableFields
from pipe.model import Commit, PipelineContext, RecordState, Reference, ReferenceKind, ReferenceSource, Resolution, Tag
from pipe.reconcile.compare import reconcile_records
from pipe.reconcile.evidence import HistoryIndex, claim
from pipe.reconcile.history import History
from pipe.reconcile.referenced import Referenced, sample, sample_rank
from pipe.release.range import release_tags

WORKFLOW = Workflow()
T0 = 1_700_000_000


def commit(sha: str, *parents: str, message: str = "chore: x", at: int = 0) -> Commit:
    return Commit(sha.ljust(40, "0"), tuple(p.ljust(40, "0") for p in parents), "A", "a@x", T0 + at, message)


def sha(short: str) -> str:
    return short.ljust(40, "0")


def history(commits: list[Commit], tags: list[tuple[str, str]] = ()) -> History:
    """`commits` newest first; `tags`: (name, short sha)."""
    found = release_tags([Tag(name, sha(at), 0) for name, at in tags])
    return History("main", commits[0].sha, None, None, tuple(commits), tuple(found))


# main: a1 -> a2 -> m3 (merges b1 <- b2, a branch off a1) -> a4, newest first below.
GRAPH = [
    commit("a4", "m3", at=40, message="fix: later"),
    commit("m3", "a2", "b2", at=30, message="Merged in feature/x (pull request #7)"),
    commit("b2", "b1", at=25),
    commit("b1", "a1", at=5),
    commit("a2", "a1", at=10),
    commit("a1", at=0),
]


def test_merged_by_is_the_first_parent_commit_that_brought_a_commit_in():
    index = HistoryIndex(history(GRAPH), [], WORKFLOW)
    owners = {s[:2]: o[:2] for s, o in index.merged_by.items()}
    assert owners == {"a1": "a1", "a2": "a2", "b1": "m3", "b2": "m3", "m3": "m3", "a4": "a4"}
    found = index.evidence([sha("b1")])
    assert found.merged_by is not None and found.merged_by.sha == sha("m3")
    assert (found.pull_request, found.branch) == (7, "feature/x")
    assert found.status == "Merged"


def test_claim_gives_each_commit_its_first_owner_and_stops_at_what_is_claimed():
    by_sha = {c.sha: c for c in GRAPH}
    owners = claim([(sha("a2"), "first"), (sha("a4"), "second")], by_sha)
    assert owners[sha("a1")] == owners[sha("a2")] == "first"
    assert {owners[sha(s)] for s in ("m3", "b2", "b1", "a4")} == {"second"}
    assert claim([(sha("zz"), "x")], by_sha) == {}  # a commit outside the history owns nothing


def test_the_first_release_and_the_first_deployment_per_environment_hold_a_record():
    tags = [("v1.0.0", "a2"), ("v1.1.0", "a4")]
    deployments = [
        Deployment("recD1", "production", sha("a4"), "2026-02-05T00:00:00.000Z"),
        Deployment("recD2", "production", sha("m3"), "2026-02-01T00:00:00.000Z"),
        Deployment("recD3", "staging", sha("a4"), "2026-01-20T00:00:00.000Z"),
    ]
    index = HistoryIndex(history(GRAPH, tags), deployments, WORKFLOW)
    early = index.evidence([sha("a1"), sha("b2")])
    assert early.release == "v1.0.0"  # a1 is in v1.0.0, b2 only in v1.1.0: the first release holding one
    production = next(d for d in early.deployments if d.environment == "production")
    assert production.commit == sha("m3") and production.deployed_at.startswith("2026-02-01")
    assert early.status == "Released"
    late = index.evidence([sha("a4")])
    assert [d.environment for d in late.deployments] == ["staging", "production"]  # in workflow order
    assert late.deployments[1].deployed_at.startswith("2026-02-05")


def test_a_squash_merge_names_its_pull_request_but_no_branch():
    commits = [commit("s2", "s1", at=1, message="feat: import (pull request #12)"), commit("s1")]
    found = HistoryIndex(history(commits), [], WORKFLOW).evidence([sha("s2")])
    assert (found.pull_request, found.branch) == (12, None)


# -- comparing with the base ---------------------------------------------------------------------------------


FIELDS = TableFields(FieldMapping(pull_request_state="PR State"), ReleaseFields(), DeploymentFields())
CONTEXT = PipelineContext(repo_full_name="acme/product", build_number="9")
RECORD = "recAAAAAAAAAAAAAA"


def compare(fields: dict, shas: list[str], deployments: list[Deployment] = ()) -> dict[str, object]:
    index = HistoryIndex(history(GRAPH), deployments, WORKFLOW)
    refs = tuple(Reference(ReferenceKind.RECORD_ID, RECORD, ReferenceSource.COMMIT, sha(s)) for s in shas)
    wanted = [Referenced(ReferenceKind.RECORD_ID, RECORD, refs)]
    resolution = Resolution(True, {RECORD: RecordState(RECORD, fields)}, {}, "Name")
    [result] = reconcile_records(wanted, resolution, index, FIELDS, WORKFLOW, CONTEXT, "main")
    return {"result": result, **{d.logical: d for d in result.disagreements}}


def test_a_fresh_record_gets_its_status_times_commit_and_links():
    found = compare({"Status": "Ready"}, ["b1", "b2"])
    assert found["status"].history == "Merged" and found["status"].fix
    assert found["merged_at"].history == "2023-11-14T22:13:50.000Z"  # the merge commit's time (T0 + 30)
    assert found["commit"].history == sha("b2")  # the newest commit naming it
    assert found["commit_url"].history == f"https://bitbucket.org/acme/product/commits/{sha('b2')}"
    assert found["pull_request"].history == "https://bitbucket.org/acme/product/pull-requests/7"
    assert found["pull_request_state"].history == "MERGED"
    assert found["branch"].history == "feature/x"
    plan = found["result"].plan
    assert ("Last Run", None, "build #9") in [(c.field, c.before, c.after) for c in plan.changes]


def test_a_base_ahead_of_the_history_is_no_disagreement():
    held = {
        "Status": "Released",  # further on than Merged
        "Merged At": "2024-01-01T00:00:00.000Z",  # a stage time already written is kept
        "Last Commit": sha("ff"),  # a commit the history does not know (a later build on another branch)
        "Commit URL": "https://example.com/x",
        "Pull Request": "https://bitbucket.org/acme/product/pull-requests/99",
        "PR State": "DECLINED",
        "Branch": "feature/other",
    }
    found = compare(held, ["b1", "b2"])
    assert found["result"].disagreements == () and found["result"].plan.changes == ()


def test_an_older_commit_of_the_history_moves_forward():
    found = compare({"Status": "Merged", "Last Commit": sha("b1"), "Commit URL": "old"}, ["b1", "b2"])
    assert (found["commit"].base, found["commit"].history) == (sha("b1"), sha("b2"))
    assert found["commit_url"].history.endswith(sha("b2"))
    assert "an older one, b100000" in found["commit"].why


def test_a_status_people_own_is_reported_and_left_alone_and_an_open_pull_request_becomes_merged():
    found = compare({"Status": "Blocked", "PR State": "OPEN"}, ["b2"])
    assert not found["status"].fix and "owned by people" in found["status"].why
    assert found["pull_request_state"].base == "OPEN" and found["pull_request_state"].fix
    assert "Status" not in [c.field for c in found["result"].plan.changes]


def test_released_at_comes_from_the_first_release_deployment_and_staged_time_is_not_release():
    deployments = [
        Deployment("recD1", "staging", sha("a4"), "2026-01-02T03:04:05.000Z"),
        Deployment("recD2", "production", sha("a4"), "2026-01-09T00:00:00.000Z"),
    ]
    found = compare({"Status": "On Staging"}, ["b2"], deployments)
    assert found["status"].history == "Released" and "deployed to production" in found["status"].why
    assert found["released_at"].history == "2026-01-09T00:00:00.000Z"
    assert "staged_at" not in found  # not mapped by default


def test_a_reference_the_base_lacks_is_skipped_with_the_syncs_words():
    index = HistoryIndex(history(GRAPH), [], WORKFLOW)
    ref = Reference(ReferenceKind.KEY, "FEAT-9", ReferenceSource.COMMIT, sha("a4"))
    resolution = Resolution(True, {}, {}, "Name")
    wanted = [Referenced(ReferenceKind.KEY, "FEAT-9", (ref,))]
    [result] = reconcile_records(wanted, resolution, index, FIELDS, WORKFLOW, CONTEXT, "main")
    assert result.evidence is None and result.plan.skipped == "no record has this key"


# -- the sample ------------------------------------------------------------------------------------------------


def items(n: int) -> list[Referenced]:
    return [Referenced(ReferenceKind.RECORD_ID, f"rec{i:014d}", ()) for i in range(n)]


def test_the_sample_is_the_lowest_ranked_kept_in_order_and_the_same_for_the_same_seed():
    pool = items(500)
    chosen = sample(pool, 50, "head-1")
    assert len(chosen) == 50 and chosen == sample(pool, 50, "head-1")
    assert [pool.index(c) for c in chosen] == sorted(pool.index(c) for c in chosen)
    ranks = sorted(sample_rank("head-1", i.value) for i in pool)
    assert max(sample_rank("head-1", c.value) for c in chosen) == ranks[49]
    assert sample(pool, 50, "head-2") != chosen  # another commit, another sample
    assert sample(pool, None, "x") == pool and sample(pool, 900, "x") == pool


# -- the variables ---------------------------------------------------------------------------------------------


def test_since_reads_dates_and_tags():
    assert parse_since("2024-05-01") == Since(date=datetime(2024, 5, 1, tzinfo=UTC))
    assert parse_since("2024-05-01T12:00:00Z").date == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_since("v1.4.0") == Since(tag="v1.4.0")
    for bad in ("2024-13-01", "--all", "v1 .0", "a..b", ""):
        with pytest.raises(ValueError):
            parse_since(bad)
    assert parse_sample(" 50 ") == 50
    for bad in ("0", "-3", "ten", "1.5"):
        with pytest.raises(ValueError):
            parse_sample(bad)


VALID = {"AIRTABLE_TOKEN": "tok", "AIRTABLE_BASE_ID": "appAAAAAAAAAAAAAA", "AIRTABLE_TABLE": "Work Items"}


def problems(env: dict[str, str], tmp_path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env, tmp_path)
    return info.value.problems


def test_reconcile_variables_are_validated_and_need_the_reconcile_stage(tmp_path):
    found = problems({**VALID, "STAGE": "reconcile", "RECONCILE": "fix", "RECONCILE_SAMPLE": "lots"}, tmp_path)
    assert "RECONCILE: got 'fix'; expected 'report' or 'apply'" in found
    assert any(p.startswith("RECONCILE_SAMPLE: got 'lots'; expected a whole number") for p in found)
    found = problems({**VALID, "RECONCILE_SINCE": "v1.0.0"}, tmp_path)
    assert found == ["RECONCILE_SINCE: is only used with STAGE: reconcile; set STAGE: reconcile to reconcile"]
    found = problems({"STAGE": "reconcile", "DRY_RUN": "true"}, tmp_path)
    assert [p.split(":")[0] for p in found] == ["AIRTABLE_TOKEN", "AIRTABLE_BASE_ID", "AIRTABLE_TABLE"]
    assert "also on a dry run" in found[0]
    settings = load_settings({**VALID, "STAGE": "reconcile", "RECONCILE_SINCE": "2024-05-01"}, tmp_path)
    assert settings.reconcile.since == Since(date=datetime(2024, 5, 1, tzinfo=UTC))
    assert settings.reconcile.apply is False and settings.reconcile.sample is None
