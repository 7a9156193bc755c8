"""Tokens, scopes, granted bases, 401/403/404 bodies, whoami and the Meta API."""

from __future__ import annotations

import pytest
import requests
from pyairtable import Api

from testkit.emulators.airtable import AirtableEmulator, Quirks
from testkit.emulators.airtable.errors import INVALID_PERMISSIONS_MESSAGE
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READONLY_TOKEN

from .conftest import ErrorCheck, Raw

WI = f"/v0/{SAMPLE_BASE_ID}/Work%20Items"
AUTH_REQUIRED = {"error": {"type": "AUTHENTICATION_REQUIRED", "message": "Authentication required"}}
FORBIDDEN = {"error": {"type": "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", "message": INVALID_PERMISSIONS_MESSAGE}}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-registered"}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer "}],
)
def test_missing_or_unknown_token_is_401(emu: AirtableEmulator, headers: dict[str, str]) -> None:
    response = requests.get(emu.url + WI, headers=headers, timeout=5)
    assert response.status_code == 401
    assert response.json() == AUTH_REQUIRED
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_whoami_never_returns_scopes(emu: AirtableEmulator) -> None:
    plain = emu.add_token(scopes=[], email="hidden@example.com", user_id="usrPlainUser00001")
    assert Api(plain, endpoint_url=emu.url).whoami() == {"id": "usrPlainUser00001"}
    with_email = emu.add_token(scopes=["user.email:read"], email="me@example.com")
    me = Api(with_email, endpoint_url=emu.url).whoami()
    assert set(me) == {"id", "email"} and me["email"] == "me@example.com"
    assert me["id"].startswith("usr") and len(me["id"]) == 17


def test_missing_scope_is_403(emu: AirtableEmulator, expect_error: ErrorCheck) -> None:
    reader = Raw(emu.url, SAMPLE_READONLY_TOKEN)
    assert reader("GET", WI).status_code == 200
    response = reader("POST", WI, json={"fields": {"Key": "x"}})
    assert response.status_code == 403 and response.json() == FORBIDDEN
    expect_error(
        reader("GET", f"/v0/meta/bases/{SAMPLE_BASE_ID}/tables"), 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND"
    )
    expect_error(reader("GET", "/v0/meta/bases"), 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND")
    writer_only = Raw(emu.url, emu.add_token(scopes=["data.records:write"]))
    expect_error(writer_only("GET", WI), 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND")
    post_list = writer_only("POST", WI + "/listRecords", json={})
    expect_error(post_list, 403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND")  # a read, despite POST


def test_base_not_granted_unknown_table_and_unknown_base(emu: AirtableEmulator, raw: Raw) -> None:
    other_base = emu.add_base(name="Other")
    emu.add_table(other_base, {"name": "T", "fields": [{"name": "A", "type": "singleLineText"}]})
    limited = Raw(emu.url, emu.add_token(bases=[SAMPLE_BASE_ID]))
    assert limited("GET", f"/v0/{other_base}/T").json() == FORBIDDEN
    assert limited("GET", f"/v0/{SAMPLE_BASE_ID}/Nope").status_code == 403
    assert raw("GET", f"/v0/{SAMPLE_BASE_ID}/tblNopeNopeNope12").json() == FORBIDDEN
    unknown_base = raw("GET", "/v0/appNopeNopeNope12/Work%20Items")
    assert unknown_base.status_code == 404 and unknown_base.json() == {"error": "NOT_FOUND"}
    invalid_path = raw("GET", "/v0/too/many/path/parts/here")
    assert invalid_path.status_code == 404 and invalid_path.json() == {"error": "NOT_FOUND"}


@pytest.mark.parametrize(
    ("quirks", "status", "body"),
    [
        (Quirks(unknown_base="typed404"), 404, {"error": {"type": "NOT_FOUND"}}),
        (Quirks(unknown_base="403"), 403, FORBIDDEN),
        (Quirks(unknown_table="404"), 404, {"error": "NOT_FOUND"}),
    ],
)
def test_not_found_styles_are_configurable(airtable_emulator_factory, quirks: Quirks, status: int, body: dict) -> None:
    emu = airtable_emulator_factory(quirks=quirks)
    path = "/v0/appNopeNopeNope12/T" if quirks.unknown_base != "bare404" else f"/v0/{SAMPLE_BASE_ID}/Nope"
    response = Raw(emu.url, emu.add_token())("GET", path)
    assert (response.status_code, response.json()) == (status, body)


def test_read_only_role_cannot_write(emu: AirtableEmulator, expect_error: ErrorCheck) -> None:
    viewer = Raw(emu.url, emu.add_token(permission_level="read"))
    assert viewer("GET", WI).status_code == 200
    error = expect_error(viewer("POST", WI, json={"fields": {}}), 403, "INVALID_PERMISSIONS")
    assert error["message"] == "You are not permitted to create records in table Work Items (tblWorkItems00001)"
    expect_error(viewer("DELETE", WI + "/recWorkItem000101"), 403, "INVALID_PERMISSIONS")
    assert emu.record(SAMPLE_BASE_ID, "Work Items", "recWorkItem000101") is not None


def test_meta_bases_lists_granted_bases(emu: AirtableEmulator, token: str) -> None:
    hidden = emu.add_base(name="Hidden")
    limited = emu.add_token(bases=[SAMPLE_BASE_ID])
    assert Raw(emu.url, limited)("GET", "/v0/meta/bases").json() == {
        "bases": [{"id": SAMPLE_BASE_ID, "name": "Product", "permissionLevel": "create"}]
    }
    every = Raw(emu.url, token)("GET", "/v0/meta/bases").json()["bases"]
    assert [b["id"] for b in every] == [SAMPLE_BASE_ID, hidden]
    base = Api(limited, endpoint_url=emu.url).base(SAMPLE_BASE_ID, validate=True)
    assert base.name == "Product"


@pytest.mark.parametrize("include", ["include", "include[]"])
def test_schema_include_visible_field_ids(raw: Raw, include: str) -> None:
    path = f"/v0/meta/bases/{SAMPLE_BASE_ID}/tables"
    with_ids = raw("GET", path, params={include: "visibleFieldIds"}).json()
    view = with_ids["tables"][0]["views"][0]
    assert view["type"] == "grid" and view["visibleFieldIds"][0] == "fldWIName00000000"
    assert "visibleFieldIds" not in raw("GET", path).json()["tables"][0]["views"][0]


def test_schema_parses_in_pyairtable(emu: AirtableEmulator, api: Api, kitchen) -> None:
    base_id, kitchen_id, parts_id = kitchen
    schema = api.base(base_id).schema()
    assert [t.id for t in schema.tables] == [parts_id, kitchen_id]
    table = schema.table("Kitchen Sink")
    assert table.primary_field_id == table.field("Title").id
    assert table.field("Parts").options.linked_table_id == parts_id
    assert table.field("Parts").options.inverse_link_field_id == schema.table("Parts").field("Used In").id
    assert table.field("When").options.time_zone == "Europe/Berlin"
    assert [c.name for c in table.field("Color").options.choices] == ["Red", "Green"]
    assert table.field("Part Count").options.record_link_field_id == table.field("Parts").id
    sample = api.base(SAMPLE_BASE_ID).schema().table("Releases")
    assert sample.field("Work Items").options.linked_table_id == "tblWorkItems00001"
    assert api.table(SAMPLE_BASE_ID, "Work Items").schema().field("Status").type == "singleSelect"
    assert emu.requests[-1].query == {"include": ["visibleFieldIds"]}
