"""Code Insights: reports keyed by external id (PUT replaces), annotations by external id, the limits."""

from __future__ import annotations

from typing import Any

import pytest

from testkit.emulators.bitbucket import BitbucketEmulator, Limits, Readings
from tests.emulators.bitbucket.conftest import MAIN, REPO, WS, Api, error_message

REPORTS = f"/commit/{MAIN}/reports"
REPORT = f"{REPORTS}/airtable-coda-sync-1"
ANNOTATIONS = f"{REPORT}/annotations"
BODY: dict[str, Any] = {
    "title": "Release sync",
    "details": "3 work items synced.",
    "report_type": "TEST",
    "reporter": "airtable-coda-sync",
    "result": "PASSED",
    "link": "https://example.com/runs/1",
    "data": [
        {"title": "Synced", "type": "NUMBER", "value": 3},
        {"title": "Safe to merge?", "type": "BOOLEAN", "value": True},
        {"title": "Run", "type": "LINK", "value": {"text": "#1", "href": "https://example.com/runs/1"}},
        {"title": "Took", "type": "DURATION", "value": 1400},
        {"title": "Note", "value": "auto-detected"},
    ],
}


def annotation(n: int, **fields: Any) -> dict[str, Any]:
    return {
        "external_id": f"acs-{n}",
        "annotation_type": "BUG",
        "summary": f"finding {n}",
        "severity": "LOW",
        "path": "src/app.py",
        "line": n + 1,
        **fields,
    }


def test_put_creates_then_replaces_the_report_under_its_external_id(api: Api, emu: BitbucketEmulator) -> None:
    first = api.repo("PUT", REPORT, json=BODY)
    assert first.status_code == 200
    report = first.json()
    assert report["external_id"] == "airtable-coda-sync-1" and report["uuid"].startswith("{")
    assert report["data"] == BODY["data"]
    second = api.repo("PUT", REPORT, json={"title": "Release sync", "result": "FAILED"})
    assert second.json()["uuid"] == report["uuid"] and second.json()["created_on"] == report["created_on"]
    assert "details" not in second.json() and "data" not in second.json()  # PUT replaces every field
    stored = emu.reports(WS, REPO, MAIN)
    assert len(stored) == 1 and stored[0].fields == {"title": "Release sync", "result": "FAILED"}


def test_a_report_is_found_by_uuid_and_listed_per_commit(api: Api) -> None:
    uuid = api.repo("PUT", REPORT, json=BODY).json()["uuid"]
    assert api.repo("GET", f"{REPORTS}/{uuid}").json()["external_id"] == "airtable-coda-sync-1"
    api.repo("PUT", f"{REPORTS}/other-tool-1", json={"title": "Other"})
    listed = api.repo("GET", REPORTS).json()
    assert sorted(r["external_id"] for r in listed["values"]) == ["airtable-coda-sync-1", "other-tool-1"]
    assert api.repo("GET", f"/commit/{MAIN[:12]}/reports").json()["size"] == 2  # a short hash works
    assert api.repo("GET", "/commit/2b66fd261ee5c6cfc8de7fa466bab600bcfe4f69/reports").json()["values"] == []
    assert api.repo("GET", f"{REPORTS}/nope").status_code == 404


def test_reports_need_a_known_commit(api: Api) -> None:
    assert api.repo("PUT", "/commit/0000000000000000000000000000000000000000/reports/x", json=BODY).status_code == 404


def test_bulk_annotations_upsert_by_external_id(api: Api, emu: BitbucketEmulator) -> None:
    api.repo("PUT", REPORT, json=BODY)
    reply = api.repo("POST", ANNOTATIONS, json=[annotation(n) for n in range(3)])
    assert reply.status_code == 200 and [a["external_id"] for a in reply.json()] == ["acs-0", "acs-1", "acs-2"]
    again = api.repo("POST", ANNOTATIONS, json=[annotation(1, severity="HIGH"), annotation(3)])
    assert again.status_code == 200
    stored = emu.report(WS, REPO, MAIN, "airtable-coda-sync-1").annotations
    assert list(stored) == ["acs-0", "acs-1", "acs-2", "acs-3"] and stored["acs-1"].fields["severity"] == "HIGH"
    listed = api.all_values(ANNOTATIONS)
    assert len(listed) == 4 and listed[1]["uuid"] == reply.json()[1]["uuid"]


