"""pyairtable 3.5 (the pipe's Airtable client) end to end against the Airtable emulator, errors included.

The same ground as tests/clients/test_airtable_js.py, through pyairtable's public API only.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from pyairtable import Api
from pyairtable.api.table import Table
from pyairtable.formulas import EQ, OR, Field

from testkit.emulators.airtable.emulator import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READONLY_TOKEN

TABLE = "Work Items"


@pytest.fixture
def emu(airtable_emulator: AirtableEmulator) -> AirtableEmulator:
    airtable_emulator.reset_log()
    return airtable_emulator


@pytest.fixture
def table(emu: AirtableEmulator) -> Table:
    return Api(emu.add_token(), endpoint_url=emu.url, retry_strategy=None, timeout=(5, 10)).table(SAMPLE_BASE_ID, TABLE)


def airtable_error(info: pytest.ExceptionInfo[requests.HTTPError]) -> tuple[int, str]:
    """(status, the error dict pyairtable appends to the exception's args as a repr)."""
    response = info.value.response
    assert response is not None
    return response.status_code, str(info.value.args[-1])


def test_list_with_formula_fields_sort_and_paging(table: Table, emu: AirtableEmulator) -> None:
    formula = OR(EQ(Field("Key"), "FEAT-101"), EQ(Field("Key"), "FEAT-104"), EQ(Field("Key"), "FEAT-107"))
    records = table.all(formula=formula, fields=["Key"], sort=["-Key"], page_size=2)
    assert [r["fields"] for r in records] == [{"Key": "FEAT-107"}, {"Key": "FEAT-104"}, {"Key": "FEAT-101"}]
    assert [bool(r.param("offset")) for r in emu.requests] == [False, True]
    assert [len(page) for page in table.iterate(page_size=3)] == [3, 3, 2]


def test_batch_create_update_and_upsert(table: Table, emu: AirtableEmulator) -> None:
    created = table.batch_create([{"Key": f"PY-{i}", "Name": f"n{i}"} for i in range(12)])
    assert [r["fields"]["Key"] for r in created] == [f"PY-{i}" for i in range(12)]
    assert [len(r.body["records"]) for r in emu.requests] == [10, 2]  # pyairtable chunks by ten
    updated = table.batch_update([{"id": created[0]["id"], "fields": {"Branch": "b"}}])
    assert updated[0]["fields"] == {"Key": "PY-0", "Name": "n0", "Branch": "b"}
    upserted = table.batch_upsert(
        [{"fields": {"Key": "PY-1", "Branch": "up"}}, {"fields": {"Key": "PY-new", "Name": "fresh"}}],
        key_fields=["Key"],
    )
    assert upserted["updatedRecords"] == [created[1]["id"]]
    assert len(upserted["createdRecords"]) == 1
    assert (emu.record(SAMPLE_BASE_ID, TABLE, created[1]["id"]) or {}).get("fields", {}).get("Branch") == "up"


@pytest.mark.parametrize(
    ("call", "status", "error_type"),
    [
        (lambda t: t.create({"Nope": 1}), 422, "UNKNOWN_FIELD_NAME"),
        (lambda t: t.all(formula="{Nope}='x'"), 422, "INVALID_FILTER_BY_FORMULA"),
        (lambda t: t.all(fields=["Nope"]), 422, "UNKNOWN_FIELD_NAME"),
        (lambda t: t.batch_update([{"id": "recDoesNotExist01", "fields": {"Name": "x"}}]), 422, "ROW_DOES_NOT_EXIST"),
        (lambda t: t.update("recDoesNotExist01", {"Name": "x"}), 404, "MODEL_ID_NOT_FOUND"),
        (lambda t: t.batch_upsert([{"fields": {"Nope": "x"}}], key_fields=["Nope"]), 422, "UNKNOWN_FIELD_NAME"),
        (lambda t: t.create({"Status": "Nonsense"}), 422, "INVALID_MULTIPLE_CHOICE_OPTIONS"),
    ],
)
def test_errors_reach_the_caller_with_airtables_type(
    table: Table, emu: AirtableEmulator, call: Any, status: int, error_type: str
) -> None:
    before = emu.records(SAMPLE_BASE_ID, TABLE)
    with pytest.raises(requests.HTTPError) as info:
        call(table)
    got_status, detail = airtable_error(info)
    assert (got_status, error_type in detail) == (status, True), detail
    assert emu.records(SAMPLE_BASE_ID, TABLE) == before


def test_read_only_token_cannot_write(emu: AirtableEmulator) -> None:
    table = Api(SAMPLE_READONLY_TOKEN, endpoint_url=emu.url, retry_strategy=None).table(SAMPLE_BASE_ID, TABLE)
    assert len(table.all(max_records=1)) == 1
    with pytest.raises(requests.HTTPError) as info:
        table.create({"Name": "x"})
    assert airtable_error(info)[0] == 403
