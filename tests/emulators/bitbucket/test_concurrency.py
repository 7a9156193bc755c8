"""Several clients at once (several pipe processes share one emulator): no lost or duplicated writes."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from testkit.emulators.bitbucket import BitbucketEmulator
from testkit.emulators.bitbucket.fixtures import SAMPLE_FULL_TOKEN, SAMPLE_OPEN_PR
from tests.emulators.bitbucket.conftest import MAIN, REPO, WS, Api

WORKERS = 8


@pytest.mark.bitbucket_emulator(rate_limits=None, proxy=True)
def test_parallel_writers_lose_nothing(emu: BitbucketEmulator) -> None:
    report = f"/repositories/{WS}/{REPO}/commit/{MAIN}/reports/shared"
    Api(emu.url, SAMPLE_FULL_TOKEN).put(report, json={"title": "shared"})

    def work(worker: int) -> tuple[int, int, int]:
        api = Api(emu.url, SAMPLE_FULL_TOKEN)
        proxied = Api("http://api.bitbucket.org/2.0", proxy=emu.proxy_url)
        created = api.repo("POST", f"/pullrequests/{SAMPLE_OPEN_PR}/comments", json={"content": {"raw": f"w{worker}"}})
        batch = [{"external_id": f"w{worker}-{n}", "summary": "s"} for n in range(25)]
        annotated = proxied.post(report + "/annotations", json=batch)
        branch = api.repo("POST", "/refs/branches", json={"name": f"work/{worker}", "target": {"hash": MAIN}})
        return created.status_code, annotated.status_code, branch.status_code

    with ThreadPoolExecutor(WORKERS) as pool:
        results = list(pool.map(work, range(WORKERS * 2)))
    assert set(results) == {(201, 200, 201)}
    comments = emu.comments(WS, REPO, SAMPLE_OPEN_PR)
    assert len(comments) == 1 + WORKERS * 2 and len({c.id for c in comments}) == len(comments)
    assert len(emu.report(WS, REPO, MAIN, "shared").annotations) == 25 * WORKERS * 2
    assert sum(1 for name in emu.branches(WS, REPO) if name.startswith("work/")) == WORKERS * 2
    assert len(emu.requests) == 1 + 3 * WORKERS * 2


@pytest.mark.bitbucket_emulator(rate_limits=None)
def test_racing_creators_of_one_branch_get_exactly_one_201(emu: BitbucketEmulator) -> None:
    def create(_: int) -> int:
        api = Api(emu.url, SAMPLE_FULL_TOKEN)
        return api.repo("POST", "/refs/branches", json={"name": "release/2.0.0", "target": {"hash": MAIN}}).status_code

    with ThreadPoolExecutor(WORKERS) as pool:
        statuses = sorted(pool.map(create, range(WORKERS)))
    assert statuses == [201] + [400] * (WORKERS - 1)
