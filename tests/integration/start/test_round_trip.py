"""The round trip: a Ready record is started (the branch is created through Bitbucket's API), a developer fetches
the branch, pushes a commit on it, and the branch build finds the record again by the ID in the branch name and
moves it to In Progress, like any other branch."""

from __future__ import annotations

from testkit.bitbucket_repo import mirror

from .harness import BRANCH_107, REC_107, REPO_URL, SLUG, WS


def test_ready_start_push_build_moves_the_record_to_in_progress(start_work):
    assert start_work.fields(REC_107)["Status"] == "Ready"

    started = start_work.run(start_work.start_env(RECORD_ID=REC_107))

    assert started.code == 0, started.log
    assert start_work.fields(REC_107)["Status"] == "Ready"
    branch = start_work.fields(REC_107)["Branch"]
    assert branch == BRANCH_107
    # the developer: `git fetch && git switch <branch>` (the emulator keeps a branch as a name and a commit)
    origin = start_work.origin
    origin.git("branch", branch, start_work.branches()[branch])
    origin.checkout(branch)
    origin.commit("docs(api): document the rate limits", {"docs/limits.md": "5 requests per second\n"})
    origin.checkout("main")
    mirror(start_work.bitbucket, origin, WS, SLUG)  # the push
    head = origin.rev_parse(branch)
    clone = start_work.clone(branch)

    built = start_work.run(start_work.env(head, BITBUCKET_BRANCH=branch), clone.path)

    assert built.code == 0, built.log
    fields = start_work.fields(REC_107)
    assert fields["Status"] == "In Progress"
    assert fields["Last Commit"] == head
    assert fields["Branch"] == BRANCH_107  # found again and left as the start wrote it
    assert fields["Branch URL"] == f"{REPO_URL}/branch/{BRANCH_107}"  # the build writes the same link
    references = built.report["references"]
    assert [(r["kind"], r["value"], r["source"]) for r in references] == [("record_id", REC_107, "branch")]
    record = built.report["records"][0]
    assert record["status_before"] == "Ready" and record["status_after"] == "In Progress"
    assert set(record["fields"]) == {"Status", "Last Commit", "Commit URL", "Build URL", "Last Run"}


def test_a_build_writes_the_branch_link_when_branch_url_is_mapped(start_work):
    branch = "feature/recWorkItem000108-bulk-import"  # a branch made by hand, never started
    origin = start_work.origin
    origin.branch(branch)
    origin.commit("feat: bulk import", {"import.py": "bulk\n"})
    origin.checkout("main")
    mirror(start_work.bitbucket, origin, WS, SLUG)

    built = start_work.run(
        start_work.env(origin.rev_parse(branch), BITBUCKET_BRANCH=branch), start_work.clone(branch).path
    )

    assert built.code == 0, built.log
    fields = start_work.fields("recWorkItem000108")
    assert fields["Branch"] == branch and fields["Branch URL"] == f"{REPO_URL}/branch/{branch}"
