"""`python -m testkit.emulators.coda` as a subprocess."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import requests

from testkit.emulators.coda.__main__ import parse_options
from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID, SAMPLE_SEED_PATH

REPO = Path(__file__).resolve().parents[3]


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_cli_serves_the_seed_and_prints_url_and_token() -> None:
    command = [
        sys.executable,
        "-m",
        "testkit.emulators.coda",
        "--seed",
        str(SAMPLE_SEED_PATH),
        "--port",
        "0",
        "--mutation-delay",
        "0",
        "--no-rate-limit",
    ]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = _lines(process)
        url = re.search(r"listening on (\S+)", lines.get(timeout=20)).group(1)  # type: ignore[union-attr]
        token = re.search(r"^token (\S+)", lines.get(timeout=5)).group(1)  # type: ignore[union-attr]
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{url}/whoami", headers=headers, timeout=5).json()["loginId"] == "user@example.com"
        rows = requests.get(f"{url}/docs/{SAMPLE_DOC_ID}/tables/Changelog/rows", headers=headers, timeout=5)
        assert rows.status_code == 200 and len(rows.json()["items"]) == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_cli_options_reach_the_emulator() -> None:
    _, default = parse_options([])
    assert (default["query_booleans"], default["read_lag"]) == ("lenient", 0.0)
    _, chosen = parse_options(["--query-booleans", "strict", "--read-lag", "2.5"])
    options = CodaEmulator(**chosen).options
    assert (options.query_booleans, options.read_lag) == ("strict", 2.5)
