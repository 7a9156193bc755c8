"""The Code Insights report, end to end: `pipe.flow.run` on a real clone, Airtable and Bitbucket emulators over
HTTP, the report sent through the emulated Pipelines auth proxy (no credentials)."""

from __future__ import annotations

from testkit.emulators.airtable import Fault

from .harness import BRANCH, LOOK_ALIKE, SLUG, TABLE_URL, WS, origin_repo

MESSAGES = (
    "docs(api): document the rate limits FEAT-107",
    f"fix: export fallback for FEAT-109, typo'd {LOOK_ALIKE}, and FEAT-999",
)


def test_a_build_publishes_the_report_through_the_proxy_and_a_rerun_writes_only_what_changed(pipelines):
    origin = origin_repo(pipelines.git, *MESSAGES)
    clone = pipelines.clone(origin, BRANCH)
    head = origin.rev_parse(BRANCH)
    env = pipelines.env(head, REQUIRE_RECORD="true")

    first = pipelines.run(env, clone.path)

    assert first.code == 0, first.log
    report = pipelines.report(head)
    fields = report.fields
    assert fields["result"] == "PASSED" and fields["reporter"] == "airtable-coda-sync"
    assert fields["link"] == TABLE_URL
    assert "FEAT-107 'API rate limit docs' Ready → In Progress" in fields["details"]
    assert "FEAT-109 'Legacy exporter' Blocked" in fields["details"]
    data = {d["title"]: d["value"] for d in fields["data"]}
    assert data["Stage"] == "build" and data["Linked records"] == 2 and data["Status moved"] == 1
    assert data["Skipped"] == 1 and data["Failed"] == 0
    assert data["Airtable"] == {"text": "Work Items", "href": TABLE_URL}
    annotations = {a.fields["result"]: a.fields for a in report.annotations.values()}
    assert set(annotations) == {"IGNORED", "FAILED", "SKIPPED"}
    fix = origin.rev_parse(BRANCH)[:7]
    assert annotations["IGNORED"]["summary"] == (
        f"'{LOOK_ALIKE}' is not an Airtable record ID: it has 15 characters after 'rec'; "
        "a record ID has exactly 14 letters or digits there"
    )
    assert f"(found in commit {fix})" in annotations["IGNORED"]["details"]
    assert annotations["FAILED"]["summary"] == "FEAT-999: no record has this key"
    assert "status 'Blocked' was left alone (not moved to 'In Progress')" in annotations["SKIPPED"]["summary"]
    # through the proxy, as "Bitbucket Pipelines", no credentials: read (none yet), report, annotations
    assert {(r.listener, r.identity) for r in first.requests} == {("proxy", "Bitbucket Pipelines")}
    assert all("authorization" not in r.headers or r.headers["authorization"] == "" for r in first.requests)
    assert first.calls() == [
        ("GET", "getReport"),
        ("PUT", "createOrUpdateReport"),
        ("POST", "bulkCreateOrUpdateAnnotations"),
    ]
    print(f"\nfirst run: {len(first.requests)} Bitbucket requests, {len(first.writes)} writes (floor: 2 writes)")
    # the record people own says why it did not move, on the record itself
    assert pipelines.fields("recWorkItem000109")["Sync Error"].startswith(
        "Status 'Blocked' is set by people, so the pipe did not move it to 'In Progress' at the build stage (commit"
    )
    assert "Sync Error" not in pipelines.fields("recWorkItem000107")
    assert "Bitbucket Code Insights report: written (PASSED, 3 annotation(s), 2 write(s))" in first.log

    again = pipelines.run(env, clone.path)  # the same step run again: FEAT-107 is In Progress now

    assert again.code == 0, again.log
    assert again.calls() == [
        ("GET", "getReport"),
        ("GET", "getAnnotationsForReport"),
        ("PUT", "createOrUpdateReport"),  # the details now say "In Progress" (it moved in the first run)
    ]
    assert "FEAT-107 'API rate limit docs' In Progress;" in pipelines.report(head).fields["details"]

    third = pipelines.run(env, clone.path)

    assert third.code == 0 and third.writes == [], third.calls()
    print(f"re-runs: {len(again.writes)} then {len(third.writes)} Bitbucket writes")


