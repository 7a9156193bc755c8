"""whoami, docs, resolveBrowserLink, tables and columns."""

from __future__ import annotations

import re

import pytest

from testkit.emulators.coda.emulator import CodaEmulator
from tests.emulators.coda.conftest import DOC, PAGE, TABLE, Api


def test_whoami_describes_the_token_owner(api: Api, emu: CodaEmulator) -> None:
    body = api.get("/whoami").json()
    assert body["loginId"] == "user@example.com"
    assert body["type"] == "user"
    assert body["scoped"] is False
    assert body["href"] == f"{emu.url}/whoami"
    assert re.fullmatch(r"ws-[\w-]{10}", body["workspace"]["id"])


def test_base_url_and_absolute_links(emu: CodaEmulator) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/apis/v1", emu.url)


def test_get_doc_and_list_docs(api: Api) -> None:
    doc = api.get(f"/docs/{DOC}").json()
    assert (doc["id"], doc["name"], doc["type"]) == (DOC, "Release Notes", "doc")
    assert doc["browserLink"] == f"https://coda.io/d/_d{DOC}"
    listed = api.get("/docs").json()["items"]
    assert [d["id"] for d in listed] == [DOC]


def test_unknown_doc_is_404(api: Api) -> None:
    reply = api.get("/docs/NoSuchDoc0/tables")
    assert reply.status_code == 404
    assert set(reply.json()) == {"statusCode", "statusMessage", "message"}


def test_list_tables_with_types_and_sort(api: Api, emu: CodaEmulator) -> None:
    emu.add_table(DOC, {"name": "Archive view", "view_of": TABLE})
    emu.add_table(DOC, {"name": "Aardvarks", "columns": [{"name": "Name"}]})
    all_tables = api.get(f"/docs/{DOC}/tables").json()["items"]
    assert [t["name"] for t in all_tables] == [TABLE, "Archive view", "Aardvarks"]
    assert re.fullmatch(r"grid-[\w-]{10}", all_tables[0]["id"])
    assert re.fullmatch(r"table-[\w-]{10}", all_tables[1]["id"])
    only_views = api.get(f"/docs/{DOC}/tables", params={"tableTypes": "view"}).json()["items"]
    assert [t["tableType"] for t in only_views] == ["view"]
    by_name = api.get(f"/docs/{DOC}/tables", params={"sortBy": "name"}).json()["items"]
    assert [t["name"] for t in by_name] == ["Aardvarks", "Archive view", TABLE]


def test_get_table_by_id_and_by_name(api: Api, emu: CodaEmulator) -> None:
    table_id = emu.table_id(DOC, TABLE)
    by_id = api.get(f"/docs/{DOC}/tables/{table_id}").json()
    by_name = api.get(f"/docs/{DOC}/tables/{TABLE}").json()
    assert by_id == by_name
    assert by_id["rowCount"] == 1
    assert by_id["displayColumn"]["id"] == emu.column_id(DOC, TABLE, "Entry Key")
    assert by_id["parent"]["name"] == TABLE  # a table without a page gets its own page


def test_view_has_parent_table(api: Api, emu: CodaEmulator) -> None:
    view_id = emu.add_table(DOC, {"name": "Recent", "view_of": TABLE})
    view = api.get(f"/docs/{DOC}/tables/{view_id}").json()
    assert view["tableType"] == "view"
    assert view["parentTable"]["id"] == emu.table_id(DOC, TABLE)
    assert len(api.rows("Recent")) == 1  # a view reads its base table's rows


def test_list_columns_pages_and_visible_only(api: Api, emu: CodaEmulator) -> None:
    emu.add_table(DOC, {"name": "Wide", "columns": [{"name": f"C{i}", "hidden": i == 4} for i in range(5)]})
    first = api.get(f"/docs/{DOC}/tables/Wide/columns", params={"limit": 3}).json()
    assert [c["name"] for c in first["items"]] == ["C0", "C1", "C2"]
    second = api.get(first["nextPageLink"]).json()
    assert [c["name"] for c in second["items"]] == ["C3", "C4"]
    assert "nextPageToken" not in second
    visible = api.get(f"/docs/{DOC}/tables/Wide/columns", params={"visibleOnly": "true"}).json()["items"]
    assert [c["name"] for c in visible] == ["C0", "C1", "C2", "C3"]


def test_column_formats_and_get_column(api: Api, emu: CodaEmulator) -> None:
    columns = {c["name"]: c for c in api.get(f"/docs/{DOC}/tables/{TABLE}/columns").json()["items"]}
    assert columns["Breaking"]["format"] == {"type": "checkbox", "isArray": False, "displayType": "check"}
    assert columns["Entry Key"]["display"] is True
    assert re.fullmatch(r"c-[\w-]{10}", columns["Type"]["id"])
    detail = api.get(f"/docs/{DOC}/tables/{TABLE}/columns/{columns['Type']['id']}").json()
    assert detail["parent"]["name"] == TABLE
    assert api.get(f"/docs/{DOC}/tables/{TABLE}/columns/Entry%20Key").json()["id"] == columns["Entry Key"]["id"]
    missing = api.get(f"/docs/{DOC}/tables/{TABLE}/columns/Nope")
    assert missing.status_code == 404


def test_lookup_column_format_names_its_table(api: Api, emu: CodaEmulator) -> None:
    emu.add_table(
        DOC, {"name": "Releases", "columns": [{"name": "Version"}, {"name": "Notes", "type": "lookup", "table": TABLE}]}
    )
    columns = api.get(f"/docs/{DOC}/tables/Releases/columns").json()["items"]
    assert columns[1]["format"]["table"]["name"] == TABLE


@pytest.mark.parametrize("kind", ["doc", "page", "table", "row"])
def test_resolve_browser_link(api: Api, emu: CodaEmulator, kind: str) -> None:
    table = api.get(f"/docs/{DOC}/tables/{TABLE}").json()
    page = api.get(f"/docs/{DOC}/pages/{PAGE}").json()
    row = api.rows()[0]
    link = {
        "doc": f"https://coda.io/d/_d{DOC}",
        "page": page["browserLink"],
        "table": table["browserLink"],
        "row": row["browserLink"],
    }[kind]
    body = api.get("/resolveBrowserLink", params={"url": link}).json()
    expected = {"doc": DOC, "page": page["id"], "table": table["id"], "row": row["id"]}[kind]
    assert (body["type"], body["resource"]["type"], body["resource"]["id"]) == ("apiLink", kind, expected)


def test_resolve_browser_link_errors_and_degrading(api: Api, emu: CodaEmulator) -> None:
    assert api.get("/resolveBrowserLink", params={"url": "https://example.com/x"}).status_code == 400
    assert api.get("/resolveBrowserLink", params={"url": "https://coda.io/d/_dUnknown123"}).status_code == 404
    gone = f"https://coda.io/d/_d{DOC}/#Changelog_tNoSuchTabl"
    assert api.get("/resolveBrowserLink", params={"url": gone}).status_code == 404
    degraded = api.get("/resolveBrowserLink", params={"url": gone, "degradeGracefully": "true"}).json()
    assert degraded["resource"]["type"] == "doc"
