"""Shared fixtures for the emulator's own tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from pyairtable import Api
from pyairtable.api.table import Table

from testkit.emulators.airtable import fixtures as emulator_fixtures
from testkit.emulators.airtable.emulator import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID
from testkit.emulators.airtable.model import ALL_SCOPES

# The fixtures other test packages get through pytest_plugins; a non-root conftest may not
# declare pytest_plugins, so they are re-exported here.
airtable_emulator = emulator_fixtures.airtable_emulator
airtable_emulator_factory = emulator_fixtures.airtable_emulator_factory

PARTS_SPEC: dict[str, Any] = {
    "name": "Parts",
    "fields": [
        {"name": "Part", "type": "singleLineText"},
        {"name": "Weight", "type": "number", "options": {"precision": 1}},
        {
            "name": "Used In",
            "type": "multipleRecordLinks",
            "options": {"linkedTableId": "Kitchen Sink", "inverseLinkFieldId": "Parts"},
        },
    ],
}
KITCHEN_SPEC: dict[str, Any] = {
    "name": "Kitchen Sink",
    "primaryField": "Title",
    "fields": [
        {"name": "Title", "type": "singleLineText"},
        {"name": "Notes", "type": "multilineText"},
        {"name": "Body", "type": "richText"},
        {"name": "Email", "type": "email"},
        {"name": "Link", "type": "url"},
        {"name": "Phone", "type": "phoneNumber"},
        {"name": "Count", "type": "number"},
        {"name": "Price", "type": "currency"},
        {"name": "Ratio", "type": "percent"},
        {"name": "Done", "type": "checkbox"},
        {"name": "Color", "type": "singleSelect", "options": {"choices": ["Red", "Green"]}},
        {"name": "Tags", "type": "multipleSelects", "options": {"choices": ["a", "b", "c"]}},
        {"name": "Day", "type": "date"},
        {"name": "When", "type": "dateTime", "options": {"timeZone": "Europe/Berlin"}},
        {
            "name": "Parts",
            "type": "multipleRecordLinks",
            "options": {"linkedTableId": "Parts", "inverseLinkFieldId": "Used In"},
        },
        {"name": "Part Count", "type": "count", "options": {"recordLinkFieldId": "Parts"}},
        {
            "name": "Part Names",
            "type": "multipleLookupValues",
            "options": {"recordLinkFieldId": "Parts", "fieldIdInLinkedTable": "Part"},
        },
        {
            "name": "Total Weight",
            "type": "rollup",
            "options": {
                "recordLinkFieldId": "Parts",
                "fieldIdInLinkedTable": "Weight",
                "formula": "SUM(values)",
            },
        },
        {"name": "Label", "type": "formula", "options": {"formula": "{Title} & ' (' & {Count} & ')'"}},
        {"name": "Serial", "type": "autoNumber"},
        {"name": "Created", "type": "createdTime"},
        {"name": "Modified", "type": "lastModifiedTime"},
    ],
}


class Raw:
    """Plain ``requests`` calls with a bearer token, for checking exact bodies and headers."""

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def emu(airtable_emulator: AirtableEmulator) -> AirtableEmulator:
    return airtable_emulator


@pytest.fixture
def token(emu: AirtableEmulator) -> str:
    """A token made at run time with every scope, for every base."""
    return emu.add_token(scopes=ALL_SCOPES, email="tester@example.com")


@pytest.fixture
def api(emu: AirtableEmulator, token: str) -> Api:
    return Api(token, endpoint_url=emu.url, retry_strategy=None, timeout=(5, 10))


@pytest.fixture
def work_items(api: Api) -> Table:
    return api.table(SAMPLE_BASE_ID, "Work Items")


@pytest.fixture
def raw(emu: AirtableEmulator, token: str) -> Raw:
    return Raw(emu.url, token)


@pytest.fixture
def kitchen(emu: AirtableEmulator) -> tuple[str, str, str]:
    """A base with a table of every modelled field type: (base id, kitchen id, parts id)."""
    base_id = emu.add_base(name="Kitchen")
    parts_id = emu.add_table(base_id, PARTS_SPEC)
    kitchen_id = emu.add_table(base_id, KITCHEN_SPEC)
    return base_id, kitchen_id, parts_id


ErrorCheck = Callable[[requests.Response, int, str], dict[str, Any]]


@pytest.fixture
def expect_error() -> ErrorCheck:
    def check(response: requests.Response, status: int, error_type: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        error = response.json()["error"]
        assert error["type"] == error_type, error
        return error

    return check