def test_an_annotation_no_longer_found_is_deleted(pipelines):
    origin = origin_repo(pipelines.git, *MESSAGES)
    clone = pipelines.clone(origin, BRANCH)
    head = origin.rev_parse(BRANCH)
    env = pipelines.env(head)
    assert pipelines.run(env, clone.path).code == 0
    owned = [i for i, a in pipelines.report(head).annotations.items() if a.fields["result"] == "SKIPPED"]
    _set_status(pipelines, "recWorkItem000109", "Ready")

    result = pipelines.run(env, clone.path)

    assert result.code == 0, result.log
    assert ("DELETE", "deleteAnnotation") in result.calls()
    assert owned and owned[0] not in pipelines.report(head).annotations
    assert "Sync Error" not in pipelines.fields("recWorkItem000109")  # cleared: it synced this time


def test_require_record_fails_a_branch_that_names_no_record_with_a_failed_report(pipelines):
    origin = origin_repo(pipelines.git, "chore: tidy the scripts", branch="chore/tidy")
    clone = pipelines.clone(origin, "chore/tidy")
    head = origin.rev_parse("chore/tidy")

    result = pipelines.run(pipelines.env(head, branch="chore/tidy", REQUIRE_RECORD="true"), clone.path)

    assert result.code == 1, result.log
    message = (
        "REQUIRE_RECORD: branch chore/tidy (its name and 1 commit) references no Airtable record; name one "
        "(a record ID such as recAbCdEfGhIjKlMn or a key matching KEY_PATTERN) in the branch name or a commit "
        "message and push again"
    )
    assert message in result.log
    fields = pipelines.report(head).fields
    assert fields["result"] == "FAILED" and fields["details"].startswith(message)

    without = pipelines.run(pipelines.env(head, branch="chore/tidy"), clone.path)  # the policy is off by default
    assert without.code == 0 and pipelines.report(head).fields["result"] == "PASSED"


def test_an_unreachable_proxy_is_a_warning_and_the_sync_is_done(pipelines):
    origin = origin_repo(pipelines.git, *MESSAGES)
    clone = pipelines.clone(origin, BRANCH)
    head = origin.rev_parse(BRANCH)

    result = pipelines.run(pipelines.env(head, BITBUCKET_API_PROXY="http://127.0.0.1:9"), clone.path)

    assert result.code == 0, result.log
    assert pipelines.fields("recWorkItem000107")["Status"] == "In Progress"
    assert (
        "WARNING: The Code Insights report was not sent: Bitbucket could not be reached through the Pipelines auth "
        "proxy http://127.0.0.1:9 while reading the Code Insights report (ProxyError). The sync itself is not "
        "affected."
    ) in result.log
    assert "✔ Done: 3 records, 2 written" in result.log
    assert pipelines.bitbucket.reports(WS, SLUG) == []


def test_the_report_is_off_outside_pipelines_and_with_code_insights_false(pipelines):
    origin = origin_repo(pipelines.git, *MESSAGES)
    clone = pipelines.clone(origin, BRANCH)
    head = origin.rev_parse(BRANCH)
    outside = {k: v for k, v in pipelines.env(head).items() if k != "CI"}

    assert pipelines.run(outside, clone.path).requests == []
    assert pipelines.run(pipelines.env(head, CODE_INSIGHTS="false"), clone.path).requests == []
    assert pipelines.run({**outside, "CODE_INSIGHTS": "true"}, clone.path).requests != []


