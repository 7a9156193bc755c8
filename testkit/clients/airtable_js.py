"""The official airtable.js client (npm `airtable`, pinned in airtable-js/package-lock.json) as a test tool.

`install()` runs `npm ci` once into `airtable-js/node_modules` (gitignored) and again only when the lock
file changes; a file lock makes parallel test workers wait for one install. `run_check()` starts
`node airtable-js/checks.js <check>` against an emulator and returns what the client answered.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLIENT_DIR = Path(__file__).with_name("airtable-js")
LOCK_FILE = CLIENT_DIR / "package-lock.json"
STAMP = CLIENT_DIR / "node_modules" / ".installed-lock-sha256"


@dataclass(frozen=True)
class Target:
    """Where the checks point the client."""

    url: str
    token: str
    base_id: str
    table: str


@dataclass(frozen=True)
class Answer:
    result: Any = None
    error: dict[str, Any] | None = None  # {statusCode, error, message} of an airtable.js AirtableError


def missing_tools() -> str | None:
    """Why the client cannot run here (None when `node` and `npm` are on PATH)."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(absent)} not on PATH: the airtable.js checks need Node.js and npm" if absent else None


def install() -> None:
    """`npm ci` unless node_modules was installed from the current lock file."""
    want = hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    with open(CLIENT_DIR / ".install.lock", "w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if STAMP.is_file() and STAMP.read_text().strip() == want:
            return
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=CLIENT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"npm ci failed in {CLIENT_DIR} ({done.returncode}):\n{done.stdout}{done.stderr}")
        STAMP.write_text(want + "\n")


def run_check(target: Target, check: str, argument: Any = None) -> Answer:
    """Run one check of checks.js; raise if node fails for any reason other than an API error."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "EMULATOR_URL": target.url,
        "EMULATOR_TOKEN": target.token,
        "BASE_ID": target.base_id,
        "TABLE": target.table,
    }
    command = ["node", "checks.js", check] + ([] if argument is None else [json.dumps(argument)])
    done = subprocess.run(command, cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"node checks.js {check} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return Answer(answer.get("result"), answer.get("error"))
