"""Bearer tokens: 401 for missing/invalid, 403 for restricted tokens, whoami.scoped."""

from __future__ import annotations

import pytest
import requests

from testkit.emulators.coda.emulator import CodaEmulator
from tests.emulators.coda.conftest import DOC, TABLE, Api, fake_token

UNAUTHORIZED = {"statusCode": 401, "statusMessage": "Unauthorized", "message": "Unauthorized"}
ROWS = f"/docs/{DOC}/tables/{TABLE}/rows"


def _api(emu: CodaEmulator, **restriction: str) -> Api:
    token = fake_token("scoped")
    emu.add_token(token, **restriction)
    return Api(emu.url, token)


@pytest.mark.parametrize("header", [None, "Bearer not-registered", "Basic abc", "Bearer"])
def test_missing_or_invalid_token_is_401(emu: CodaEmulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    reply = requests.get(f"{emu.url}/whoami", headers=headers, timeout=5)
    assert reply.status_code == 401
    assert reply.json() == UNAUTHORIZED


def test_read_only_token(emu: CodaEmulator) -> None:
    api = _api(emu, access="read")
    assert api.get(ROWS).status_code == 200
    reply = api.upsert([{"Entry Key": "x"}])
    assert reply.status_code == 403
    assert reply.json()["statusMessage"] == "Forbidden"
    assert api.get("/whoami").json()["scoped"] is True


def test_write_only_token(emu: CodaEmulator) -> None:
    api = _api(emu, access="write")
    assert api.get(ROWS).status_code == 403
    reply = api.upsert([{"Entry Key": "x"}])
    assert reply.status_code == 202
    assert api.wait(reply)["completed"] is True  # mutationStatus and whoami work with any token
    assert api.get("/whoami").status_code == 200


def test_doc_scoped_token(emu: CodaEmulator) -> None:
    other = emu.add_doc(name="Other")
    api = _api(emu, doc=DOC)
    assert api.get(f"/docs/{DOC}").status_code == 200
    assert api.get(f"/docs/{other}").status_code == 403
    assert [d["id"] for d in api.get("/docs").json()["items"]] == [DOC]


def test_table_scoped_token(emu: CodaEmulator) -> None:
    emu.add_table(DOC, {"name": "Secret", "columns": [{"name": "A"}]})
    api = _api(emu, doc=DOC, table=TABLE)
    assert api.get(ROWS).status_code == 200
    assert api.get(f"/docs/{DOC}/tables/Secret/rows").status_code == 403
    assert [t["name"] for t in api.get(f"/docs/{DOC}/tables").json()["items"]] == [TABLE]
    assert api.get(f"/docs/{DOC}/pages").status_code == 403


def test_tokens_of_one_owner_share_nothing_but_the_user(emu: CodaEmulator) -> None:
    first, second = _api(emu), _api(emu, name="Second token")
    assert first.get("/whoami").json()["workspace"] == second.get("/whoami").json()["workspace"]
    assert second.get("/whoami").json()["tokenName"] == "Second token"
