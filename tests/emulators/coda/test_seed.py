"""Seeding, introspection helpers and thread safety."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import EmulatorFactory
from tests.emulators.coda.conftest import DOC, TABLE, Api, fake_token


def test_from_seed_dict_with_tokens(coda_emulator_factory: EmulatorFactory) -> None:
    token = fake_token("seeded")
    seed = {
        "tokens": [{"token": token, "owner": "ci@example.com", "access": "read", "doc": "Ops"}],
        "docs": [
            {
                "name": "Ops",
                "pages": [{"name": "Home", "content": "<p>hi</p>", "format": "html"}],
                "tables": [
                    {
                        "name": "Tasks",
                        "page": "Home",
                        "columns": [{"name": "Task"}, {"name": "Done", "type": "checkbox"}],
                        "rows": [{"Task": "one", "Done": True}],
                    }
                ],
            }
        ],
    }
    emu = coda_emulator_factory(seed=seed)
    doc_id = emu.doc_id("Ops")
    assert re.fullmatch(r"[A-Za-z0-9][\w-]{9}", doc_id)
    assert emu.rows("Ops", "Tasks") == [{"Task": "one", "Done": True}]
    assert emu.page_text("Ops", "Home") == "hi"
    whoami = Api(emu.url, token).get("/whoami").json()
    assert (whoami["loginId"], whoami["scoped"]) == ("ci@example.com", True)
    table = Api(emu.url, token).get(f"/docs/{doc_id}/tables/Tasks").json()
    assert table["parent"]["name"] == "Home"


def test_ids_are_reproducible_with_a_seed(coda_emulator_factory: EmulatorFactory) -> None:
    ids = []
    for _ in range(2):
        emu = coda_emulator_factory(id_seed=3)
        doc = emu.add_doc(name="D")
        ids.append((doc, emu.add_table(doc, {"name": "T", "columns": [{"name": "A"}]})))
    assert ids[0] == ids[1]


def test_seeding_errors_are_clear(emu: CodaEmulator) -> None:
    with pytest.raises(KeyError, match="no column"):
        emu.add_rows(DOC, TABLE, [{"Nope": 1}])
    with pytest.raises(ValueError, match="at least one column"):
        emu.add_table(DOC, {"name": "Empty"})
    with pytest.raises(ValueError, match="needs doc"):
        emu.add_token(fake_token(), table=TABLE)


def test_request_log(api: Api, emu: CodaEmulator) -> None:
    api.upsert([{"Entry Key": "logged"}])
    entry = emu.requests[-1]
    assert (entry.method, entry.operation, entry.status, entry.owner) == ("POST", "upsertRows", 202, "user@example.com")
    assert entry.path == f"/docs/{DOC}/tables/{TABLE}/rows"
    assert entry.body["rows"][0]["cells"][0]["value"] == "logged"


def test_concurrent_writers(api: Api, emu: CodaEmulator, token: str) -> None:
    def insert(i: int) -> int:
        return Api(emu.url, token).upsert([{"Entry Key": f"c{i}"}]).status_code  # one session per thread

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(insert, range(40))) == {202}
    emu.flush()
    assert sorted(r["Entry Key"] for r in emu.rows(DOC, TABLE))[1:] == sorted(f"c{i}" for i in range(40))


def test_mutation_status_expires(coda_emulator_factory: EmulatorFactory) -> None:
    now = [1_800_000_000.0]
    emu = coda_emulator_factory(clock=lambda: now[0], mutation_delay=1, mutation_status_ttl=10, rate_limits=None)
    doc = emu.add_doc(name="D")
    emu.add_table(doc, {"name": "T", "columns": [{"name": "A"}]})
    token = fake_token()
    emu.add_token(token)
    api = Api(emu.url, token)
    request_id = api.post(
        f"/docs/{doc}/tables/T/rows", json={"rows": [{"cells": [{"column": "A", "value": 1}]}]}
    ).json()["requestId"]
    now[0] += 1
    assert api.get(f"/mutationStatus/{request_id}").json() == {"completed": True}
    now[0] += 11
    assert api.get(f"/mutationStatus/{request_id}").status_code == 404
