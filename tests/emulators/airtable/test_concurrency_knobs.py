"""Knobs for concurrency tests: random latency per request, the order writes were carried out in, and
performUpsert matched on arrival and written after a pause (`Quirks.upsert_atomic=False`, the default)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from testkit.emulators.airtable import AirtableEmulator, Quirks
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN, SAMPLE_SEED_PATH

RELEASES = f"/v0/{SAMPLE_BASE_ID}/Releases"
HEADERS = {"Authorization": f"Bearer {SAMPLE_READWRITE_TOKEN}"}


def upsert(emu: AirtableEmulator, version: str, notes: str) -> requests.Response:
    body = {
        "performUpsert": {"fieldsToMergeOn": ["Version"]},
        "records": [{"fields": {"Version": version, "Notes": notes}}],
    }
    return requests.patch(emu.url + RELEASES, json=body, headers=HEADERS, timeout=10)


def at_once(*calls) -> list[requests.Response]:
    answers: list[requests.Response] = []
    threads = [threading.Thread(target=lambda c=c: answers.append(c())) for c in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def releases(emu: AirtableEmulator, version: str) -> list[dict]:
    return [r for r in emu.records(SAMPLE_BASE_ID, "Releases") if r["fields"].get("Version") == version]


def test_latency_delays_every_request_by_a_random_time_within_its_bounds() -> None:
    with AirtableEmulator.from_seed(
        SAMPLE_SEED_PATH, rate_limit_per_base=None, latency=(0.1, 0.2), latency_seed=3
    ) as emu:
        took = []
        for _ in range(3):
            start = time.monotonic()
            assert requests.get(emu.url + RELEASES, headers=HEADERS, timeout=10).status_code == 200
            took.append(time.monotonic() - start)
    assert all(0.1 <= t < 0.6 for t in took), took
    assert len({round(t, 3) for t in took}) > 1  # random, not a fixed delay


def test_latency_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="latency"):
        AirtableEmulator(latency=(0.2, 0.1))


def test_the_log_numbers_carried_out_requests_in_the_order_they_changed_state() -> None:
    with AirtableEmulator.from_seed(SAMPLE_SEED_PATH, rate_limit_per_base=None) as emu:
        assert upsert(emu, "9.0.0", "a").status_code == 200
        assert requests.get(emu.url + "/v0/nowhere/x", headers=HEADERS, timeout=10).status_code == 404
        assert upsert(emu, "9.0.0", "b").status_code == 200
        log = emu.requests
    assert [entry.order for entry in log] == [1, None, 2]


def test_two_upserts_of_a_new_key_arriving_together_both_create_it_by_default() -> None:
    with AirtableEmulator.from_seed(SAMPLE_SEED_PATH, rate_limit_per_base=None, latency=(0.2, 0.2)) as emu:
        answers = at_once(lambda: upsert(emu, "9.1.0", "a"), lambda: upsert(emu, "9.1.0", "b"))
        assert [a.status_code for a in answers] == [200, 200]
        assert all(len(a.json()["createdRecords"]) == 1 for a in answers)
        assert len(releases(emu, "9.1.0")) == 2
        # now the key matches two records: the next upsert is refused, nothing written
        assert upsert(emu, "9.1.0", "c").status_code == 422


def test_an_atomic_upsert_finds_the_record_another_upsert_created_meanwhile() -> None:
    quirks = Quirks(upsert_atomic=True)
    with AirtableEmulator.from_seed(
        SAMPLE_SEED_PATH, rate_limit_per_base=None, latency=(0.2, 0.2), quirks=quirks
    ) as emu:
        answers = at_once(lambda: upsert(emu, "9.2.0", "a"), lambda: upsert(emu, "9.2.0", "b"))
        assert sorted(len(a.json()["createdRecords"]) for a in answers) == [0, 1]
        assert len(releases(emu, "9.2.0")) == 1


def test_an_upsert_whose_matched_record_was_deleted_during_its_pause_writes_nothing() -> None:
    # Every request travels 0.3 s; the upsert then pauses 0.3 s between matching and writing, and the delete,
    # sent 0.1 s after it, lands in that pause.
    with AirtableEmulator.from_seed(SAMPLE_SEED_PATH, rate_limit_per_base=None, latency=(0.3, 0.3)) as emu:
        assert upsert(emu, "9.3.0", "a").status_code == 200
        (record,) = releases(emu, "9.3.0")

        def delete_soon() -> requests.Response:
            time.sleep(0.1)
            return requests.delete(f"{emu.url}{RELEASES}/{record['id']}", headers=HEADERS, timeout=10)

        answers = at_once(lambda: upsert(emu, "9.3.0", "b"), delete_soon)
        assert sorted(a.status_code for a in answers) == [200, 422]
        assert releases(emu, "9.3.0") == []
