"""Record endpoints through pyairtable 3.5 and raw HTTP: list, get, create, update, upsert, delete."""

from __future__ import annotations

import re
import threading
from urllib.parse import quote

import pytest
import requests
from pyairtable import Api
from pyairtable.api.table import Table

from testkit.emulators.airtable import AirtableEmulator, Quirks
from testkit.emulators.airtable.errors import INVALID_RECORDS_MESSAGE
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_WORK_ITEMS_TABLE_ID

from .conftest import ErrorCheck, Raw

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000Z$")
RECORD_ID = re.compile(r"^rec[A-Za-z0-9]{14}$")
WI = f"/v0/{SAMPLE_BASE_ID}/{SAMPLE_WORK_ITEMS_TABLE_ID}"


def numbered_table(emu: AirtableEmulator, count: int) -> str:
    base_id = emu.add_base(name="Numbers")
    emu.add_table(base_id, {"name": "N", "fields": [{"name": "I", "type": "number"}]})
    emu.add_records(base_id, "N", [{"I": i} for i in range(count)])
    return base_id


# ----------------------------------------------------------------------------- list


def test_list_returns_sample_records_with_airtable_shapes(work_items: Table) -> None:
    records = work_items.all()
    assert [r["fields"]["Key"] for r in records] == [f"FEAT-{n}" for n in range(101, 109)]
    for record in records:
        assert RECORD_ID.match(record["id"])
        assert TIMESTAMP.match(record["createdTime"])
    planned = records[-1]["fields"]
    assert "Branch" not in planned and "Merged At" not in planned  # empty cells are omitted


def test_pagination_with_page_size_and_max_records(emu: AirtableEmulator, api: Api) -> None:
    table = api.table(numbered_table(emu, 25), "N")
    assert [len(page) for page in table.iterate(page_size=10)] == [10, 10, 5]
    assert [len(page) for page in table.iterate(page_size=10, max_records=23)] == [10, 10, 3]
    assert [r["fields"]["I"] for r in table.all(page_size=7)] == list(range(25))
    assert len(table.all(max_records=4)) == 4
    assert table.first()["fields"] == {"I": 0}  # 0 is a value, not an empty cell
    offsets = [e.param("offset") for e in emu.requests if e.method == "GET"][:3]
    assert offsets[0] is None and offsets[1] and offsets[2] and offsets[1] != offsets[2]


def test_offset_only_present_when_more_pages(raw: Raw) -> None:
    assert "offset" not in raw("GET", WI, params={"pageSize": 8}).json()
    body = raw("GET", WI, params={"pageSize": 3}).json()
    assert len(body["records"]) == 3
    assert re.match(r"^itr[A-Za-z0-9]{14}/rec[A-Za-z0-9]{14}$", body["offset"])
    assert raw("GET", WI, params={"offset": ""}).status_code == 200  # empty offset = start


def test_stale_or_unknown_offset_is_iterator_not_available(emu: AirtableEmulator, raw: Raw) -> None:
    bogus = raw("GET", WI, params={"offset": "itrNopeNopeNope12/recNopeNopeNope12"})
    assert bogus.status_code == 422
    assert bogus.json() == {"error": {"type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"}}
    offset = raw("GET", WI, params={"pageSize": 2}).json()["offset"]
    assert raw("GET", WI, params={"pageSize": 2, "offset": offset}).status_code == 200
    emu.expire_offsets()
    assert raw("GET", WI, params={"pageSize": 2, "offset": offset}).status_code == 422


