"""Asynchronous writes: mutationStatus, its optional early 404, X-Coda-Doc-Version."""

from __future__ import annotations

import time

import pytest

from testkit.emulators.coda.emulator import CodaEmulator
from tests.emulators.coda.conftest import DOC, TABLE, Api

ROWS = "/docs/" + DOC + "/tables/" + TABLE + "/rows"
LATEST = {"X-Coda-Doc-Version": "latest"}


@pytest.mark.coda_emulator(mutation_delay=60)
def test_mutation_status_flips_to_completed(api: Api, emu: CodaEmulator) -> None:
    request_id = api.upsert([{"Entry Key": "x"}]).json()["requestId"]
    assert api.get(f"/mutationStatus/{request_id}").json() == {"completed": False}
    emu.flush()
    assert api.get(f"/mutationStatus/{request_id}").json() == {"completed": True}


def test_mutation_completes_by_itself_after_the_delay(api: Api) -> None:
    assert api.wait(api.upsert([{"Entry Key": "x"}])) == {"completed": True}


def test_unknown_mutation_is_404(api: Api) -> None:
    reply = api.get("/mutationStatus/mutate:00000000-0000-4000-8000-000000000000")
    assert reply.status_code == 404
    assert set(reply.json()) == {"statusCode", "statusMessage", "message"}


@pytest.mark.coda_emulator(mutation_status_404_for=0.2)
def test_mutation_status_can_404_right_after_the_write(api: Api) -> None:
    request_id = api.upsert([{"Entry Key": "x"}]).json()["requestId"]
    assert api.get(f"/mutationStatus/{request_id}").status_code == 404
    time.sleep(0.25)
    assert api.get(f"/mutationStatus/{request_id}").status_code == 200


@pytest.mark.coda_emulator(mutation_delay=60)
def test_doc_version_latest_fails_while_a_write_is_pending(api: Api, emu: CodaEmulator) -> None:
    assert api.get(ROWS, headers=LATEST).status_code == 200
    api.upsert([{"Entry Key": "pending"}])
    for path in (ROWS, f"/docs/{DOC}/tables/{TABLE}", f"/docs/{DOC}/pages"):
        reply = api.get(path, headers=LATEST)
        assert reply.status_code == 400
        assert reply.json()["message"] == "Doc is not yet up to date."
    assert api.get(ROWS).status_code == 200  # without the header: a stale read
    emu.flush()
    assert api.get(ROWS, headers=LATEST).status_code == 200


def test_doc_version_other_values(api: Api) -> None:
    assert api.get(ROWS, headers={"X-Coda-Doc-Version": "42"}).status_code == 400
    assert api.get(ROWS, headers={"X-Coda-Doc-Version": ""}).status_code == 200


@pytest.mark.coda_emulator(mutation_delay=60)
def test_pending_writes_in_another_doc_do_not_matter(api: Api, emu: CodaEmulator) -> None:
    other = emu.add_doc(name="Other")
    emu.add_table(other, {"name": "T", "columns": [{"name": "A"}]})
    api.post(f"/docs/{other}/tables/T/rows", json={"rows": [{"cells": [{"column": "A", "value": 1}]}]})
    assert api.get(ROWS, headers=LATEST).status_code == 200
    assert [m["docId"] for m in emu.pending_mutations()] == [other]
