"""filterByFormula: the parser/evaluator on its own, and through pyairtable over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pyairtable import Api
from pyairtable.api.table import Table
from pyairtable.formulas import EQ, OR, Field, match

from testkit.emulators.airtable import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID
from testkit.emulators.airtable.formula import (
    EvalContext,
    EvalError,
    FormulaError,
    compile_formula,
    evaluate,
    is_truthy,
    tokenize,
)

from .conftest import ErrorCheck, Raw

FIELDS = {"Key": "fldKey", "N": "fldN", "Empty": "fldEmpty", "a}b": "fldBrace", "When": "fldWhen"}
VALUES: dict[str, Any] = {
    "fldKey": "FEAT-1",
    "fldN": 3,
    "fldEmpty": None,
    "fldBrace": "brace",
    "fldWhen": datetime(2026, 1, 2, tzinfo=UTC),
}


def run(text: str) -> Any:
    formula = compile_formula(text, FIELDS.get)
    return evaluate(formula, EvalContext(VALUES.__getitem__, record_id="recA"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("OR({Key}='FEAT-1',{Key}='FEAT-2')", True),
        ("AND({Key}='FEAT-1', {N}=3)", True),
        ("NOT({N}>5)", True),
        ("RECORD_ID()='recA'", True),
        ("OR(RECORD_ID()='recB', RECORD_ID()=\"recC\")", False),
        ("LOWER({Key})='feat-1'", True),
        ("{Key}='feat-1'", False),  # = is case-sensitive
        ("{a\\}b}='brace'", True),  # \} escapes a brace in a field name
        ('\'it\\\'s \' & "a \\"q\\""', 'it\'s a "q"'),
        ("'back\\\\slash'", "back\\slash"),
        ("{Key} & '-' & {N}", "FEAT-1-3"),
        ("{N} * 2 + 1 - 4 / 2", 5),
        ("-{N}", -3),
        ("{Empty}=''", True),
        ("{Empty}=BLANK()", True),
        ("{Empty}='x'", False),
        ("{N}!=3", False),
        ("{N}='3'", True),
        ("TRUE()", True),
        ("FALSE", False),
        ("IF({N}>2, 'big', 'small')", "big"),
        ("{When}=DATETIME_PARSE('2026-01-02')", True),
        ("IS_BEFORE({When}, '2026-02-01')", True),
        ("FIND('EAT', {Key})", 2),
        ("LEN({Key})", 6),
        ("ISERROR(1/0)", True),
        ("sum(1, 2, 3)", 6),
    ],
)
def test_evaluator(text: str, expected: Any) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{Nope}='x'", "Unknown field names: Nope"),
        ("OR({Nope}=1, {Other}=2)", "Unknown field names: Nope, Other"),
        ("FROBNICATE(1)", "Unknown function names: FROBNICATE"),
        ("OR(", "Invalid formula. Please check your formula text."),
        ("{Key}='open", "Invalid formula. Please check your formula text."),
        ("{Key", "Invalid formula. Please check your formula text."),
        ("NOT()", "Invalid formula. Please check your formula text."),
        ("1 2", "Invalid formula. Please check your formula text."),
        ("{Key} ? 1", "Invalid formula. Please check your formula text."),
        ("unknown_name", "Invalid formula. Please check your formula text."),
    ],
)
def test_compile_errors(text: str, message: str) -> None:
    with pytest.raises(FormulaError) as info:
        compile_formula(text, FIELDS.get)
    assert str(info.value) == message


def test_runtime_errors_and_truthiness() -> None:
    with pytest.raises(EvalError):
        run("1/0")
    assert [is_truthy(v) for v in (0, 0.0, "", None, False, [], float("nan"))] == [False] * 7
    assert [is_truthy(v) for v in (1, "x", True, ["a"])] == [True] * 4
    assert [t.kind for t in tokenize("{A}='b'")] == ["field", "op", "string", "end"]


def test_pyairtable_formula_output_is_understood(work_items: Table) -> None:
    found = work_items.all(formula=match({"Key": "FEAT-103", "Type": "Bug"}))
    assert [r["id"] for r in found] == ["recWorkItem000103"]
    keys = OR(*(EQ(Field("Key"), f"FEAT-{n}") for n in (101, 105, 999)))
    assert [r["fields"]["Key"] for r in work_items.all(formula=keys)] == ["FEAT-101", "FEAT-105"]
    assert work_items.all(formula=match({"Name": "Bob's \\ thing"})) == []
    assert work_items.first(formula="{fldWIKey000000000}='FEAT-104'")["id"] == "recWorkItem000104"
    assert len(work_items.all(formula="AND({Status}!='Released', NOT({Type}='Feature'))")) == 3


def test_formula_field_values_with_quotes(emu: AirtableEmulator, api: Api) -> None:
    base_id = emu.add_base(name="Quotes")
    emu.add_table(
        base_id,
        {"name": "T", "fields": [{"name": "Commit", "type": "singleLineText"}, {"name": "Build #", "type": "number"}]},
    )
    emu.add_records(base_id, "T", [{"Commit": "abc'123", "Build #": 42}, {"Commit": "abc'123", "Build #": 7}])
    formula = match({"Commit": "abc'123", "Build #": 42})
    assert str(formula) == "AND({Commit}='abc\\'123', {Build #}=42)"
    assert [r["fields"]["Build #"] for r in api.table(base_id, "T").all(formula=formula)] == [42]


def test_hundred_record_ids_via_get(emu: AirtableEmulator, work_items: Table) -> None:
    wanted = ["recWorkItem000102", "recWorkItem000107"]
    ids = wanted + [f"recFake{n:010d}" for n in range(98)]
    text = "OR(" + ",".join(f"RECORD_ID()='{rid}'" for rid in ids) + ")"
    emu.reset_log()
    records = work_items.all(formula=text)
    assert sorted(r["id"] for r in records) == wanted
    assert [e.method for e in emu.requests] == ["GET"]
    assert len(text) > 3000


def test_long_formula_switches_to_post_list_records(emu: AirtableEmulator, work_items: Table) -> None:
    keys = [f"FEAT-{n}" for n in range(101, 104)] + [f"NOPE-{n:05d}-padding-padding" for n in range(600)]
    formula = OR(*(EQ(Field("Key"), key) for key in keys))
    emu.reset_log()
    records = work_items.all(formula=formula, page_size=2, fields=["Key"], sort=["-Key"])
    assert [r["fields"] for r in records] == [{"Key": "FEAT-103"}, {"Key": "FEAT-102"}, {"Key": "FEAT-101"}]
    posts = emu.requests
    assert [(e.method, e.path.endswith("/listRecords")) for e in posts] == [("POST", True)] * 2
    assert posts[0].body["sort"] == [{"field": "Key", "direction": "desc"}]
    assert "offset" not in posts[0].body and posts[1].body["offset"]


def test_post_list_records_directly(raw: Raw, expect_error: ErrorCheck) -> None:
    path = f"/v0/{SAMPLE_BASE_ID}/Work%20Items/listRecords"
    body = raw(
        "POST", path, json={"filterByFormula": "{Type}='Feature'", "maxRecords": 3, "returnFieldsByFieldId": True}
    ).json()
    assert len(body["records"]) == 3 and "offset" not in body
    assert "fldWIKey000000000" in body["records"][0]["fields"]
    expect_error(raw("POST", path, json={"pageSize": 1, "bogus": 1}), 422, "INVALID_REQUEST_UNKNOWN")
    expect_error(raw("POST", path, json={"fields": ["Nope"]}), 422, "UNKNOWN_FIELD_NAME")


def test_invalid_formulas_over_http(raw: Raw, expect_error: ErrorCheck) -> None:
    path = f"/v0/{SAMPLE_BASE_ID}/Work%20Items"
    error = expect_error(raw("GET", path, params={"filterByFormula": "{Nope}='x'"}), 422, "INVALID_FILTER_BY_FORMULA")
    assert error["message"] == "The formula for filtering records is invalid: Unknown field names: Nope"
    error = expect_error(raw("GET", path, params={"filterByFormula": "OR({Key}="}), 422, "INVALID_FILTER_BY_FORMULA")
    assert error["message"].startswith("The formula for filtering records is invalid: ")