def test_offset_ttl_quirk(airtable_emulator_factory, expect_error: ErrorCheck) -> None:
    ticks = [0.0]
    emu = airtable_emulator_factory(quirks=Quirks(offset_ttl_seconds=60), clock=lambda: ticks[0])
    raw = Raw(emu.url, emu.add_token())
    offset = raw("GET", WI, params={"pageSize": 2}).json()["offset"]
    ticks[0] = 59.0
    assert raw("GET", WI, params={"offset": offset}).status_code == 200
    ticks[0] = 61.0
    expect_error(raw("GET", WI, params={"offset": offset}), 422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")


def test_page_size_above_100_is_rejected_or_clamped(airtable_emulator_factory, expect_error: ErrorCheck) -> None:
    strict = airtable_emulator_factory()
    expect_error(
        Raw(strict.url, strict.add_token())("GET", WI, params={"pageSize": 101}),
        422,
        "INVALID_REQUEST_UNKNOWN",
    )
    lenient = airtable_emulator_factory(quirks=Quirks(page_size_over_limit="clamp"))
    response = Raw(lenient.url, lenient.add_token())("GET", WI, params={"pageSize": 500})
    assert response.status_code == 200 and len(response.json()["records"]) == 8


def test_fields_parameter_by_name_and_id(
    emu: AirtableEmulator, work_items: Table, raw: Raw, expect_error: ErrorCheck
) -> None:
    status_id = emu.field_id(SAMPLE_BASE_ID, "Work Items", "Status")
    records = work_items.all(fields=["Key", status_id])
    assert all(set(r["fields"]) <= {"Key", "Status"} for r in records)
    assert records[0]["fields"] == {"Key": "FEAT-101", "Status": "Released"}
    error = expect_error(raw("GET", WI, params={"fields[]": ["Key", "Nope"]}), 422, "UNKNOWN_FIELD_NAME")
    assert error["message"] == 'Unknown field name: "Nope"'


def test_sort_directions_select_order_and_blanks(work_items: Table, raw: Raw, expect_error: ErrorCheck) -> None:
    keys = [r["fields"]["Key"] for r in work_items.all(sort=["-Key"])]
    assert keys == sorted(keys, reverse=True)
    statuses = [r["fields"]["Status"] for r in work_items.all(sort=["Status", "Key"])]
    assert statuses[:3] == ["Planned", "Ready", "In Progress"]  # choice order, not alphabetical
    branches = [r["fields"].get("Branch") for r in work_items.all(sort=["Branch"])]
    assert branches[:2] == [None, None] and branches[2] == "feature/FEAT-101-login-page"
    expect_error(raw("GET", WI, params={"sort[0][field]": "Nope"}), 422, "UNKNOWN_FIELD_NAME")
    bad_direction = {"sort[0][field]": "Key", "sort[0][direction]": "up"}
    expect_error(raw("GET", WI, params=bad_direction), 422, "INVALID_REQUEST_UNKNOWN")


@pytest.mark.parametrize(("value", "by_id"), [("1", True), ("true", True), ("0", False), ("false", False)])
def test_return_fields_by_field_id_query_values(raw: Raw, value: str, by_id: bool) -> None:
    fields = raw("GET", WI, params={"returnFieldsByFieldId": value, "maxRecords": 1}).json()["records"][0]["fields"]
    assert ("fldWIKey000000000" in fields) is by_id
    assert ("Key" in fields) is not by_id


def test_use_field_ids_through_pyairtable(emu: AirtableEmulator, token: str) -> None:
    api = Api(token, endpoint_url=emu.url, retry_strategy=None, use_field_ids=True)
    table = api.table(SAMPLE_BASE_ID, SAMPLE_WORK_ITEMS_TABLE_ID)
    assert table.first()["fields"]["fldWIKey000000000"] == "FEAT-101"
    created = table.create({"fldWIKey000000000": "FEAT-900"})
    assert created["fields"] == {"fldWIKey000000000": "FEAT-900"}
    assert emu.requests[-1].body["returnFieldsByFieldId"] is True


def test_view_parameter(emu: AirtableEmulator, work_items: Table, raw: Raw, expect_error: ErrorCheck) -> None:
    assert len(work_items.all(view="Grid view")) == 8
    error = expect_error(raw("GET", WI, params={"view": "Nope"}), 422, "VIEW_NAME_NOT_FOUND")
    assert "Nope" in error["message"]
    base_id = emu.add_base(name="Views")
    emu.add_table(
        base_id,
        {
            "name": "T",
            "fields": [{"name": "N", "type": "number"}],
            "views": [
                {"name": "All"},
                {"name": "Big first", "filterByFormula": "{N}>1", "sort": [{"field": "N", "direction": "desc"}]},
            ],
        },
    )
    emu.add_records(base_id, "T", [{"N": 1}, {"N": 3}, {"N": 2}])
    table = Api(raw.headers["Authorization"][7:], endpoint_url=emu.url).table(base_id, "T")
    assert [r["fields"]["N"] for r in table.all(view="Big first")] == [3, 2]


def test_cell_format_string(raw: Raw, expect_error: ErrorCheck) -> None:
    release = f"/v0/{SAMPLE_BASE_ID}/Releases"
    expect_error(raw("GET", release, params={"cellFormat": "string"}), 422, "INVALID_REQUEST_UNKNOWN")
    params = {"cellFormat": "string", "timeZone": "Europe/Berlin", "userLocale": "en-gb"}
    fields = raw("GET", release, params=params).json()["records"][0]["fields"]
    assert fields["Work Items"] == "Login page, Password reset email"
    assert fields["Date"] == "2026-01-09 17:00"


def test_table_by_name_id_and_url_encoded_name(emu: AirtableEmulator, api: Api, raw: Raw) -> None:
    base_id = emu.add_base(name="Names")
    emu.add_table(base_id, {"name": "Ops / Deploys #1", "fields": [{"name": "Name", "type": "singleLineText"}]})
    api.table(base_id, "Ops / Deploys #1").create({"Name": "x"})
    assert emu.requests[-1].path == f"/v0/{base_id}/Ops%20%2F%20Deploys%20%231"
    by_id = raw("GET", f"/v0/{base_id}/{emu.table_id(base_id, 'Ops / Deploys #1')}").json()
    by_name = raw("GET", f"/v0/{base_id}/{quote('Ops / Deploys #1', safe='')}").json()
    assert by_id == by_name and len(by_id["records"]) == 1


# ----------------------------------------------------------------------------- get


def test_get_record_and_missing_record(work_items: Table, raw: Raw, expect_error: ErrorCheck) -> None:
    record = work_items.get("recWorkItem000103")
    assert record["fields"]["Key"] == "FEAT-103" and TIMESTAMP.match(record["createdTime"])
    error = expect_error(raw("GET", f"{WI}/recMissing0000001"), 404, "MODEL_ID_NOT_FOUND")
    assert error == {"type": "MODEL_ID_NOT_FOUND", "message": "Record not found"}


def test_get_record_base_wide_fallback(airtable_emulator_factory, expect_error: ErrorCheck) -> None:
    release_via_work_items = f"{WI}/recRelease0001400"
    emu = airtable_emulator_factory()
    body = Raw(emu.url, emu.add_token())("GET", release_via_work_items).json()
    assert body["fields"]["Version"] == "1.4.0"  # §1.3 quirk
    strict = airtable_emulator_factory(quirks=Quirks(get_record_base_fallback=False))
    response = Raw(strict.url, strict.add_token())("GET", release_via_work_items)
    expect_error(response, 404, "MODEL_ID_NOT_FOUND")


# ----------------------------------------------------------------------------- create


def test_create_batch_and_single(emu: AirtableEmulator, work_items: Table, raw: Raw) -> None:
    created = work_items.batch_create([{"Key": f"FEAT-30{i}", "Name": f"n{i}"} for i in range(3)])
    assert [r["fields"]["Key"] for r in created] == ["FEAT-300", "FEAT-301", "FEAT-302"]
    body = emu.requests[-1].body
    assert body["typecast"] is False and body["returnFieldsByFieldId"] is False
    single = raw("POST", WI, json={"fields": {"Key": "FEAT-400"}}).json()
    assert set(single) == {"id", "createdTime", "fields"}  # a bare record, not {"records": …}
    assert emu.record(SAMPLE_BASE_ID, "Work Items", single["id"])["fields"] == {"Key": "FEAT-400"}
    assert len(emu.records(SAMPLE_BASE_ID, "Work Items")) == 12


def test_pyairtable_chunks_large_batches_by_ten(emu: AirtableEmulator, work_items: Table) -> None:
    emu.reset_log()
    work_items.batch_create([{"Key": f"K-{i}"} for i in range(23)])
    assert [len(e.body["records"]) for e in emu.requests] == [10, 10, 3]


def test_batch_limits(raw: Raw, expect_error: ErrorCheck) -> None:
    eleven = [{"fields": {"Key": f"K{i}"}} for i in range(11)]
    error = expect_error(raw("POST", WI, json={"records": eleven}), 422, "INVALID_RECORDS")
    assert error["message"] == ("A maximum of 10 records can be created per request but you have provided 11.")
    updates = [{"id": "recWorkItem000101", "fields": {}}] * 11
    error = expect_error(raw("PATCH", WI, json={"records": updates}), 422, "INVALID_RECORDS")
    assert error["message"] == INVALID_RECORDS_MESSAGE
    ids = [f"recWorkItem00010{i}" for i in range(1, 9)] * 2
    expect_error(raw("DELETE", WI, params={"records[]": ids[:11]}), 422, "INVALID_RECORDS")
    expect_error(raw("POST", WI, json={"records": []}), 422, "INVALID_RECORDS")


def test_create_is_all_or_nothing(emu: AirtableEmulator, raw: Raw, kitchen, expect_error: ErrorCheck) -> None:
    base_id, _, _ = kitchen
    path = f"/v0/{base_id}/Kitchen%20Sink"
    body = {"records": [{"fields": {"Title": "ok"}}, {"fields": {"Serial": 5}}]}
    error = expect_error(raw("POST", path, json=body), 422, "INVALID_VALUE_FOR_COLUMN")
    assert error["message"] == 'Field "Serial" cannot accept a value because the field is computed'
    assert emu.records(base_id, "Kitchen Sink") == []


def test_missing_fields_and_bad_bodies(raw: Raw, expect_error: ErrorCheck) -> None:
    error = expect_error(raw("POST", WI, json={"typecast": True}), 422, "INVALID_REQUEST_MISSING_FIELDS")
    assert error["message"] == 'Could not find field "fields" in the request body'
    bad_json = raw("POST", WI, data=b"{not json", headers={"Content-Type": "application/json"})
    expect_error(bad_json, 400, "INVALID_REQUEST_BODY")
    expect_error(raw("POST", WI, json=[1, 2]), 422, "INVALID_REQUEST_UNKNOWN")
    expect_error(raw("POST", WI, json={"fields": {}, "bogus": 1}), 422, "INVALID_REQUEST_UNKNOWN")
    expect_error(raw("POST", WI, json={"fields": {}, "typecast": "yes"}), 422, "INVALID_REQUEST_UNKNOWN")
    error = expect_error(raw("POST", WI, json={"fields": {"Nope": 1}}), 422, "UNKNOWN_FIELD_NAME")
    assert error["message"] == 'Unknown field name: "Nope"'


# ----------------------------------------------------------------------------- update


def test_patch_merges_and_put_replaces(emu: AirtableEmulator, work_items: Table) -> None:
    patched = work_items.update("recWorkItem000106", {"Status": "In Review"})
    assert patched["fields"]["Status"] == "In Review" and patched["fields"]["Name"] == "Upgrade build image"
    replaced = work_items.update("recWorkItem000106", {"Key": "FEAT-106"}, replace=True)
    assert replaced["fields"] == {"Key": "FEAT-106"}
    assert emu.requests[-1].method == "PUT"
    cleared = work_items.update("recWorkItem000105", {"Branch": None})
    assert "Branch" not in cleared["fields"]


def test_batch_update_and_replace(emu: AirtableEmulator, work_items: Table) -> None:
    result = work_items.batch_update(
        [
            {"id": "recWorkItem000107", "fields": {"Status": "In Progress"}},
            {"id": "recWorkItem000108", "fields": {"Status": "Ready"}},
        ]
    )
    assert [r["fields"]["Status"] for r in result] == ["In Progress", "Ready"]
    work_items.batch_update([{"id": "recWorkItem000108", "fields": {"Name": "Only"}}], replace=True)
    assert emu.record(SAMPLE_BASE_ID, "Work Items", "recWorkItem000108")["fields"] == {"Name": "Only"}


def test_batch_update_unknown_id_changes_nothing(emu: AirtableEmulator, raw: Raw, expect_error: ErrorCheck) -> None:
    body = {
        "records": [
            {"id": "recWorkItem000107", "fields": {"Status": "Blocked"}},
            {"id": "rec2VdcJzQlsKFHtP", "fields": {"Status": "Blocked"}},
        ]
    }
    error = expect_error(raw("PATCH", WI, json=body), 422, "ROW_DOES_NOT_EXIST")
    assert error["message"] == "Record ID rec2VdcJzQlsKFHtP does not exist in this table"
    assert emu.record(SAMPLE_BASE_ID, "Work Items", "recWorkItem000107")["fields"]["Status"] == "Ready"
    expect_error(raw("PATCH", f"{WI}/recMissing0000001", json={"fields": {}}), 404, "MODEL_ID_NOT_FOUND")


def test_batch_update_without_id(airtable_emulator_factory, expect_error: ErrorCheck) -> None:
    body = {"records": [{"fields": {"Status": "Blocked"}}]}
    default = airtable_emulator_factory()
    expect_error(Raw(default.url, default.add_token())("PATCH", WI, json=body), 422, "INVALID_RECORDS")
    other = airtable_emulator_factory(quirks=Quirks(missing_id_error="ROW_DOES_NOT_EXIST"))
    expect_error(Raw(other.url, other.add_token())("PATCH", WI, json=body), 422, "ROW_DOES_NOT_EXIST")


# ----------------------------------------------------------------------------- upsert


def test_upsert_creates_and_updates_in_input_order(emu: AirtableEmulator, work_items: Table) -> None:
    result = work_items.batch_upsert(
        [
            {"fields": {"Key": "FEAT-500", "Name": "new"}},
            {"fields": {"Key": "FEAT-103", "Status": "Released"}},
            {"fields": {"Key": "FEAT-501", "Name": "new too"}},
        ],
        key_fields=["Key"],
    )
    assert [r["fields"]["Key"] for r in result["records"]] == ["FEAT-500", "FEAT-103", "FEAT-501"]
    assert result["updatedRecords"] == ["recWorkItem000103"]
    assert result["createdRecords"] == [result["records"][0]["id"], result["records"][2]["id"]]
    assert result["records"][1]["fields"]["Name"] == "Fix session timeout"  # PATCH merges
    assert emu.requests[-1].body["performUpsert"] == {"fieldsToMergeOn": ["Key"]}
    again = work_items.batch_upsert([{"fields": {"Key": "FEAT-500", "Name": "same"}}], key_fields=["Key"])
    assert again["createdRecords"] == [] and len(emu.records(SAMPLE_BASE_ID, "Work Items")) == 10


def test_upsert_with_replace_clears_other_fields(work_items: Table) -> None:
    result = work_items.batch_upsert(
        [{"fields": {"Key": "FEAT-103", "Status": "Blocked"}}], key_fields=["Key"], replace=True
    )
    assert result["records"][0]["fields"] == {"Key": "FEAT-103", "Status": "Blocked"}


def test_upsert_edge_cases(emu: AirtableEmulator, raw: Raw, expect_error: ErrorCheck) -> None:
    def upsert(records: list[dict], merge: list[str] | None = None) -> requests.Response:
        return raw("PATCH", WI, json={"records": records, "performUpsert": {"fieldsToMergeOn": merge or ["Type"]}})

    # Type "Feature" matches several records.
    expect_error(upsert([{"fields": {"Type": "Feature"}}]), 422, "INVALID_RECORDS")
    before = len(emu.records(SAMPLE_BASE_ID, "Work Items"))
    empty_key = upsert([{"fields": {"Name": "no key"}}], ["Key"]).json()  # empty key: created
    assert len(empty_key["createdRecords"]) == 1
    assert len(emu.records(SAMPLE_BASE_ID, "Work Items")) == before + 1
    expect_error(upsert([{"id": "recMissing0000001", "fields": {}}], ["Key"]), 422, "ROW_DOES_NOT_EXIST")
    with_id = upsert([{"id": "recWorkItem000108", "fields": {"Key": "FEAT-108b"}}], ["Key"]).json()
    assert with_id["updatedRecords"] == ["recWorkItem000108"]
    expect_error(upsert([{"fields": {"Key": "x"}}], ["Pull Request"]), 422, "INVALID_REQUEST_UNKNOWN")
    expect_error(upsert([{"fields": {"Key": "x"}}], ["Key", "Name", "Type", "Branch"]), 422, "INVALID_REQUEST_UNKNOWN")
    expect_error(upsert([{"fields": {"Key": "x"}}], ["Nope"]), 422, "UNKNOWN_FIELD_NAME")
    duplicates = upsert(
        [{"fields": {"Key": "FEAT-9", "Name": "a"}}, {"fields": {"Key": "FEAT-9", "Branch": "b"}}], ["Key"]
    ).json()
    assert len(duplicates["createdRecords"]) == 1  # later items see records created earlier
    assert duplicates["records"][1]["fields"] == {"Key": "FEAT-9", "Name": "a", "Branch": "b"}


# ----------------------------------------------------------------------------- delete


def test_delete_single_and_batch(emu: AirtableEmulator, work_items: Table, raw: Raw, expect_error: ErrorCheck) -> None:
    assert work_items.delete("recWorkItem000108") == {"deleted": True, "id": "recWorkItem000108"}
    result = work_items.batch_delete(["recWorkItem000106", "recWorkItem000107"])
    assert result == [
        {"deleted": True, "id": "recWorkItem000106"},
        {"deleted": True, "id": "recWorkItem000107"},
    ]
    assert emu.requests[-1].query == {"records[]": ["recWorkItem000106", "recWorkItem000107"]}
    expect_error(raw("DELETE", f"{WI}/recWorkItem000108"), 404, "MODEL_ID_NOT_FOUND")
    response = raw("DELETE", WI, params={"records[]": ["recWorkItem000105", "recMissing0000001"]})
    expect_error(response, 422, "ROW_DOES_NOT_EXIST")
    assert emu.record(SAMPLE_BASE_ID, "Work Items", "recWorkItem000105") is not None
    work_items.delete("recWorkItem000101")  # linked from the 1.4.0 release
    release = emu.records(SAMPLE_BASE_ID, "Releases")[0]
    assert release["fields"]["Work Items"] == ["recWorkItem000102"]


# ----------------------------------------------------------------------------- cells


def test_field_types_write_and_read(emu: AirtableEmulator, api: Api, kitchen) -> None:
    base_id, _, _ = kitchen
    parts = api.table(base_id, "Parts").batch_create([{"Part": "bolt", "Weight": 1.5}, {"Part": "nut", "Weight": 2}])
    table = api.table(base_id, "Kitchen Sink")
    record = table.create(
        {
            "Title": "Sink",
            "Notes": "line 1\nline 2",
            "Body": "# Head\n* item",
            "Email": "a@example.com",
            "Link": "https://example.com",
            "Phone": "+1 555",
            "Count": 3.0,
            "Price": 9.99,
            "Ratio": 0.5,
            "Done": False,
            "Color": "Red",
            "Tags": ["b", "a"],
            "Day": "2026-03-01",
            "When": "2026-03-01T12:30:00",
            "Parts": [p["id"] for p in parts],
        }
    )
    fields = record["fields"]
    assert fields["Body"] == "# Head\n- item\n"  # richText normalised (§1.4)
    assert fields["Count"] == 3 and isinstance(fields["Count"], int)
    assert "Done" not in fields  # false reads back empty
    assert fields["Tags"] == ["b", "a"]
    assert fields["When"] == "2026-03-01T11:30:00.000Z"  # zone-less: the field's time zone
    assert fields["Part Count"] == 2
    assert fields["Part Names"] == ["bolt", "nut"]
    assert fields["Total Weight"] == 3.5
    assert fields["Label"] == "Sink (3)"
    assert fields["Serial"] == 1
    assert TIMESTAMP.match(fields["Created"]) and TIMESTAMP.match(fields["Modified"])
    assert table.create({"Title": "second"})["fields"]["Serial"] == 2
    assert api.table(base_id, "Parts").get(parts[0]["id"])["fields"]["Used In"] == [record["id"]]
    cleared = table.update(record["id"], {"Body": None, "Parts": []})
    assert cleared["fields"]["Body"] == "\n"  # §1.5: cleared richText reads "\n"
    assert cleared["fields"]["Part Count"] == 0 and "Part Names" not in cleared["fields"]
    assert "Used In" not in api.table(base_id, "Parts").get(parts[0]["id"])["fields"]
    epoch = table.update(record["id"], {"When": 1640520000000})  # RECORDED: epoch ms accepted
    assert epoch["fields"]["When"] == "2021-12-26T12:00:00.000Z"


@pytest.mark.parametrize(
    ("field", "value", "error_type"),
    [
        ("Count", "42", "INVALID_VALUE_FOR_COLUMN"),
        ("Count", True, "INVALID_VALUE_FOR_COLUMN"),
        ("Title", 5, "INVALID_VALUE_FOR_COLUMN"),
        ("Done", "yes", "INVALID_VALUE_FOR_COLUMN"),
        ("Color", "Blue", "INVALID_MULTIPLE_CHOICE_OPTIONS"),
        ("Tags", ["a", "zzz"], "INVALID_MULTIPLE_CHOICE_OPTIONS"),
        ("Tags", "a", "INVALID_VALUE_FOR_COLUMN"),
        ("Day", "March 1st", "INVALID_VALUE_FOR_COLUMN"),
        ("When", "soon", "INVALID_VALUE_FOR_COLUMN"),
        ("Parts", ["recNopeNopeNope12"], "ROW_DOES_NOT_EXIST"),
        ("Parts", ["bolt"], "INVALID_VALUE_FOR_COLUMN"),
        ("Label", "x", "INVALID_VALUE_FOR_COLUMN"),
        ("Part Count", 1, "INVALID_VALUE_FOR_COLUMN"),
        ("Created", "2026-01-01", "INVALID_VALUE_FOR_COLUMN"),
        ("Modified", "2026-01-01", "INVALID_VALUE_FOR_COLUMN"),
        ("Total Weight", 1, "INVALID_VALUE_FOR_COLUMN"),
        ("Part Names", ["x"], "INVALID_VALUE_FOR_COLUMN"),
    ],
)
def test_invalid_cell_values(
    raw: Raw, kitchen, expect_error: ErrorCheck, field: str, value: object, error_type: str
) -> None:
    base_id, _, _ = kitchen
    response = raw("POST", f"/v0/{base_id}/Kitchen%20Sink", json={"fields": {field: value}})
    error = expect_error(response, 422, error_type)
    if field in ("Label", "Part Count", "Created", "Modified", "Total Weight", "Part Names"):
        assert error["message"] == f'Field "{field}" cannot accept a value because the field is computed'
    if error_type == "INVALID_MULTIPLE_CHOICE_OPTIONS":
        assert "select option" in error["message"]


def test_typecast_converts_and_adds_choices(emu: AirtableEmulator, api: Api, kitchen) -> None:
    base_id, _, _ = kitchen
    table = api.table(base_id, "Kitchen Sink")
    record = table.create(
        {
            "Title": 7,
            "Count": "42",
            "Done": "true",
            "Color": "Blue",
            "Tags": "a, d",
            "Parts": ["washer"],
        },
        typecast=True,
    )
    fields = record["fields"]
    assert fields["Title"] == "7" and fields["Count"] == 42 and fields["Done"] is True
    assert fields["Color"] == "Blue" and fields["Tags"] == ["a", "d"]
    assert fields["Part Names"] == ["washer"]  # typecast linked by primary value, creating it
    schema_fields = {f["name"]: f for f in emu.schema(base_id)["tables"][1]["fields"]}
    choices = schema_fields["Color"]["options"]["choices"]
    assert [c["name"] for c in choices] == ["Red", "Green", "Blue"]
    assert all(re.match(r"^sel[A-Za-z0-9]{14}$", c["id"]) for c in choices)
    assert table.schema().field("Tags").options.choices[-1].name == "d"


def test_last_modified_time_changes_on_write(emu: AirtableEmulator, kitchen) -> None:
    base_id, _, _ = kitchen
    (record_id,) = emu.add_records(base_id, "Kitchen Sink", [{"Title": "a"}])
    state = emu._state  # white box: pretend the record was written long ago
    table = state.table_or_raise(base_id, "Kitchen Sink")
    old = state.now().replace(year=2020)
    table.records[record_id].modified = {k: old for k in table.records[record_id].modified}
    assert emu.record(base_id, "Kitchen Sink", record_id)["fields"]["Modified"].startswith("2020-")
    Raw(emu.url, emu.add_token())("PATCH", f"/v0/{base_id}/Kitchen%20Sink/{record_id}", json={"fields": {"Title": "b"}})
    assert not emu.record(base_id, "Kitchen Sink", record_id)["fields"]["Modified"].startswith("2020-")


def test_content_type_on_success_and_error(raw: Raw) -> None:
    for response in (raw("GET", WI), raw("GET", f"{WI}/recMissing0000001")):
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_concurrent_writes_are_consistent(emu: AirtableEmulator, token: str) -> None:
    base_id = emu.add_base(name="Concurrency")
    emu.add_table(
        base_id, {"name": "T", "fields": [{"name": "N", "type": "number"}, {"name": "S", "type": "autoNumber"}]}
    )
    errors: list[Exception] = []

    def worker(offset: int) -> None:
        try:
            table = Api(token, endpoint_url=emu.url, retry_strategy=None).table(base_id, "T")
            for i in range(10):
                table.create({"N": offset * 100 + i})
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    records = emu.records(base_id, "T")
    assert len(records) == 80 and len({r["id"] for r in records}) == 80
    assert sorted(r["fields"]["S"] for r in records) == list(range(1, 81))


def test_url_and_body_size_limits(airtable_emulator_factory, expect_error: ErrorCheck) -> None:
    emu = airtable_emulator_factory(quirks=Quirks(max_body_bytes=1000))
    raw = Raw(emu.url, emu.add_token())
    long_formula = "OR(" + ",".join(f"{{Key}}='K-{n:05d}'" for n in range(1500)) + ")"
    expect_error(raw("GET", WI, params={"filterByFormula": long_formula}), 414, "URL_TOO_LONG")
    big = {"fields": {"Notes": "x" * 2000}}
    expect_error(raw("POST", f"/v0/{SAMPLE_BASE_ID}/Releases", json=big), 413, "REQUEST_TOO_LARGE")
    records = raw("GET", WI, params={"recordMetadata[]": "commentCount", "maxRecords": 1}).json()["records"]
    assert records[0]["commentCount"] == 0
