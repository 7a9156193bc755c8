"""Airtable (or whatever AIRTABLE_API_URL names) answering 200 with a body of the wrong shape, or paging in a
loop: a readable AirtableAnswerError naming the request (exit 2 before anything is written), never a
traceback from inside pyairtable and never a read that goes on until the time budget ends it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from pipe.clients.airtable import AirtableAnswerError, AirtableClient, airtable_policy, answer_problem
from pipe.errors import EXIT_BAD_INPUT
from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN

LIST = r"Work Items(/listRecords)?$"
RECORD = "recWorkItem000107"
GOOD = {"id": RECORD, "createdTime": "2024-01-01T00:00:00.000Z", "fields": {}}


@pytest.fixture
def client(airtable_emulator) -> AirtableClient:
    policy = airtable_policy(0.1)
    policy.max_attempts = 1
    return AirtableClient(SAMPLE_READWRITE_TOKEN, SAMPLE_BASE_ID, "Work Items", airtable_emulator.url, policy)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"records": "nope"}, "'records' is a JSON string, not a list"),
        ({"rows": []}, "'records' is missing, not a list"),
        ({"records": [GOOD, 7]}, "records[1] is a JSON number, not an object"),
        ({"records": [{"createdTime": "x", "fields": {}}]}, "records[0] has no 'id' string"),
        ({"records": [{**GOOD, "fields": ["Status"]}]}, "records[0].fields is a JSON array, not a mapping"),
        ({"records": [{"id": RECORD, "createdTime": "x"}]}, "records[0].fields is missing, not a mapping"),
        ({"records": [], "offset": 5}, "'offset' is a JSON number, not a string"),
        ([GOOD], "the body is a JSON array, not an object"),
        ("ok", "the body is a JSON string, not an object"),
    ],
)
def test_a_listing_of_the_wrong_shape_names_the_request_and_the_problem(airtable_emulator, client, body, problem):
    airtable_emulator.inject(Fault(status=200, body=body, path=LIST, times=None))
    with pytest.raises(AirtableAnswerError) as caught:
        client.records_by_id([RECORD], ["Status"])
    message = str(caught.value)
    assert message.startswith("Airtable answered GET /v0/appSampleProduct1/Work%20Items with a body that is not an")
    assert f"while reading records by ID: {problem}." in message
    assert f"Check that AIRTABLE_API_URL ({airtable_emulator.url}) is the Airtable API" in message
    assert caught.value.exit_code == EXIT_BAD_INPUT and caught.value.status is None


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"tables": {"Work Items": {}}}, "'tables' is a JSON object, not a list"),
        ({"tables": [{"id": "tbl1", "name": "Work Items", "fields": {}}]}, "tables[0].fields is a JSON object"),
        ({"tables": [{"id": "tbl1", "name": "Work Items", "fields": [{"name": "Status"}]}]}, "has no 'id' string"),
        (
            {"tables": [{"id": "t", "name": "W", "fields": [{"id": "f", "name": "S", "type": "x", "options": []}]}]},
            "tables[0].fields[0] options is a JSON array, not an object",
        ),
        (
            {"tables": [{"id": "t", "name": "W", "fields": [{"id": "f", "name": "S", "type": "x", "options": {}}]}]},
            None,
        ),
    ],
)
def test_a_schema_of_the_wrong_shape_is_an_answer_error(airtable_emulator, client, body, problem):
    airtable_emulator.inject(Fault(status=200, body=body, path="/meta/bases/", times=None))
    if problem is None:
        with pytest.raises(Exception, match="there is no table 'Work Items'"):
            client.schema()
        return
    with pytest.raises(AirtableAnswerError, match="while reading the base schema") as caught:
        client.schema()
    assert problem in str(caught.value)


def test_an_offset_that_comes_back_is_named_as_a_server_loop(airtable_emulator, client):
    airtable_emulator.inject(
        Fault(status=200, body={"records": [GOOD], "offset": "itrLoop/recLoop"}, path=LIST, times=None)
    )
    with pytest.raises(AirtableAnswerError) as caught:
        client.records_by_id([RECORD], ["Status"])
    assert str(caught.value).startswith(
        "Airtable returned the same offset twice while reading records by ID "
        "(GET /v0/appSampleProduct1/Work%20Items, offset 'itrLoop/recLoop'): the server pages in a loop"
    )
    listed = [r for r in airtable_emulator.requests if r.path.endswith("Work%20Items")]
    assert len(listed) == 2


def test_a_write_answered_with_the_wrong_shape_stops_like_a_lost_answer(airtable_emulator, client):
    airtable_emulator.inject(Fault(status=200, body={"records": {}}, method="PATCH", times=None))
    with pytest.raises(AirtableAnswerError, match="while updating records: 'records' is a JSON object, not a list"):
        client.update([(RECORD, {"Status": "In Progress"})])


def test_an_error_body_that_is_not_an_object_does_not_crash(airtable_emulator, client):
    airtable_emulator.inject(Fault(status=422, body=["nope"], path=LIST, times=None))
    with pytest.raises(Exception, match="Airtable answered 422") as caught:
        client.records_by_id([RECORD], ["Status"])
    assert not isinstance(caught.value, (AttributeError, TypeError))


class _Fixed(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 - the base class's name
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def fixed_server() -> Iterator[type[_Fixed]]:
    handler = type("Handler", (_Fixed,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("body", "problem"), [(b"<html>Gateway</html>", "the body is not JSON"), (b"", "empty")])
def test_a_body_that_is_not_json_or_empty_is_an_answer_error(fixed_server, body, problem):
    fixed_server.body = body
    policy = airtable_policy(0.1)
    client = AirtableClient("patX", SAMPLE_BASE_ID, "Work Items", fixed_server.url, policy)  # type: ignore[attr-defined]
    with pytest.raises(AirtableAnswerError, match=problem):
        client.records_by_id([RECORD], ["Status"])


def test_answer_problem_accepts_real_answers():
    assert answer_problem("https://api.airtable.com/v0/app/tbl", {"records": [GOOD], "offset": "itr/rec"}) is None
    assert answer_problem("https://api.airtable.com/v0/meta/whoami", {"id": "usr1"}) is None
    assert answer_problem("https://api.airtable.com/v0/meta/bases/app/tables", {"tables": []}) is None


def test_a_delete_answer_is_checked_for_its_own_shape() -> None:
    url = "https://api.airtable.com/v0/app/tbl/rec00000000000001"
    assert answer_problem(url, {"id": "rec00000000000001", "deleted": True}, "DELETE") is None
    assert answer_problem(url, {"records": [{"id": "rec00000000000001", "deleted": True}]}, "DELETE") is None
    assert answer_problem(url, {"id": "rec00000000000001"}, "DELETE") is not None
    assert answer_problem(url, {"id": "rec00000000000001", "deleted": True}, "GET") is not None  # not a listing