@pytest.mark.bitbucket_emulator(allow_spec_violations=True)
def test_at_most_100_annotations_per_request(api: Api, emu: BitbucketEmulator) -> None:
    api.repo("PUT", REPORT, json=BODY)
    assert api.repo("POST", ANNOTATIONS, json=[annotation(n) for n in range(100)]).status_code == 200
    reply = api.repo("POST", ANNOTATIONS, json=[annotation(n) for n in range(100, 201)])
    assert reply.status_code == 400
    assert any("is too long" in v for v in emu.take_spec_violations())  # the spec's maxItems: 100
    assert len(emu.report(WS, REPO, MAIN, "airtable-coda-sync-1").annotations) == 100
    assert api.repo("POST", ANNOTATIONS, json=[]).status_code == 400  # minItems: 1


def test_at_most_1000_annotations_per_report_and_a_breaking_request_applies_nothing(
    api: Api, emu: BitbucketEmulator
) -> None:
    api.repo("PUT", REPORT, json=BODY)
    for batch in range(10):
        chunk = [annotation(n) for n in range(batch * 100, batch * 100 + 100)]
        assert api.repo("POST", ANNOTATIONS, json=chunk).status_code == 200
    assert api.repo("POST", ANNOTATIONS, json=[annotation(5, summary="updated")]).status_code == 200  # no growth
    reply = api.repo("POST", ANNOTATIONS, json=[annotation(7, summary="changed"), annotation(1000)])
    assert reply.status_code == 400 and "1000 annotations" in error_message(reply)
    stored = emu.report(WS, REPO, MAIN, "airtable-coda-sync-1").annotations
    assert len(stored) == 1000 and stored["acs-7"].fields["summary"] == "finding 7"
    assert api.repo("PUT", f"{ANNOTATIONS}/acs-1000", json=annotation(1000)).status_code == 400


@pytest.mark.bitbucket_emulator(limits=Limits(annotations_per_request=5, annotations_per_report=8))
def test_annotation_limits_are_configurable(api: Api) -> None:
    api.repo("PUT", REPORT, json=BODY)
    assert api.repo("POST", ANNOTATIONS, json=[annotation(n) for n in range(6)]).status_code == 400
    assert api.repo("POST", ANNOTATIONS, json=[annotation(n) for n in range(5)]).status_code == 200
    assert api.repo("POST", ANNOTATIONS, json=[annotation(n) for n in range(5, 9)]).status_code == 400


def test_every_bulk_annotation_needs_a_unique_external_id(api: Api) -> None:
    api.repo("PUT", REPORT, json=BODY)
    missing = annotation(1)
    del missing["external_id"]
    assert api.repo("POST", ANNOTATIONS, json=[annotation(0), missing]).status_code == 400
    reply = api.repo("POST", ANNOTATIONS, json=[annotation(0), annotation(0)])
    assert reply.status_code == 400 and "twice" in error_message(reply)


def test_single_annotation_put_get_delete(api: Api, emu: BitbucketEmulator) -> None:
    api.repo("PUT", REPORT, json=BODY)
    put = api.repo("PUT", f"{ANNOTATIONS}/acs-9", json={"summary": "one", "severity": "CRITICAL"})
    assert put.status_code == 200 and put.json()["external_id"] == "acs-9"
    assert api.repo("GET", f"{ANNOTATIONS}/{put.json()['uuid']}").json()["summary"] == "one"
    assert api.repo("DELETE", f"{ANNOTATIONS}/acs-9").status_code == 204
    assert api.repo("GET", f"{ANNOTATIONS}/acs-9").status_code == 404
    assert emu.report(WS, REPO, MAIN, "airtable-coda-sync-1").annotations == {}


def test_deleting_a_report_deletes_its_annotations(api: Api, emu: BitbucketEmulator) -> None:
    api.repo("PUT", REPORT, json=BODY)
    api.repo("POST", ANNOTATIONS, json=[annotation(0)])
    assert api.repo("DELETE", REPORT).status_code == 204
    assert api.repo("GET", ANNOTATIONS).status_code == 404 and emu.reports(WS, REPO) == []
    api.repo("PUT", REPORT, json=BODY)
    assert api.repo("GET", ANNOTATIONS).json()["values"] == []


