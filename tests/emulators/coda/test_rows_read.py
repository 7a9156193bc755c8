"""listRows and getRow: query, sorting, visibility, value formats, paging, sync tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest

from testkit.emulators.coda.emulator import CodaEmulator
from tests.emulators.coda.conftest import DOC, TABLE, Api

ROWS = "/docs/" + DOC + "/tables/" + TABLE + "/rows"


def _add_entries(emu: CodaEmulator, count: int) -> list[str]:
    return emu.add_rows(DOC, TABLE, [{"Entry Key": f"k{i}", "Release": "2.0.0", "Type": "fix"} for i in range(count)])


def test_default_listing_is_simple_and_keyed_by_column_id(api: Api, emu: CodaEmulator) -> None:
    body = api.get(ROWS).json()
    row = body["items"][0]
    assert row["values"][emu.column_id(DOC, TABLE, "Release")] == "1.0.0"
    assert row["name"] == "1.0.0/0000000000000000000000000000000000000000"
    assert row["id"].startswith("i-") and len(row["id"]) == 12
    assert "nextPageToken" not in body and "nextSyncToken" in body


def test_query_by_column_id_and_quoted_name(api: Api, emu: CodaEmulator) -> None:
    _add_entries(emu, 3)
    column_id = emu.column_id(DOC, TABLE, "Entry Key")
    by_id = api.rows(query=f'{column_id}:"k1"')
    by_name = api.rows(query='"Entry Key":"k1"')
    assert [r["values"]["Entry Key"] for r in by_id] == ["k1"]
    assert by_id == by_name
    assert len(api.rows(query='"Type":"fix"')) == 3
    assert len(api.rows(query='"Breaking":false')) == 4  # unset checkboxes read as false


@pytest.mark.parametrize("query", ['Entry Key:"k1"', '"Entry Key":k1', '"No such":1', "nonsense"])
def test_bad_queries_are_400(api: Api, query: str) -> None:
    reply = api.get(ROWS, params={"query": query})
    assert reply.status_code == 400
    assert "Invalid query" in reply.json()["message"]


def test_natural_sort_with_visible_only_false_is_400(api: Api) -> None:
    reply = api.get(ROWS, params={"sortBy": "natural", "visibleOnly": "false"})
    assert reply.status_code == 400
    assert reply.json()["message"].startswith("Natural sorting is only available for visible rows.")


def test_natural_sort_and_visible_only_hide_hidden_rows(api: Api, emu: CodaEmulator) -> None:
    emu.add_rows(DOC, TABLE, [{"Entry Key": "hidden", "_hidden": True}])
    assert len(api.rows()) == 2
    assert len(api.rows(sortBy="natural")) == 1
    assert len(api.rows(visibleOnly="true")) == 1


def test_sort_by_updated_at(api: Api, emu: CodaEmulator) -> None:
    _add_entries(emu, 3)
    first_id = api.rows()[1]["id"]
    api.wait(api.put(f"{ROWS}/{first_id}", json={"row": {"cells": [{"column": "Scope", "value": "x"}]}}))
    assert api.rows(sortBy="updatedAt")[-1]["id"] == first_id
    assert api.rows(sortBy="createdAt")[1]["id"] == first_id


def test_value_formats(api: Api, emu: CodaEmulator) -> None:
    emu.add_table(
        DOC,
        {
            "name": "Kinds",
            "columns": [
                {"name": "Text"},
                {"name": "Tags", "type": "select", "isArray": True},
                {"name": "Link", "type": "link"},
                {"name": "Price", "type": "currency", "format": {"currencyCode": "EUR"}},
                {"name": "Done", "type": "checkbox"},
                {"name": "Count", "type": "number"},
            ],
        },
    )
    emu.add_rows(
        DOC,
        "Kinds",
        [
            {
                "Text": "plain",
                "Tags": ["a", "b"],
                "Link": "https://x.test/",
                "Price": "12.50",
                "Done": True,
                "Count": "3",
            }
        ],
    )

    def values(fmt: str) -> dict[str, Any]:
        return api.rows("Kinds", valueFormat=fmt)[0]["values"]

    assert values("simple") == {
        "Text": "plain",
        "Tags": "a,b",
        "Link": "https://x.test/",
        "Price": 12.5,
        "Done": True,
        "Count": 3,
    }
    assert values("simpleWithArrays")["Tags"] == ["a", "b"]
    rich = values("rich")
    assert rich["Text"] == "```plain```"
    assert rich["Link"] == {
        "@context": "http://schema.org/",
        "@type": "WebPage",
        "name": "https://x.test/",
        "url": "https://x.test/",
    }
    assert rich["Price"]["@type"] == "MonetaryAmount" and rich["Price"]["currency"] == "EUR"
    assert rich["Tags"] == ["a", "b"] and rich["Done"] is True


def test_lookup_values_resolve_to_rows(api: Api, emu: CodaEmulator) -> None:
    emu.add_table(
        DOC, {"name": "Releases", "columns": [{"name": "Version"}, {"name": "Entry", "type": "lookup", "table": TABLE}]}
    )
    target = emu.row_ids(DOC, TABLE)[0]
    emu.add_rows(DOC, "Releases", [{"Version": "1.0.0", "Entry": target}])
    assert api.rows("Releases")[0]["values"]["Entry"] == "1.0.0/0000000000000000000000000000000000000000"
    rich = api.rows("Releases", valueFormat="rich")[0]["values"]["Entry"]
    assert (rich["@type"], rich["additionalType"], rich["rowId"]) == ("StructuredValue", "row", target)


def test_paging_token_carries_the_original_query(api: Api, emu: CodaEmulator) -> None:
    _add_entries(emu, 5)
    first = api.get(ROWS, params={"limit": 2, "query": '"Type":"fix"', "useColumnNames": "true"}).json()
    assert [r["values"]["Entry Key"] for r in first["items"]] == ["k0", "k1"]
    link = urlsplit(first["nextPageLink"])
    assert f"{link.scheme}://{link.netloc}" == urlsplit(api.base).scheme + "://" + urlsplit(api.base).netloc
    # Other parameters next to pageToken are ignored: limit, format and query stay those of page 1.
    second = api.get(
        ROWS, params={"pageToken": first["nextPageToken"], "limit": 1, "valueFormat": "rich", "query": '"Type":"feat"'}
    ).json()
    assert [r["values"]["Entry Key"] for r in second["items"]] == ["k2", "k3"]
    third = api.get(second["nextPageLink"]).json()
    assert [r["values"]["Entry Key"] for r in third["items"]] == ["k4"]
    assert "nextPageToken" not in third and "nextSyncToken" in third


@pytest.mark.coda_emulator(max_page_size=3)
def test_limit_is_clamped_silently(api: Api, emu: CodaEmulator) -> None:
    _add_entries(emu, 5)
    body = api.get(ROWS, params={"limit": 1000}).json()
    assert len(body["items"]) == 3 and "nextPageToken" in body


@pytest.mark.parametrize("param", ["pageToken", "syncToken"])
def test_invalid_tokens_are_400(api: Api, param: str) -> None:
    reply = api.get(ROWS, params={param: "garbage"})
    assert reply.status_code == 400
    assert reply.json()["message"] == "Invalid pageToken."


def test_page_token_of_another_table_is_rejected(api: Api, emu: CodaEmulator) -> None:
    _add_entries(emu, 3)
    token = api.get(ROWS, params={"limit": 1}).json()["nextPageToken"]
    emu.add_table(DOC, {"name": "Other", "columns": [{"name": "A"}]})
    assert api.get(f"/docs/{DOC}/tables/Other/rows", params={"pageToken": token}).status_code == 400


def test_sync_token_returns_changes_only(api: Api, emu: CodaEmulator) -> None:
    _add_entries(emu, 2)
    sync = api.get(ROWS, params={"useColumnNames": "true"}).json()["nextSyncToken"]
    assert api.get(ROWS, params={"syncToken": sync}).json()["items"] == []
    api.wait(api.upsert([{"Entry Key": "k1", "Scope": "changed"}], ["Entry Key"]))
    delta = api.get(ROWS, params={"syncToken": sync}).json()["items"]  # the token carries useColumnNames
    assert [r["values"]["Entry Key"] for r in delta] == ["k1"]


def test_get_row_by_id_and_by_name(api: Api, emu: CodaEmulator) -> None:
    row_id = _add_entries(emu, 1)[0]
    by_id = api.get(f"{ROWS}/{row_id}", params={"useColumnNames": "true"}).json()
    by_name = api.get(f"{ROWS}/k0", params={"useColumnNames": "true"}).json()
    assert by_id == by_name
    assert by_id["parent"]["id"] == emu.table_id(DOC, TABLE)
    assert by_id["index"] == 1


def test_unknown_row_is_404_with_the_real_message(api: Api) -> None:
    reply = api.get(f"{ROWS}/i-doesnotexi")
    assert reply.status_code == 404
    assert reply.json() == {
        "statusCode": 404,
        "statusMessage": "Not Found",
        "message": "Could not find a row with the specified ID or name.",
    }
