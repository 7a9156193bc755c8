"""Fault injection: status answers, delays, dropped connections, expired iterators."""

from __future__ import annotations

import pytest
import requests
from pyairtable import Api
from urllib3.util import Retry

from testkit.emulators.airtable import AirtableEmulator, Fault
from testkit.emulators.airtable.errors import RETRIABLE_MESSAGE
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID

from .conftest import Raw

WI = f"/v0/{SAMPLE_BASE_ID}/Work%20Items"
STATUS = "recWorkItem000107"


def test_status_fault_counts_down_and_leaves_state_alone(emu: AirtableEmulator, raw: Raw) -> None:
    fault = emu.inject(Fault(status=503, times=2, method="PATCH", path=r"/Work%20Items/rec"))
    patch = {"fields": {"Status": "Blocked"}}
    assert raw("GET", f"{WI}/{STATUS}").status_code == 200  # other methods pass
    first = raw("PATCH", f"{WI}/{STATUS}", json=patch)
    assert first.status_code == 503
    assert first.json() == {"error": {"type": "RETRIABLE_ERROR", "message": RETRIABLE_MESSAGE}}
    assert emu.record(SAMPLE_BASE_ID, "Work Items", STATUS)["fields"]["Status"] == "Ready"
    assert raw("PATCH", f"{WI}/{STATUS}", json=patch).status_code == 503
    assert raw("PATCH", f"{WI}/{STATUS}", json=patch).status_code == 200
    assert fault.fired == 2 and emu.status_counts() == {200: 2, 503: 2}
    assert [e.fault for e in emu.requests] == [None, "status", "status", None]
    assert [e.applied for e in emu.requests] == [True, False, False, True]


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, "RATE_LIMIT_REACHED"), (500, "SERVER_ERROR"), (502, "BAD_GATEWAY"), (503, "RETRIABLE_ERROR")],
)
def test_status_fault_bodies(emu: AirtableEmulator, raw: Raw, status: int, error_type: str) -> None:
    emu.inject(Fault(status=status, retry_after=2))
    response = raw("GET", WI)
    assert response.status_code == status
    assert response.json()["error"]["type"] == error_type
    assert response.headers["Retry-After"] == "2"
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert raw("GET", WI).status_code == 200


def test_custom_body_and_path_matching_decoded_names(emu: AirtableEmulator, raw: Raw) -> None:
    emu.inject(Fault(status=500, path=r"/Releases$", body={"error": "BOOM"}, times=None))
    assert raw("GET", WI).status_code == 200
    assert raw("GET", f"/v0/{SAMPLE_BASE_ID}/Releases").json() == {"error": "BOOM"}
    assert raw("GET", f"/v0/{SAMPLE_BASE_ID}/Releases").status_code == 500  # times=None: forever
    emu.clear_faults()
    assert raw("GET", f"/v0/{SAMPLE_BASE_ID}/Releases").status_code == 200


def test_pyairtable_retry_strategy_recovers_from_503(emu: AirtableEmulator, token: str) -> None:
    retry = Retry(total=3, backoff_factor=0, status_forcelist=(503,), allowed_methods=None)
    table = Api(token, endpoint_url=emu.url, retry_strategy=retry).table(SAMPLE_BASE_ID, "Work Items")
    emu.inject(Fault(status=503, times=2))
    assert len(table.all()) == 8
    assert [e.status for e in emu.requests] == [503, 503, 200]


def test_delay_fault_trips_client_timeout(emu: AirtableEmulator, token: str, raw: Raw) -> None:
    emu.inject(Fault(kind="delay", seconds=1.0, method="GET"))
    slow = Api(token, endpoint_url=emu.url, retry_strategy=None, timeout=(2, 0.2))
    with pytest.raises(requests.exceptions.ReadTimeout):
        slow.table(SAMPLE_BASE_ID, "Work Items").all()
    emu.inject(Fault(kind="delay", seconds=0.2))
    assert raw("GET", WI).status_code == 200  # delayed, then answered normally


def test_drop_fault_closes_connection_before_any_write(emu: AirtableEmulator, raw: Raw) -> None:
    emu.inject(Fault(kind="drop", method="POST"))
    with pytest.raises(requests.exceptions.ConnectionError):
        raw("POST", WI, json={"fields": {"Key": "FEAT-DROP"}})
    keys = [r["fields"].get("Key") for r in emu.records(SAMPLE_BASE_ID, "Work Items")]
    assert "FEAT-DROP" not in keys
    entry = emu.requests[-1]
    assert entry.status is None and entry.fault == "drop" and not entry.applied


def test_drop_after_apply_and_upsert_retry_cannot_duplicate(emu: AirtableEmulator, work_items) -> None:
    emu.inject(Fault(kind="drop", after_apply=True, method="PATCH"))
    record = {"fields": {"Key": "FEAT-777", "Name": "once"}}
    with pytest.raises(requests.exceptions.ConnectionError):
        work_items.batch_upsert([record], key_fields=["Key"])
    assert emu.requests[-1].applied and emu.requests[-1].status is None
    retried = work_items.batch_upsert([record], key_fields=["Key"])  # the client's retry
    assert retried["createdRecords"] == [] and len(retried["updatedRecords"]) == 1
    keys = [r["fields"].get("Key") for r in emu.records(SAMPLE_BASE_ID, "Work Items")]
    assert keys.count("FEAT-777") == 1


def test_iterator_expired_fault_only_hits_pages_with_offset(emu: AirtableEmulator, work_items) -> None:
    fault = emu.inject(Fault(kind="iterator_expired"))
    pages = work_items.iterate(page_size=3)
    assert len(next(pages)) == 3  # no offset yet: not affected
    with pytest.raises(requests.HTTPError) as info:
        next(pages)
    assert info.value.response.status_code == 422
    assert info.value.response.json() == {"error": {"type": "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"}}
    assert fault.fired == 1 and len(work_items.all(page_size=3)) == 8  # a restart works


def test_probabilistic_faults_are_reproducible(airtable_emulator_factory) -> None:
    def statuses(seed: int) -> list[int]:
        emu = airtable_emulator_factory()
        emu.inject(Fault(status=503, times=None, probability=0.5, seed=seed))
        raw = Raw(emu.url, emu.add_token())
        return [raw("GET", "/v0/meta/whoami").status_code for _ in range(16)]

    first = statuses(7)
    assert first == statuses(7)
    assert set(first) == {200, 503}


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Fault(kind="status")
    with pytest.raises(ValueError):
        Fault(kind="delay")
    with pytest.raises(ValueError):
        Fault(status=503, after_apply=True)
    assert Fault(status=502).kind == "status" and Fault().kind == "drop"
