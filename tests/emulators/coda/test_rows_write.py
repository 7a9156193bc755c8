"""upsertRows, updateRow, deleteRows, deleteRow: async application, keyed upserts, size limits."""

from __future__ import annotations

import json
import re

import pytest

from testkit.emulators.coda.emulator import CodaEmulator
from tests.emulators.coda.conftest import DOC, TABLE, Api

ROWS = "/docs/" + DOC + "/tables/" + TABLE + "/rows"


def _keys(emu: CodaEmulator) -> list[str]:
    return [r["Entry Key"] for r in emu.rows(DOC, TABLE)]


def test_insert_returns_added_row_ids_in_request_order(api: Api, emu: CodaEmulator) -> None:
    reply = api.upsert([{"Entry Key": f"new{i}"} for i in range(4)])
    assert reply.status_code == 202
    body = reply.json()
    uuid4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(f"mutate:{uuid4}", body["requestId"])
    assert len(body["addedRowIds"]) == 4
    api.wait(reply)
    assert emu.row_ids(DOC, TABLE)[1:] == body["addedRowIds"]
    assert _keys(emu)[1:] == ["new0", "new1", "new2", "new3"]


@pytest.mark.coda_emulator(mutation_delay=60)
def test_reads_are_stale_until_the_mutation_is_applied(api: Api, emu: CodaEmulator) -> None:
    added = api.upsert([{"Entry Key": "late"}]).json()["addedRowIds"][0]
    assert len(api.rows()) == 1
    assert api.get(f"{ROWS}/{added}").status_code == 404
    assert len(emu.pending_mutations()) == 1
    emu.flush()
    assert api.get(f"{ROWS}/{added}").status_code == 200
    assert emu.pending_mutations() == []


def test_keyed_upsert_updates_every_matching_row(api: Api, emu: CodaEmulator) -> None:
    emu.add_rows(DOC, TABLE, [{"Entry Key": "dup", "Scope": "a"}, {"Entry Key": "dup", "Scope": "b"}])
    reply = api.upsert(
        [{"Entry Key": "dup", "Description": "both"}, {"Entry Key": "fresh", "Description": "new"}],
        key_columns=["Entry Key"],
    )
    assert reply.status_code == 202 and set(reply.json()) == {"requestId"}
    api.wait(reply)
    rows = emu.rows(DOC, TABLE)
    assert [(r["Entry Key"], r["Scope"], r["Description"]) for r in rows[1:]] == [
        ("dup", "a", "both"),
        ("dup", "b", "both"),
        ("fresh", "", "new"),
    ]


def test_keyed_upsert_matches_on_all_key_columns(api: Api, emu: CodaEmulator) -> None:
    emu.add_rows(DOC, TABLE, [{"Release": "1.0", "Entry Key": "x"}, {"Release": "2.0", "Entry Key": "x"}])
    api.wait(
        api.upsert(
            [
                {"Release": "2.0", "Entry Key": "x", "Scope": "hit"},
                {"Release": "3.0", "Entry Key": "x", "Scope": "new"},
            ],
            key_columns=["Release", "Entry Key"],
        )
    )
    rows = emu.rows(DOC, TABLE)[1:]
    assert [(r["Release"], r["Scope"]) for r in rows] == [("1.0", ""), ("2.0", "hit"), ("3.0", "new")]


def test_columns_by_id_name_or_url(api: Api, emu: CodaEmulator) -> None:
    column_id = emu.column_id(DOC, TABLE, "Scope")
    url = f"{emu.url}/docs/{DOC}/tables/{emu.table_id(DOC, TABLE)}/columns/{emu.column_id(DOC, TABLE, 'Commit')}"
    api.wait(api.upsert([{column_id: "by-id", "Entry Key": "by-name", url: "by-url"}]))
    row = emu.find_rows(DOC, TABLE, "Entry Key", "by-name")[0]
    assert (row["Scope"], row["Commit"]) == ("by-id", "by-url")


def test_values_are_parsed_by_column_type_unless_disabled(api: Api, emu: CodaEmulator) -> None:
    emu.add_table(
        DOC,
        {
            "name": "Numbers",
            "columns": [{"name": "Label"}, {"name": "N", "type": "number"}, {"name": "Flag", "type": "checkbox"}],
        },
    )
    api.wait(api.upsert([{"Label": "parsed", "N": "00123", "Flag": "true"}], table="Numbers"))
    api.wait(api.upsert([{"Label": "literal", "N": "00123"}], table="Numbers", disableParsing="true"))
    rows = emu.rows(DOC, "Numbers")
    assert (rows[0]["N"], rows[0]["Flag"], rows[1]["N"]) == (123, True, "00123")


@pytest.mark.coda_emulator(allow_spec_violations=True)
def test_object_values_are_400(api: Api, emu: CodaEmulator) -> None:
    body = {"rows": [{"cells": [{"column": "Entry Key", "value": {"@type": "WebPage", "url": "x"}}]}]}
    reply = api.post(ROWS, json=body)
    assert reply.status_code == 400
    assert any("upsertRows request body $.rows[0].cells[0].value" in v for v in emu.spec_violations)


