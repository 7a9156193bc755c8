"""Stale reads: `read_lag` keeps a completed mutation out of reads for a while (reference §8)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH, EmulatorFactory
from tests.emulators.coda.conftest import DOC, PAGE, TABLE, Api, fake_token

ROWS = f"/docs/{DOC}/tables/{TABLE}/rows"
LATEST = {"X-Coda-Doc-Version": "latest"}


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _start(factory: EmulatorFactory, clock: Clock, **options: Any) -> tuple[CodaEmulator, Api]:
    emu = factory(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=0, clock=clock, **options)
    token = fake_token()
    emu.add_token(token)
    return emu, Api(emu.url, token)


def _keys(api: Api, **params: Any) -> list[str]:
    return [row["values"]["Entry Key"] for row in api.rows(**params)]


def _status(api: Api, request_id: str) -> dict[str, Any]:
    reply = api.get(f"/mutationStatus/{request_id}")
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_completed_write_stays_invisible_for_the_lag(coda_emulator_factory: EmulatorFactory, clock: Clock) -> None:
    emu, api = _start(coda_emulator_factory, clock, read_lag=5.0)
    before = _keys(api)
    added = api.upsert([{"Entry Key": "late"}]).json()
    assert _status(api, added["requestId"]) == {"completed": True}
    assert [r["Entry Key"] for r in emu.rows(DOC, TABLE)][-1] == "late"  # applied ...
    assert _keys(api) == before  # ... but reads do not see it yet
    assert api.get(f"{ROWS}/{added['addedRowIds'][0]}").status_code == 404
    reply = api.get(ROWS, headers=LATEST)
    assert (reply.status_code, reply.json()["message"]) == (400, "Doc is not yet up to date.")
    clock.now += 4.9
    assert _keys(api) == before
    clock.now += 0.1
    assert _keys(api) == [*before, "late"]
    assert api.get(ROWS, headers=LATEST).status_code == 200


def test_each_write_becomes_visible_lag_seconds_after_it_completed(
    coda_emulator_factory: EmulatorFactory, clock: Clock
) -> None:
    _, api = _start(coda_emulator_factory, clock, read_lag=5.0)
    before = _keys(api)
    api.wait(api.upsert([{"Entry Key": "first"}]))
    clock.now += 3
    api.wait(api.upsert([{"Entry Key": "second"}]))
    clock.now += 2
    assert _keys(api) == [*before, "first"]
    clock.now += 3
    assert _keys(api) == [*before, "first", "second"]


def test_keyed_update_and_page_content_lag_too(coda_emulator_factory: EmulatorFactory, clock: Clock) -> None:
    emu, api = _start(coda_emulator_factory, clock, read_lag=2.0)
    key = emu.rows(DOC, TABLE)[0]["Entry Key"]
    api.wait(api.upsert([{"Entry Key": key, "Description": "changed"}], key_columns=["Entry Key"]))
    update = {"contentUpdate": {"insertionMode": "append", "canvasContent": {"format": "markdown", "content": "new"}}}
    api.wait(api.put(f"/docs/{DOC}/pages/{PAGE}", json=update))
    content = f"/docs/{DOC}/pages/{PAGE}/content"
    lines = [item["itemContent"]["content"] for item in api.get(content).json()["items"]]
    assert "new" not in lines
    assert api.rows()[0]["values"]["Description"] != "changed"
    clock.now += 2
    assert [item["itemContent"]["content"] for item in api.get(content).json()["items"]][-1] == "new"
    assert api.rows()[0]["values"]["Description"] == "changed"


def test_a_sync_token_from_a_stale_read_later_returns_what_it_missed(
    coda_emulator_factory: EmulatorFactory, clock: Clock
) -> None:
    _, api = _start(coda_emulator_factory, clock, read_lag=5.0)
    api.wait(api.upsert([{"Entry Key": "unseen"}]))
    stale = api.get(ROWS, params={"useColumnNames": "true"}).json()
    assert "unseen" not in [row["values"]["Entry Key"] for row in stale["items"]]
    clock.now += 5
    delta = api.get(ROWS, params={"syncToken": stale["nextSyncToken"]}).json()
    assert [row["values"]["Entry Key"] for row in delta["items"]] == ["unseen"]


def test_writes_see_the_applied_state_while_reads_lag(coda_emulator_factory: EmulatorFactory, clock: Clock) -> None:
    emu, api = _start(coda_emulator_factory, clock, read_lag=60.0)
    row_id = api.upsert([{"Entry Key": "fresh"}]).json()["addedRowIds"][0]
    api.get("/whoami")  # let the insert apply
    updated = api.put(f"{ROWS}/{row_id}", json={"row": {"cells": [{"column": "Description", "value": "d"}]}})
    assert updated.status_code == 202, updated.text  # the row exists for writes, though reads 404 it
    api.wait(updated)
    assert emu.find_rows(DOC, TABLE, "Entry Key", "fresh")[0]["Description"] == "d"


def test_no_lag_by_default(api: Api, emu: CodaEmulator) -> None:
    assert emu.options.read_lag == 0
    api.wait(api.upsert([{"Entry Key": "now"}]))
    assert _keys(api)[-1] == "now"
    assert api.get(ROWS, headers=LATEST).status_code == 200


def test_negative_lag_is_refused() -> None:
    with pytest.raises(ValueError, match="read_lag"):
        CodaEmulator(read_lag=-1)