def test_a_failed_record_gets_a_failed_report_and_its_reason_on_the_record(pipelines):
    origin = origin_repo(pipelines.git, *MESSAGES)
    clone = pipelines.clone(origin, BRANCH)
    head = origin.rev_parse(BRANCH)
    refusal = {"error": {"type": "INVALID_VALUE_FOR_COLUMN", "message": 'Field "Branch" cannot accept the value'}}
    # the batch of two, then FEAT-107 alone: FEAT-109 and the reason written after are accepted
    pipelines.airtable.inject(Fault(status=422, method="PATCH", times=2, body=refusal))

    result = pipelines.run(pipelines.env(head), clone.path)

    assert result.code == 1, result.log
    fields = pipelines.report(head).fields
    assert fields["result"] == "FAILED"
    failed = [a.fields for a in pipelines.report(head).annotations.values() if a.fields["annotation_type"] == "BUG"]
    assert len(failed) == 1 and failed[0]["severity"] == "HIGH"
    assert failed[0]["summary"].startswith("FEAT-107 'API rate limit docs': not written:")
    reason = pipelines.fields("recWorkItem000107")["Sync Error"]
    assert reason.startswith("The pipe could not update this record at the build stage (commit ")
    assert "cannot accept the value" in reason and "The next run tries again" in reason

    fixed = pipelines.run(pipelines.env(head), clone.path)  # the next run syncs it and clears the reason

    assert fixed.code == 0, fixed.log
    assert "Sync Error" not in pipelines.fields("recWorkItem000107")
    assert pipelines.report(head).fields["result"] == "PASSED"


def _set_status(pipelines, record_id: str, status: str) -> None:
    import requests

    from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN

    answer = requests.patch(
        f"{pipelines.airtable.url}/v0/{SAMPLE_BASE_ID}/Work%20Items/{record_id}",
        json={"fields": {"Status": status}},
        headers={"Authorization": f"Bearer {SAMPLE_READWRITE_TOKEN}"},
        timeout=10,
    )
    answer.raise_for_status()


def test_a_rate_limited_report_is_a_warning_and_the_sync_is_done(pipelines, monkeypatch):
    import functools

    import pipe.modes.sync
    from pipe.clients.bitbucket import bitbucket_policy

    monkeypatch.setattr(pipe.modes.sync, "bitbucket_policy", functools.partial(bitbucket_policy, rate_limit_wait=0.01))
    origin = origin_repo(pipelines.git, *MESSAGES)
    clone = pipelines.clone(origin, BRANCH)
    head = origin.rev_parse(BRANCH)
    limit = pipelines.bitbucket.add_fault("status", status=429, times=None, listener="proxy")

    result = pipelines.run(pipelines.env(head), clone.path)

    assert result.code == 0, result.log
    assert limit.hits == 3  # tried three times, then given up
    assert "Bitbucket's rate limit (1,000 requests per hour per token) is used up" in result.log
    assert "The sync itself is not affected." in result.log
    assert pipelines.fields("recWorkItem000107")["Status"] == "In Progress"


def test_without_a_proxy_the_report_goes_with_the_token_or_not_at_all(pipelines):
    origin = origin_repo(pipelines.git, *MESSAGES)
    clone = pipelines.clone(origin, BRANCH)
    head = origin.rev_parse(BRANCH)

    alone = pipelines.run(pipelines.env(head, BITBUCKET_API_PROXY=""), clone.path)

    assert alone.code == 0 and alone.requests == []
    assert "No Code Insights report: BITBUCKET_API_PROXY is empty and no BITBUCKET_ACCESS_TOKEN is set" in alone.log

    token = pipelines.run(
        pipelines.env(head, BITBUCKET_API_PROXY="", BITBUCKET_ACCESS_TOKEN=pipelines.token), clone.path
    )

    assert token.code == 0, token.log
    assert {(r.listener, r.identity) for r in token.requests} == {("api", "Release bot")}
    assert pipelines.report(head).fields["result"] == "PASSED"