def test_upsert_into_a_view_is_400(api: Api, emu: CodaEmulator) -> None:
    emu.add_table(DOC, {"name": "View", "view_of": TABLE})
    assert api.upsert([{"Entry Key": "v"}], table="View").status_code == 400


def test_row_over_85_kb_refuses_the_whole_batch(api: Api, emu: CodaEmulator) -> None:
    big = "é" * 44_000  # 88,000 UTF-8 bytes
    reply = api.upsert([{"Entry Key": "small"}, {"Entry Key": "big", "Description": big}])
    assert reply.status_code == 400
    assert reply.json()["message"] == "Row edit of size 86 KB exceeds maximum size of 85 KB."
    emu.flush()
    assert _keys(emu) == [_keys(emu)[0]]


def test_newlines_count_twice_toward_the_row_limit(api: Api) -> None:
    assert api.upsert([{"Description": "a" * 44_000}]).status_code == 202
    reply = api.upsert([{"Description": "\n" * 44_000}])
    assert reply.status_code == 400 and "exceeds maximum size of 85 KB" in reply.json()["message"]


def test_body_over_2_mb_is_400_request_entity_too_large(api: Api) -> None:
    rows = [{"cells": [{"column": "Description", "value": "x" * 60_000}]} for _ in range(40)]
    reply = api.post(ROWS, data=json.dumps({"rows": rows}), headers={"Content-Type": "application/json"})
    assert reply.status_code == 400
    assert reply.json()["message"] == "request entity too large"


def test_unknown_column_is_400_by_default(api: Api) -> None:
    reply = api.upsert([{"Entry Key": "k", "No such column": 1}])
    assert reply.status_code == 400 and "No such column" in reply.json()["message"]
    assert api.upsert([{"Entry Key": "k"}], key_columns=["Nope"]).status_code == 400


@pytest.mark.coda_emulator(unknown_column="warning")
def test_unknown_column_in_warning_mode(api: Api, emu: CodaEmulator) -> None:
    reply = api.upsert([{"Entry Key": "kept", "No such column": 1}])
    assert reply.status_code == 202
    assert "No such column" in api.wait(reply)["warning"]
    assert "kept" in _keys(emu)
    keyed = api.upsert([{"Entry Key": "never"}], key_columns=["Nope"])
    assert "Nope" in api.wait(keyed)["warning"]
    assert "never" not in _keys(emu)


def test_calculated_columns_are_not_written(api: Api, emu: CodaEmulator) -> None:
    emu.add_table(
        DOC, {"name": "Calc", "columns": [{"name": "A"}, {"name": "B", "calculated": True, "formula": "thisRow.A"}]}
    )
    status = api.wait(api.upsert([{"A": "x", "B": "y"}], table="Calc"))
    assert "calculated" in status["warning"]
    assert emu.rows(DOC, "Calc") == [{"A": "x", "B": ""}]


def test_key_column_missing_from_a_row_is_400(api: Api) -> None:
    assert api.upsert([{"Scope": "no key"}], key_columns=["Entry Key"]).status_code == 400


def test_update_row_and_delete_row(api: Api, emu: CodaEmulator) -> None:
    row_id = emu.add_rows(DOC, TABLE, [{"Entry Key": "target"}])[0]
    reply = api.put(f"{ROWS}/{row_id}", json={"row": {"cells": [{"column": "Scope", "value": "api"}]}})
    assert reply.status_code == 202 and reply.json()["id"] == row_id
    api.wait(reply)
    assert emu.find_rows(DOC, TABLE, "Entry Key", "target")[0]["Scope"] == "api"
    deleted = api.delete(f"{ROWS}/{row_id}")
    assert deleted.json()["id"] == row_id
    api.wait(deleted)
    assert "target" not in _keys(emu)
    assert api.delete(f"{ROWS}/{row_id}").status_code == 404
    assert api.put(f"{ROWS}/i-nosuchrowx", json={"row": {"cells": []}}).status_code == 404


def test_delete_rows_by_ids(api: Api, emu: CodaEmulator) -> None:
    ids = emu.add_rows(DOC, TABLE, [{"Entry Key": "a"}, {"Entry Key": "b"}, {"Entry Key": "c"}])
    reply = api.delete(ROWS, json={"rowIds": [ids[0], ids[2], "i-unknownrow"]})
    assert reply.status_code == 202 and reply.json()["rowIds"] == [ids[0], ids[2], "i-unknownrow"]
    api.wait(reply)
    assert _keys(emu)[1:] == ["b"]


@pytest.mark.coda_emulator(mutation_delay=60)
def test_mutations_apply_in_order_per_doc(api: Api, emu: CodaEmulator) -> None:
    api.upsert([{"Entry Key": "order", "Scope": "first"}], key_columns=["Entry Key"])
    api.upsert([{"Entry Key": "order", "Scope": "second"}], key_columns=["Entry Key"])
    emu.flush()
    assert [r["Scope"] for r in emu.find_rows(DOC, TABLE, "Entry Key", "order")] == ["second"]
