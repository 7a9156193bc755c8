"""codaio 0.6.12 (PyPI), unmodified, against the Coda emulator.

codaio sends query booleans as Python spells them (`useColumnNames=False`, `isOwner=False`), reads
`GET /docs/{id}/` with a trailing slash and builds its objects from every key of a response (an
unexpected key is a TypeError). Every request and response is still checked against the OpenAPI spec:
the fixture fails a test that leaves a violation. Rate limits are off (codaio has no 429 handling).
"""

from __future__ import annotations

import pytest
from codaio import Cell, Coda, Document
from codaio.err import NotFound

from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID, SAMPLE_SEED_PATH, SAMPLE_TABLE

pytestmark = pytest.mark.coda_emulator(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=0)

FIRST_KEY = "1.0.0/" + "0" * 40  # the sample seed's one row


@pytest.fixture
def coda(coda_emulator: CodaEmulator) -> Coda:
    coda_emulator.add_token("fake-coda-codaio-token")
    return Coda("fake-coda-codaio-token", href=coda_emulator.url)


@pytest.fixture
def doc(coda: Coda) -> Document:
    return Document(SAMPLE_DOC_ID, coda=coda)


def test_docs_tables_and_columns(coda: Coda, doc: Document) -> None:
    assert [d["id"] for d in coda.list_docs()["items"]] == [SAMPLE_DOC_ID]
    assert doc.name == "Release Notes"
    assert [t.name for t in doc.list_tables()] == [SAMPLE_TABLE]
    table = doc.get_table(SAMPLE_TABLE)
    names = [c.name for c in table.columns()]
    assert names[:2] == ["Release", "Entry Key"] and "Breaking" in names
    assert table.get_column_by_name("Entry Key").id.startswith("c-")


def test_rows_read_by_id_and_by_name(coda: Coda, doc: Document) -> None:
    table = doc.get_table(SAMPLE_TABLE)
    rows = table.rows()
    assert len(rows) == 1
    assert rows[0]["Entry Key"].value == FIRST_KEY
    by_name = coda.list_rows(SAMPLE_DOC_ID, SAMPLE_TABLE, use_column_names=True)["items"]
    assert by_name[0]["values"]["Entry Key"] == FIRST_KEY
    assert table.get_row_by_id(rows[0].id).to_dict()["Entry Key"] == FIRST_KEY
    with pytest.raises(NotFound, match="Could not find a row"):
        table.get_row_by_id("i-doesNotExist")


def test_upsert_insert_update_and_read_back(coda_emulator: CodaEmulator, doc: Document) -> None:
    table = doc.get_table(SAMPLE_TABLE)
    key, description = table.get_column_by_name("Entry Key"), table.get_column_by_name("Description")
    inserted = table.upsert_rows([[Cell(key, f"2.0.0/{n}"), Cell(description, f"new {n}")] for n in range(3)])
    assert len(inserted["addedRowIds"]) == 3
    keyed = table.upsert_rows(
        [[Cell(key, "2.0.0/1"), Cell(description, "changed")], [Cell(key, "2.0.0/9"), Cell(description, "added")]],
        key_columns=[key],
    )
    assert set(keyed) == {"requestId"}
    found = table.find_row_by_column_name_and_value("Entry Key", "2.0.0/1")
    assert [r["Description"].value for r in found] == ["changed"]
    assert table.find_row_by_column_id_and_value(key.id, "2.0.0/9")[0]["Description"].value == "added"
    table.update_row(found[0], [Cell(description, "updated")])
    table.delete_row_by_id(table.find_row_by_column_id_and_value(key.id, "2.0.0/0")[0].id)
    assert {r["Entry Key"]: r["Description"] for r in table.to_dict()} == {
        FIRST_KEY: "Initial release",
        "2.0.0/1": "updated",
        "2.0.0/2": "new 2",
        "2.0.0/9": "added",
    }
    assert len(coda_emulator.rows(SAMPLE_DOC_ID, SAMPLE_TABLE)) == 4
