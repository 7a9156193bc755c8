"""Request shapes the official airtable.js 0.12.2 sends, replayed with plain HTTP.

airtable.js writes to `/v0/{base}/{table}/` (trailing slash) and copies its own `method` option and
`timeZone`/`userLocale` into POST listRecords bodies. Real Airtable serves the official client, so the
emulator must too. The same calls through the real client: tests/clients/test_airtable_js.py.
"""

from __future__ import annotations

from testkit.emulators.airtable.emulator import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID
from tests.emulators.airtable.conftest import ErrorCheck, Raw

TABLE = f"/v0/{SAMPLE_BASE_ID}/Work%20Items"


def test_writes_to_the_table_path_with_a_trailing_slash(
    emu: AirtableEmulator, raw: Raw, expect_error: ErrorCheck
) -> None:
    single = raw("POST", TABLE + "/", json={"fields": {"Name": "A", "Key": "JS-1"}})
    assert single.status_code == 200, single.text
    assert single.json()["fields"]["Key"] == "JS-1"
    batch = raw("POST", TABLE + "/", json={"records": [{"fields": {"Key": "JS-2"}}]})
    assert batch.status_code == 200, batch.text
    record_id = batch.json()["records"][0]["id"]
    patched = raw("PATCH", TABLE + "/", json={"records": [{"id": record_id, "fields": {"Branch": "b"}}]})
    assert patched.json()["records"][0]["fields"] == {"Key": "JS-2", "Branch": "b"}
    replaced = raw("PUT", TABLE + "/", json={"records": [{"id": record_id, "fields": {"Name": "only"}}]})
    assert replaced.json()["records"][0]["fields"] == {"Name": "only"}
    upsert = {"records": [{"fields": {"Key": "JS-1", "Branch": "up"}}], "performUpsert": {"fieldsToMergeOn": ["Key"]}}
    assert raw("PATCH", TABLE + "/", json=upsert).json()["updatedRecords"] == [single.json()["id"]]
    eleven = {"records": [{"fields": {"Name": f"n{i}"}} for i in range(11)]}
    error = expect_error(raw("POST", TABLE + "/", json=eleven), 422, "INVALID_RECORDS")
    assert error["message"] == "A maximum of 10 records can be created per request but you have provided 11."
    assert expect_error(raw("POST", TABLE + "/", json={"fields": {"Nope": 1}}), 422, "UNKNOWN_FIELD_NAME")
    assert [e.path for e in emu.requests][:1] == [TABLE + "/"]  # logged as sent


def test_trailing_slash_on_reads_and_record_paths(raw: Raw) -> None:
    assert len(raw("GET", TABLE + "/", params={"maxRecords": 2}).json()["records"]) == 2
    assert raw("GET", TABLE + "/recWorkItem000101/").json()["id"] == "recWorkItem000101"
    assert raw("GET", f"/v0/{SAMPLE_BASE_ID}/Work%20Items//").status_code == 404  # only one slash is forgiven


def test_post_list_records_with_the_keys_airtable_js_adds(raw: Raw, expect_error: ErrorCheck) -> None:
    body = {"method": "post", "filterByFormula": "{Key}='FEAT-101'", "timeZone": "UTC", "userLocale": "en-gb"}
    reply = raw("POST", TABLE + "/listRecords", json=body, params={"timeZone": "UTC", "userLocale": "en-gb"})
    assert reply.status_code == 200, reply.text
    assert [r["fields"]["Key"] for r in reply.json()["records"]] == ["FEAT-101"]
    expect_error(raw("POST", TABLE + "/listRecords", json={"bogus": 1}), 422, "INVALID_REQUEST_UNKNOWN")
