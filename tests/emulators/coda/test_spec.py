"""The OpenAPI contract: pre-processing, request validation and response validation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.spec import SPEC_ENV, SpecContract, default_spec_path, load_contract
from tests.emulators.coda.conftest import DOC, TABLE, Api

REPO = Path(__file__).resolve().parents[3]
ROWS = f"/docs/{DOC}/tables/{TABLE}/rows"


@pytest.fixture(scope="module")
def contract() -> SpecContract:
    return load_contract(str(default_spec_path()))


def test_spec_location_and_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(SPEC_ENV, raising=False)
    assert default_spec_path() == REPO / "testkit" / "specs" / "coda-openapi-1.5.0.json"
    assert default_spec_path().is_file()  # shipped in the repository: a bare clone needs nothing beside it
    monkeypatch.setenv(SPEC_ENV, str(tmp_path / "missing.json"))
    assert default_spec_path() == tmp_path / "missing.json"
    with pytest.raises(FileNotFoundError, match=SPEC_ENV):
        load_contract(str(default_spec_path()))


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ("RowsUpsertResult", {"requestId": "mutate:1", "addedRowIds": ["i-1"]}),  # allOf + additionalProperties
        ("PageUpdateResult", {"requestId": "mutate:1", "id": "canvas-1"}),
        ("MutationStatus", {"completed": False, "warning": None}),  # null warning observed live
        (
            "PageUpdate",
            {"contentUpdate": {"insertionMode": "append", "canvasContent": {"format": "html", "content": ""}}},
        ),
        (
            "Column",
            {
                "id": "c-1",
                "type": "column",
                "href": "https://x.test/c",
                "name": "N",
                "format": {"type": "number", "isArray": False, "precision": 2},
            },
        ),
    ],
)
def test_pre_processed_spec_accepts_valid_instances(contract: SpecContract, schema: str, instance: Any) -> None:
    assert contract.validate_schema(schema, instance) == []


@pytest.mark.parametrize(
    ("schema", "instance", "fragment"),
    [
        ("RowsUpsertResult", {"requestId": "mutate:1", "extra": 1}, "'extra' was unexpected"),
        (
            "Column",
            {
                "id": "c-1",
                "type": "column",
                "href": "https://x.test/c",
                "name": "N",
                "format": {"type": "text", "isArray": False, "precision": 2},
            },
            "'precision' was unexpected",
        ),
        (
            "Column",
            {
                "id": "c-1",
                "type": "column",
                "href": "https://x.test/c",
                "name": "N",
                "format": {"type": "checkbox", "isArray": False},
            },
            "'displayType' is a required property",
        ),
        ("RowsUpsert", {"rows": [], "rowIds": ["i-1"]}, "'rowIds' was unexpected"),
        (
            "Row",
            {
                "id": "i-1",
                "type": "row",
                "href": "relative",
                "name": "",
                "index": 0,
                "browserLink": "https://x.test",
                "createdAt": "2020-01-01T00:00:00Z",
                "updatedAt": "2020-01-01T00:00:00Z",
                "values": {},
            },
            "not a 'url'",
        ),
    ],
)
def test_pre_processed_spec_still_rejects_invalid_instances(
    contract: SpecContract, schema: str, instance: Any, fragment: str
) -> None:
    problems = contract.validate_schema(schema, instance)
    assert any(fragment in p for p in problems), problems


def test_operations_are_matched_with_decoded_path_parameters(contract: SpecContract) -> None:
    match = contract.match("GET", "/docs/d1/tables/A%2FB/rows/i-1")
    assert match is not None
    assert (match.operation.operation_id, match.path_params) == (
        "getRow",
        {"docId": "d1", "tableIdOrName": "A/B", "rowIdOrName": "i-1"},
    )
    assert contract.match("PATCH", "/whoami") is None and contract.path_exists("/whoami")


def test_invalid_query_parameter_is_recorded_and_answered_400(api: Api, emu: CodaEmulator) -> None:
    reply = api.get(ROWS, params={"valueFormat": "fancy"})
    assert reply.status_code == 400
    assert emu.take_spec_violations() == [
        "listRows request query.valueFormat: 'fancy' is not one of ['simple', 'simpleWithArrays', 'rich']"
    ]


@pytest.mark.parametrize(
    ("spelling", "names"),
    [("true", True), ("True", True), ("TRUE", True), ("1", True)] + [("false", False), ("False", False), ("0", False)],
)
def test_query_booleans_in_any_case_or_as_digits_by_default(api: Api, spelling: str, names: bool) -> None:
    # codaio sends Python's str(bool): useColumnNames=True / False. The real spelling rules are unknown.
    reply = api.get(ROWS, params={"useColumnNames": spelling})
    assert reply.status_code == 200, reply.text
    assert ("Entry Key" in reply.json()["items"][0]["values"]) is names  # no violation is recorded either


def test_query_boolean_that_is_no_boolean_is_400(api: Api, emu: CodaEmulator) -> None:
    assert api.get(ROWS, params={"useColumnNames": "yes"}).status_code == 400
    assert emu.take_spec_violations() == ["listRows request query.useColumnNames: 'yes' is not of type 'boolean'"]


@pytest.mark.coda_emulator(query_booleans="strict")
def test_strict_query_booleans_option(api: Api, emu: CodaEmulator) -> None:
    assert api.get(ROWS, params={"useColumnNames": "true"}).status_code == 200
    for spelling in ("True", "1"):
        reply = api.get(ROWS, params={"useColumnNames": spelling})
        assert reply.status_code == 400
        assert "is not of type 'boolean'" in reply.json()["message"]
    assert len(emu.take_spec_violations()) == 2


def test_unknown_query_parameter_is_recorded_but_ignored(api: Api, emu: CodaEmulator) -> None:
    assert api.get(ROWS, params={"keyColumns": "x"}).status_code == 200
    assert emu.take_spec_violations() == ["listRows request query: unknown query parameter 'keyColumns'"]


def test_invalid_body_is_recorded(api: Api, emu: CodaEmulator) -> None:
    reply = api.post(ROWS, json={"rows": [{"cells": [{"column": "Entry Key"}]}]})
    assert reply.status_code == 400
    assert emu.take_spec_violations() == ["upsertRows request body $.rows[0].cells[0]: 'value' is a required property"]


def test_request_that_matches_no_operation_is_recorded(api: Api, emu: CodaEmulator) -> None:
    assert api.get("/no/such/thing").status_code == 404
    assert api.request("PATCH", "/whoami").status_code == 405
    assert len(emu.take_spec_violations()) == 2


def test_broken_response_is_recorded(api: Api, emu: CodaEmulator) -> None:
    def drop_href(operation: str, status: int, body: Any) -> Any:
        return {k: v for k, v in body.items() if k != "href"} if operation == "whoami" else body

    emu.add_response_hook(drop_href)
    assert api.get("/whoami").status_code == 200
    assert emu.take_spec_violations() == ["whoami response 200 body: 'href' is a required property"]


def test_undeclared_status_is_a_violation(emu: CodaEmulator) -> None:
    op = emu.backend.contract.match("GET", "/whoami")
    assert op is not None
    problems = emu.backend.contract.check_response(op.operation, 404, json.dumps({"x": 1}).encode())
    assert problems == ["whoami response 404: status 404 is not declared for this operation"]


def test_fixture_fails_a_test_that_leaves_violations(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from testkit.emulators.coda.fixtures import coda_emulator, coda_emulator_factory, pytest_configure\n"
    )
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent("""
        import pytest, requests

        def _bad(emu):
            emu.add_token("fake-coda-inner")
            requests.get(emu.url + "/whoami", params={"bogus": "1"},
                         headers={"Authorization": "Bearer fake-coda-inner"}, timeout=5)

        def test_leaves_a_violation(coda_emulator):
            _bad(coda_emulator)

        @pytest.mark.coda_emulator(allow_spec_violations=True)
        def test_opted_out(coda_emulator):
            _bad(coda_emulator)
    """)
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "2 passed, 1 error" in result.stdout, result.stdout + result.stderr
    assert "ERROR at teardown of test_leaves_a_violation" in result.stdout
    assert "whoami request query: unknown query parameter 'bogus'" in result.stdout
