"""`python -m testkit.emulators.bitbucket` as a subprocess, the sample seed, and seeding by hand."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from testkit.emulators.bitbucket import BitbucketEmulator
from testkit.emulators.bitbucket import fixtures as bb
from tests.emulators.bitbucket.conftest import Api

REPO_ROOT = Path(__file__).resolve().parents[3]


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_cli_serves_the_seed_with_a_proxy_and_prints_urls_and_tokens() -> None:
    command = [
        sys.executable,
        "-m",
        "testkit.emulators.bitbucket",
        "--seed",
        str(bb.SAMPLE_SEED_PATH),
        "--port",
        "0",
        "--proxy-repo",
        "acme/widgets",
        "--rate-limit",
        "50",
    ]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = _lines(process)
        url = re.search(r"listening on (\S+)", lines.get(timeout=20)).group(1)  # type: ignore[union-attr]
        proxy = re.search(r"auth proxy on (\S+)", lines.get(timeout=5)).group(1)  # type: ignore[union-attr]
        tokens = [lines.get(timeout=5) for _ in range(3)]
        assert any(bb.SAMPLE_FULL_TOKEN in line for line in tokens)
        api = Api(url, bb.SAMPLE_FULL_TOKEN)
        pr = api.get(f"/repositories/acme/widgets/pullrequests/{bb.SAMPLE_OPEN_PR}")
        assert pr.status_code == 200 and pr.headers["X-RateLimit-Limit"] == "50"
        reports = requests.get(
            f"http://api.bitbucket.org/2.0/repositories/acme/widgets/commit/{bb.SAMPLE_MAIN_HEAD}/reports",
            proxies={"http": proxy},
            timeout=5,
        )
        assert reports.status_code == 200 and reports.json()["values"] == []
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_the_sample_seed(emu: BitbucketEmulator) -> None:
    repo = emu.repository(bb.SAMPLE_WORKSPACE, bb.SAMPLE_REPO)
    assert repo.branches["main"].target == bb.SAMPLE_MAIN_HEAD
    assert repo.branches["feature/ABC-1-login"].target == bb.SAMPLE_FEATURE_HEAD
    assert {n: pr.state for n, pr in repo.pull_requests.items()} == {4: "OPEN", 5: "MERGED", 6: "DECLINED", 7: "OPEN"}
    assert repo.pull_requests[bb.SAMPLE_DELETED_PR].deleted
    assert bb.SAMPLE_CUSTOM_PIPELINE in repo.custom_pipelines
    assert {t.value for t in emu.tokens} == {bb.SAMPLE_FULL_TOKEN, bb.SAMPLE_READ_TOKEN, bb.SAMPLE_OTHER_REPO_TOKEN}


def test_seeding_by_hand(bitbucket_emulator_factory: bb.EmulatorFactory) -> None:
    emu = bitbucket_emulator_factory(seed=None, id_seed=1)
    emu.add_workspace("team")
    emu.add_repository("team", "app", mainbranch="trunk", pipelines={"custom": ["nightly"]})
    head = emu.add_commit("team", "app", "second")
    emu.add_branch("team", "app", "feature/x", head)
    pr = emu.add_pull_request("team", "app", source="feature/x", destination="trunk", title="X")
    token = emu.add_token("team", "app", scopes=["pullrequest", "pipeline:write"])
    emu.add_comment("team", "app", pr, "<!-- marker --> old", author=token)
    api = Api(emu.url, token)
    listed = api.get(f"/repositories/team/app/pullrequests/{pr}/comments").json()["values"]
    assert listed[0]["user"]["display_name"] == "app access token"  # the token's own comment
    assert api.put(listed[0]["links"]["self"]["href"], json={"content": {"raw": "new"}}).status_code == 200
    run = api.post(
        "/repositories/team/app/pipelines/",
        json={
            "target": {
                "type": "pipeline_ref_target",
                "ref_type": "branch",
                "ref_name": "feature/x",
                "selector": {"type": "custom", "pattern": "nightly"},
            }
        },
    )
    assert run.status_code == 201 and run.json()["target"]["commit"]["hash"] == head


def test_ids_repeat_with_the_same_id_seed(bitbucket_emulator_factory: bb.EmulatorFactory) -> None:
    uuids = [bitbucket_emulator_factory(id_seed=3).repository("acme", "widgets").uuid for _ in range(2)]
    assert uuids[0] == uuids[1]


def test_bad_seeds_are_rejected(bitbucket_emulator_factory: bb.EmulatorFactory) -> None:
    emu = bitbucket_emulator_factory(seed=None)
    emu.add_workspace("w")
    with pytest.raises(ValueError, match="40 lower-case hex"):
        emu.add_repository("w", "r", commits=[{"hash": "abc"}])
    with pytest.raises(KeyError):
        emu.add_token("w", "missing")
