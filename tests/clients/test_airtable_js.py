"""The official airtable.js 0.12.2 client (node) against the Airtable emulator.

Each test runs one check of testkit/clients/airtable-js/checks.js in a node subprocess and asserts on
what the client returned and on what the emulator received. `npm ci` runs once (testkit.clients.airtable_js).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from testkit.clients import airtable_js
from testkit.clients.airtable_js import Answer, Target
from testkit.emulators.airtable.emulator import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID

pytestmark = pytest.mark.skipif(airtable_js.missing_tools() is not None, reason=str(airtable_js.missing_tools()))

TABLE = "Work Items"
SAMPLE_KEYS = [f"FEAT-{n}" for n in range(101, 109)]


@pytest.fixture(scope="session")
def installed() -> None:
    airtable_js.install()


@pytest.fixture
def emu(airtable_emulator: AirtableEmulator) -> Iterator[AirtableEmulator]:
    airtable_emulator.reset_log()
    yield airtable_emulator


@pytest.fixture
def target(installed: None, emu: AirtableEmulator) -> Target:
    return Target(emu.url, emu.add_token(), SAMPLE_BASE_ID, TABLE)


def ok(answer: Answer) -> Any:
    assert answer.error is None, answer.error
    return answer.result


def keys(emu: AirtableEmulator) -> list[str]:
    return [r["fields"].get("Key", "") for r in emu.records(SAMPLE_BASE_ID, TABLE)]


def test_create_single_and_batch(target: Target, emu: AirtableEmulator) -> None:
    argument = {"fields": {"Name": "One", "Key": "JS-1"}, "records": [{"Key": "JS-2"}, {"Key": "JS-3"}]}
    created = ok(airtable_js.run_check(target, "create", argument))
    assert created["single"]["fields"] == {"Name": "One", "Key": "JS-1"}
    assert [r["fields"]["Key"] for r in created["batch"]] == ["JS-2", "JS-3"]
    assert keys(emu) == [*SAMPLE_KEYS, "JS-1", "JS-2", "JS-3"]
    sent = [(r.method, r.path, r.status) for r in emu.requests]
    assert sent == [("POST", f"/v0/{SAMPLE_BASE_ID}/Work%20Items/", 200)] * 2  # the trailing slash airtable.js sends


def test_eleven_records_are_refused_with_airtables_error(target: Target, emu: AirtableEmulator) -> None:
    answer = airtable_js.run_check(target, "createMany", {"records": [{"Key": f"N-{i}"} for i in range(11)]})
    assert answer.error == {
        "statusCode": 422,
        "error": "INVALID_RECORDS",
        "message": "A maximum of 10 records can be created per request but you have provided 11.",
    }
    assert keys(emu) == SAMPLE_KEYS


def test_select_with_formula_fields_and_sort(target: Target) -> None:
    params = {
        "filterByFormula": "OR({Key}='FEAT-101',{Key}='FEAT-103')",
        "fields": ["Key"],
        "sort": [{"field": "Key", "direction": "desc"}],
    }
    found = ok(airtable_js.run_check(target, "select", params))
    assert [r["fields"] for r in found] == [{"Key": "FEAT-103"}, {"Key": "FEAT-101"}]


def test_select_through_post_list_records(target: Target, emu: AirtableEmulator) -> None:
    asked = ok(airtable_js.run_check(target, "select", {"method": "post", "filterByFormula": "{Key}='FEAT-102'"}))
    assert [r["fields"]["Key"] for r in asked] == ["FEAT-102"]
    # a formula that makes the URL longer than 15,000 characters: airtable.js switches to POST by itself
    long_formula = "OR(" + ",".join(f"{{Key}}='NOPE-{n:05d}-padding'" for n in range(700)) + ",{Key}='FEAT-104')"
    found = ok(airtable_js.run_check(target, "select", {"filterByFormula": long_formula, "pageSize": 1}))
    assert [r["fields"]["Key"] for r in found] == ["FEAT-104"]
    assert [(r.method, r.path.rsplit("/", 1)[-1], r.status) for r in emu.requests] == [("POST", "listRecords", 200)] * 2


def test_update_replace_and_upsert(target: Target, emu: AirtableEmulator) -> None:
    updated = ok(
        airtable_js.run_check(target, "update", {"records": [{"id": "recWorkItem000101", "fields": {"Branch": "b1"}}]})
    )
    assert updated[0]["fields"]["Branch"] == "b1" and updated[0]["fields"]["Key"] == "FEAT-101"
    one = ok(airtable_js.run_check(target, "updateOne", {"id": "recWorkItem000102", "fields": {"Branch": "b2"}}))
    assert one["fields"]["Branch"] == "b2"
    replaced = ok(
        airtable_js.run_check(
            target, "replace", {"records": [{"id": "recWorkItem000103", "fields": {"Key": "FEAT-103"}}]}
        )
    )
    assert replaced[0]["fields"] == {"Key": "FEAT-103"}
    upsert = {
        "records": [{"fields": {"Key": "FEAT-104", "Branch": "up"}}, {"fields": {"Key": "JS-9", "Name": "new"}}],
        "options": {"performUpsert": {"fieldsToMergeOn": ["Key"]}},
    }
    upserted = ok(airtable_js.run_check(target, "update", upsert))
    assert upserted[0]["id"] == "recWorkItem000104" and upserted[0]["fields"]["Branch"] == "up"
    assert (emu.record(SAMPLE_BASE_ID, TABLE, upserted[1]["id"]) or {}).get("fields") == {"Key": "JS-9", "Name": "new"}
    assert {r.status for r in emu.requests} == {200}


def test_unknown_field_errors(target: Target) -> None:
    created = airtable_js.run_check(target, "createMany", {"records": [{"Nope": 1}]})
    assert created.error == {"statusCode": 422, "error": "UNKNOWN_FIELD_NAME", "message": 'Unknown field name: "Nope"'}
    listed = airtable_js.run_check(target, "select", {"fields": ["Nope"]})
    assert listed.error == {"statusCode": 422, "error": "UNKNOWN_FIELD_NAME", "message": 'Unknown field name: "Nope"'}
    filtered = airtable_js.run_check(target, "select", {"filterByFormula": "{Nope}='x'"})
    assert filtered.error == {
        "statusCode": 422,
        "error": "INVALID_FILTER_BY_FORMULA",
        "message": "The formula for filtering records is invalid: Unknown field names: Nope",
    }


def test_pagination(target: Target, emu: AirtableEmulator) -> None:
    assert ok(airtable_js.run_check(target, "pages", {"pageSize": 3})) == [3, 3, 2]
    assert [r.param("offset") for r in emu.requests][0] is None
    assert all(r.param("offset") for r in emu.requests[1:])
    every = ok(airtable_js.run_check(target, "select", {"pageSize": 3}))
    assert [r["fields"]["Key"] for r in every] == SAMPLE_KEYS
    assert ok(airtable_js.run_check(target, "pages", {"pageSize": 2, "maxRecords": 5})) == [2, 2, 1]
    assert len(ok(airtable_js.run_check(target, "firstPage", {"pageSize": 4}))) == 4


def test_find_and_destroy(target: Target, emu: AirtableEmulator) -> None:
    assert ok(airtable_js.run_check(target, "find", {"id": "recWorkItem000105"}))["fields"]["Key"] == "FEAT-105"
    gone = ok(airtable_js.run_check(target, "destroy", {"ids": ["recWorkItem000106", "recWorkItem000107"]}))
    assert gone == ["recWorkItem000106", "recWorkItem000107"]
    assert "FEAT-106" not in keys(emu) and "FEAT-107" not in keys(emu)
    missing = airtable_js.run_check(target, "find", {"id": "recWorkItem000106"})
    assert missing.error is not None and missing.error["statusCode"] == 404
