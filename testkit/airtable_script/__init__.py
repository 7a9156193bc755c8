"""Run an Airtable automation script (integrations/airtable/*.js) under node with a stand-in for Airtable's
scripting globals (`standin.mjs`: `input.config()`, `input.secret()`, `output.set()`, `fetch`, `console`),
its requests to `https://api.bitbucket.org/2.0` sent to a local emulator instead.

    done = run_script(SCRIPT, config={"recordId": "rec…"}, secrets={"bitbucketToken": token},
                      rewrite={API: emulator.url})
    done.error, done.outputs, done.logs, done.requests
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

STANDIN = Path(__file__).with_name("standin.mjs")
BITBUCKET_API = "https://api.bitbucket.org/2.0"


@dataclass(frozen=True)
class ScriptRun:
    error: str | None  # the message of what the script threw (the automation run fails with it), or None
    outputs: dict[str, Any] = field(default_factory=dict)  # output.set(...)
    logs: list[str] = field(default_factory=list)  # console.log(...)
    requests: list[dict[str, str]] = field(default_factory=list)  # every fetch, as the script made it


def missing_node() -> str | None:
    return None if shutil.which("node") else "node is not on PATH: the Airtable script tests run it under Node.js"


def run_script(
    script: Path,
    *,
    config: Mapping[str, Any],
    secrets: Mapping[str, str],
    rewrite: Mapping[str, str],
    timeout: float = 30.0,  # Airtable stops a script after 30 seconds
) -> ScriptRun:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "SCRIPT_CONFIG": json.dumps(dict(config)),
        "SCRIPT_SECRETS": json.dumps(dict(secrets)),
        "SCRIPT_REWRITE": json.dumps(dict(rewrite)),
    }
    done = subprocess.run(
        ["node", str(STANDIN), str(script)], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"node {STANDIN.name} {script.name} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return ScriptRun(answer["error"], answer["outputs"], answer["logs"], answer["requests"])