def test_a_report_put_keeps_annotations_unless_configured_otherwise(api: Api, bitbucket_emulator_factory: Any) -> None:
    api.repo("PUT", REPORT, json=BODY)
    api.repo("POST", ANNOTATIONS, json=[annotation(0)])
    api.repo("PUT", REPORT, json=BODY)
    assert len(api.all_values(ANNOTATIONS)) == 1
    other = bitbucket_emulator_factory(readings=Readings(report_put_keeps_annotations=False))
    other_api = Api(other.url, api.session.headers["Authorization"].split()[1])
    other_api.repo("PUT", REPORT, json=BODY)
    other_api.repo("POST", ANNOTATIONS, json=[annotation(0)])
    other_api.repo("PUT", REPORT, json=BODY)
    assert other_api.all_values(ANNOTATIONS) == []


@pytest.mark.bitbucket_emulator(allow_spec_violations=True)  # the widened `value` schema rejects some too
@pytest.mark.parametrize(
    "data",
    [
        [{"title": f"field {n}", "value": n} for n in range(11)],  # "Maximum 10"
        [{"title": "Flag", "type": "BOOLEAN", "value": "yes"}],
        [{"title": "When", "type": "DATE", "value": "2024-01-01"}],
        [{"title": "Share", "type": "PERCENTAGE", "value": 140}],
        [{"title": "Run", "type": "LINK", "value": {"text": "no href"}}],
        [{"title": "Untyped", "value": [1, 2]}],
        [{"type": "TEXT", "value": "no title"}],
    ],
)
def test_report_data_rules(api: Api, data: list[dict[str, Any]]) -> None:
    reply = api.repo("PUT", REPORT, json={**BODY, "data": data})
    assert reply.status_code == 400 and reply.json()["type"] == "error"
    assert api.repo("GET", REPORT).status_code == 404


@pytest.mark.bitbucket_emulator(allow_spec_violations=True)
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"title": "x", "result": "SKIPPED"}, "is not one of ['PASSED', 'FAILED', 'PENDING']"),
        ({"title": "x", "report_type": "LINT"}, "is not one of ['SECURITY', 'COVERAGE', 'TEST', 'BUG']"),
        ({"title": "x", "link": "not a link"}, "is not a 'uri'"),
    ],
)
def test_report_enums_and_formats_come_from_the_spec(
    api: Api, emu: BitbucketEmulator, body: dict[str, Any], fragment: str
) -> None:
    assert api.repo("PUT", REPORT, json=body).status_code == 400
    assert any(fragment in v for v in emu.take_spec_violations())


@pytest.mark.bitbucket_emulator(allow_spec_violations=True)
def test_annotation_line_and_severity_come_from_the_spec(api: Api, emu: BitbucketEmulator) -> None:
    api.repo("PUT", REPORT, json=BODY)
    assert api.repo("POST", ANNOTATIONS, json=[annotation(0, line=0)]).status_code == 400
    assert api.repo("POST", ANNOTATIONS, json=[annotation(0, severity="INFO")]).status_code == 400
    violations = emu.take_spec_violations()
    assert any("less than the minimum of 1" in v for v in violations)
    assert any("'INFO' is not one of" in v for v in violations)


@pytest.mark.bitbucket_emulator(limits=Limits(report_title_chars=10, annotation_summary_chars=5))
def test_field_lengths_are_configurable(api: Api) -> None:
    assert api.repo("PUT", REPORT, json={"title": "x" * 11}).status_code == 400
    assert api.repo("PUT", REPORT, json={"title": "x" * 10}).status_code == 200
    assert api.repo("POST", ANNOTATIONS, json=[annotation(0, summary="123456")]).status_code == 400


def test_annotation_title_from_atlassians_examples_is_accepted(api: Api) -> None:
    api.repo("PUT", REPORT, json=BODY)
    reply = api.repo("POST", ANNOTATIONS, json=[annotation(0, title="Security scan report")])
    assert reply.status_code == 200 and "title" not in reply.json()[0]
