"""Fault injection: status answers, delays, dropped connections (before and after applying)."""

from __future__ import annotations

import pytest
import requests

from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH, EmulatorFactory
from tests.emulators.coda.conftest import DOC, TABLE, Api

ROWS = f"/docs/{DOC}/tables/{TABLE}/rows"


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_status_faults(api: Api, emu: CodaEmulator, status: int) -> None:
    emu.add_fault("status", status=status, path=r"/rows$")
    reply = api.get(ROWS)
    assert reply.status_code == status
    assert reply.json()["statusCode"] == status and set(reply.json()) == {"statusCode", "statusMessage", "message"}
    assert api.get(ROWS).status_code == 200  # times=1 by default
    assert [r.fault for r in emu.requests][-2:] == ["status", None]


def test_method_and_path_matching_and_times(api: Api, emu: CodaEmulator) -> None:
    fault = emu.add_fault("status", status=503, method="POST", path=r"/tables/[^/]+/rows$", times=2)
    assert api.get(ROWS).status_code == 200
    assert [api.upsert([{"Entry Key": "x"}]).status_code for _ in range(3)] == [503, 503, 202]
    assert fault.hits == 2


def test_unlimited_fault_and_clear(api: Api, emu: CodaEmulator) -> None:
    emu.add_fault("status", status=500, path="whoami", times=None)
    assert {api.get("/whoami").status_code for _ in range(3)} == {500}
    emu.clear_faults()
    assert api.get("/whoami").status_code == 200


def test_429_fault_can_carry_retry_after(api: Api, emu: CodaEmulator) -> None:
    emu.add_fault("status", status=429, retry_after=2)
    assert api.get("/whoami").headers["Retry-After"] == "2"


def test_probability_is_seeded(coda_emulator_factory: EmulatorFactory) -> None:
    patterns = []
    for _ in range(2):
        emu = coda_emulator_factory(seed=SAMPLE_SEED_PATH, rate_limits=None, fault_seed=7)
        emu.add_token("fake-coda-prob")
        api = Api(emu.url, "fake-coda-prob")
        emu.add_fault("status", status=503, times=None, probability=0.5)
        patterns.append([api.get("/whoami").status_code for _ in range(20)])
    assert patterns[0] == patterns[1]
    assert {200, 503} == set(patterns[0])


def test_delay_fault_slows_the_answer(api: Api, emu: CodaEmulator) -> None:
    emu.add_fault("delay", delay=0.5, path="whoami")
    with pytest.raises(requests.Timeout):
        api.get("/whoami", timeout=0.1)
    assert api.get("/whoami").status_code == 200


def test_drop_loses_the_request(api: Api, emu: CodaEmulator) -> None:
    emu.add_fault("drop", method="POST")
    with pytest.raises(requests.ConnectionError):
        api.upsert([{"Entry Key": "dropped"}])
    emu.flush()
    assert emu.pending_mutations() == [] and "dropped" not in [r["Entry Key"] for r in emu.rows(DOC, TABLE)]
    assert emu.requests[-1].status is None and emu.requests[-1].fault == "drop"


def test_drop_after_apply_loses_only_the_answer(api: Api, emu: CodaEmulator) -> None:
    emu.add_fault("drop_after_apply", method="POST")
    with pytest.raises(requests.ConnectionError):
        api.upsert([{"Entry Key": "applied"}])
    emu.flush()
    assert "applied" in [r["Entry Key"] for r in emu.rows(DOC, TABLE)]
    assert api.get(ROWS).status_code == 200  # the next request works on a new connection


def test_unknown_fault_kind_is_rejected(emu: CodaEmulator) -> None:
    with pytest.raises(ValueError):
        emu.add_fault("explode")  # type: ignore[arg-type]
