"""Seeding, ID shapes, the fixture factory and the command line."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests
from pyairtable import Api

from testkit.emulators.airtable import AirtableEmulator, ApiError
from testkit.emulators.airtable.fixtures import (
    SAMPLE_BASE_ID,
    SAMPLE_READWRITE_TOKEN,
    SAMPLE_SEED_PATH,
)

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL_TOKEN_SHAPE = re.compile(r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}")


def test_sample_seed_content() -> None:
    text = SAMPLE_SEED_PATH.read_text(encoding="utf-8")
    assert not REAL_TOKEN_SHAPE.search(text)
    emu = AirtableEmulator.from_seed(SAMPLE_SEED_PATH)  # state access works without a server
    schema = emu.schema(SAMPLE_BASE_ID)
    tables = {t["name"]: t for t in schema["tables"]}
    assert set(tables) == {"Work Items", "Releases", "Deployments"}
    status = next(f for f in tables["Work Items"]["fields"] if f["name"] == "Status")
    assert [c["name"] for c in status["options"]["choices"]] == [
        "Planned", "Ready", "In Progress", "In Review", "Merged",
        "On Staging", "Released", "Blocked", "Won't Do",
    ]  # fmt: skip
    assert len(emu.records(SAMPLE_BASE_ID, "Work Items")) == 8
    release = emu.records(SAMPLE_BASE_ID, "Releases")[0]
    assert release["fields"]["Work Items"] == ["recWorkItem000101", "recWorkItem000102"]
    assert emu.tokens == [SAMPLE_READWRITE_TOKEN, "fake-airtable-token-readonly"]


def test_seed_from_dict_and_generated_id_shapes() -> None:
    emu = AirtableEmulator.from_seed(
        {
            "bases": [
                {
                    "name": "B",
                    "tables": [
                        {
                            "name": "T",
                            "fields": [{"name": "Name", "type": "singleLineText"}],
                            "records": [{"Name": "plain form"}, {"fields": {"Name": "wrapped"}}],
                        }
                    ],
                }
            ]
        },
        id_seed=3,
    )
    token = emu.add_token()
    assert token.startswith("fake-airtable-token-") and not REAL_TOKEN_SHAPE.search(token)
    schema_base = next(iter(emu._state.bases))
    assert re.fullmatch(r"app[A-Za-z0-9]{14}", schema_base)
    table = emu.schema(schema_base)["tables"][0]
    assert re.fullmatch(r"tbl[A-Za-z0-9]{14}", table["id"])
    assert re.fullmatch(r"fld[A-Za-z0-9]{14}", table["fields"][0]["id"])
    assert re.fullmatch(r"viw[A-Za-z0-9]{14}", table["views"][0]["id"])
    records = emu.records(schema_base, "T")
    assert [r["fields"]["Name"] for r in records] == ["plain form", "wrapped"]
    assert all(re.fullmatch(r"rec[A-Za-z0-9]{14}", r["id"]) for r in records)
    same = AirtableEmulator.from_seed({"bases": [{"name": "B"}]}, id_seed=3)
    assert next(iter(same._state.bases)) == schema_base  # id_seed makes IDs repeatable


def test_seed_records_are_validated() -> None:
    emu = AirtableEmulator()
    base_id = emu.add_base(name="B")
    emu.add_table(base_id, {"name": "T", "fields": [{"name": "N", "type": "number"}]})
    with pytest.raises(ApiError) as info:
        emu.add_records(base_id, "T", [{"N": 1}, {"N": "two"}])
    assert info.value.status == 422
    assert emu.records(base_id, "T") == []
    with pytest.raises(ValueError):
        emu.add_table(base_id, {"name": "T", "fields": [{"name": "N", "type": "number"}]})
    with pytest.raises(ValueError):
        emu.add_table(base_id, {"name": "U", "primaryField": "X", "fields": [{"name": "N", "type": "number"}]})


def test_factory_without_seed_and_stop_is_idempotent(airtable_emulator_factory) -> None:
    emu = airtable_emulator_factory(seed=None)
    token = emu.add_token()
    assert Api(token, endpoint_url=emu.url).whoami()["id"].startswith("usr")
    assert requests.get(emu.url + "/v0/meta/bases", headers={"Authorization": f"Bearer {token}"}, timeout=5).json() == {
        "bases": []
    }
    emu.stop()
    emu.stop()
    with pytest.raises(RuntimeError):
        _ = emu.url


def test_context_manager_serves_and_stops() -> None:
    with AirtableEmulator(rate_limit_per_base=None) as emu:
        url = emu.url
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url)
        assert requests.get(url + "/v0/meta/whoami", timeout=5).status_code == 401
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(url + "/v0/meta/whoami", timeout=2)


def _read_lines(stream, lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))


def test_cli_serves_seed_until_terminated() -> None:
    command = [
        sys.executable, "-m", "testkit.emulators.airtable",
        "--seed", str(SAMPLE_SEED_PATH), "--port", "0", "--no-rate-limit", "--penalty-seconds", "1",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True).start()
    try:
        first = lines.get(timeout=15)
        found = re.fullmatch(r"Airtable emulator listening on (http://127\.0\.0\.1:\d+)", first)
        assert found, first
        url = found.group(1)
        assert lines.get(timeout=5) == f"token: {SAMPLE_READWRITE_TOKEN}"
        table = Api(SAMPLE_READWRITE_TOKEN, endpoint_url=url, retry_strategy=None).table(SAMPLE_BASE_ID, "Work Items")
        assert len(table.all()) == 8
        assert len([table.first() for _ in range(8)]) == 8  # --no-rate-limit
    finally:
        process.terminate()
        returncode = process.wait(timeout=10)
    assert returncode == 0, process.stderr.read() if process.stderr else ""
