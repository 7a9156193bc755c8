"""pipe.clients.airtable against the emulator: what reaches the caller when Airtable does not answer."""

from __future__ import annotations

import pytest

from pipe.clients.airtable import AirtableClient, AirtableError, airtable_policy
from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN


@pytest.fixture
def client(airtable_emulator) -> AirtableClient:
    policy = airtable_policy(rate_limit_wait=0.01)
    policy.max_attempts = 2
    policy.backoff_base = 0.001
    return AirtableClient(SAMPLE_READWRITE_TOKEN, SAMPLE_BASE_ID, "Work Items", airtable_emulator.url, policy)


@pytest.mark.parametrize(
    ("method", "call", "doing"),
    [
        ("GET", lambda c: c.schema(), "reading the base schema"),
        ("GET", lambda c: c.records_by_id(["recWorkItem000107"], ["Status"]), "reading records by ID"),
        ("GET", lambda c: c.records_by_key("Key", ["FEAT-107"], ["Status"]), "reading records by Key"),
        ("PATCH", lambda c: c.update([("recWorkItem000107", {"Branch": "x"})]), "updating records"),
    ],
)
def test_no_answer_after_the_retries_is_a_sync_error_not_a_traceback(airtable_emulator, client, method, call, doing):
    airtable_emulator.inject(Fault(kind="drop", times=None, method=method))

    with pytest.raises(AirtableError) as caught:
        call(client)

    assert caught.value.status is None
    assert str(caught.value).startswith(f"Airtable at {airtable_emulator.url} could not be reached while {doing}")
    assert "ConnectionError" in str(caught.value) and "AIRTABLE_API_URL" in str(caught.value)
    assert SAMPLE_READWRITE_TOKEN not in str(caught.value)
    assert [r.status for r in airtable_emulator.requests] == [None, None]  # both attempts were made
    assert airtable_emulator.record(SAMPLE_BASE_ID, "Work Items", "recWorkItem000107")["fields"].get("Branch") is None


def test_an_unreachable_url_is_a_sync_error(client):
    policy = client.policy
    dead = AirtableClient(SAMPLE_READWRITE_TOKEN, SAMPLE_BASE_ID, "Work Items", "http://127.0.0.1:9", policy)

    with pytest.raises(AirtableError, match=r"Airtable at http://127\.0\.0\.1:9 could not be reached while reading"):
        dead.records_by_id(["recWorkItem000107"], ["Status"])
