"""Benchmark: Bitbucket requests per run (Code Insights report, annotations, pull-request comment) against the floor.

    .venv/bin/python benchmarks/bitbucket_requests.py [--findings 0 3 250 1100]

For each number of findings F (references to records that do not exist, so each becomes one annotation) it makes
a repository whose feature branch names FEAT-107 and F missing record IDs, mirrors it into the Bitbucket emulator
(testkit/emulators/bitbucket, with its auth proxy), and runs the review stage of pull request #42 in-process
(`pipe.flow.run`) three times with the same variables: the first run, then two re-runs of the same step.

The floor is the fewest requests that leave Bitbucket holding the result, for a client that already knew what
Bitbucket held: the report 1 PUT, its annotations one POST per 100 (at most 1,000 are kept); the comment one POST
(first run) and nothing once it holds the text. A client that does not know must read first: the comment 1 list,
the report 1 GET (and its annotations when it exists). `reads`/`writes` are what the pipe sent; the last column
is the pipe's requests over the floor's. Figures only: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipe.flow import run  # noqa: E402
from testkit.bitbucket_repo import mirror, pipe_proxy  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator  # noqa: E402
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN, SAMPLE_SEED_PATH  # noqa: E402
from testkit.emulators.bitbucket import BitbucketEmulator, LoggedRequest  # noqa: E402
from testkit.gitrepos import GitRepoBuilder  # noqa: E402

WS, SLUG, PR = "acme", "product", 42
BRANCH = "feature/FEAT-107-bench"
MAX_ANNOTATIONS = 1000


def make_repo(path: Path, findings: int) -> GitRepoBuilder:
    repo = GitRepoBuilder.init(path)
    repo.commit("chore: start")
    repo.tag("1.0.0")
    repo.branch(BRANCH)
    ids = " ".join(f"rec{i:014d}" for i in range(findings))
    repo.commit(f"docs: explain the limits FEAT-107 {ids}".strip(), {"docs.txt": "limits"})
    repo.checkout("main")
    return repo


def part(request: LoggedRequest) -> str:
    return "comment" if "/comments" in request.path else "report"


def floor(findings: int, first: bool) -> Counter[str]:
    annotations = math.ceil(min(findings, MAX_ANNOTATIONS) / 100)
    return Counter({"report": 1 + annotations if first else 0, "comment": 1 if first else 0})


def measure(findings: int) -> list[tuple[str, Counter[str], Counter[str], Counter[str]]]:
    with (
        tempfile.TemporaryDirectory() as folder,
        AirtableEmulator.from_seed(SAMPLE_SEED_PATH, rate_limit_per_base=None, rate_limit_per_token=None) as airtable,
        BitbucketEmulator(proxy=pipe_proxy(WS, SLUG), rate_limits=None) as bitbucket,
    ):
        origin = make_repo(Path(folder) / "origin", findings)
        mirror(bitbucket, origin, WS, SLUG)
        bitbucket.add_pull_request(WS, SLUG, id=PR, source=BRANCH)
        token = bitbucket.add_token(WS, SLUG, scopes=["pullrequest"], name="Release bot")
        clone = origin.pipelines_pr_checkout(Path(folder) / "clone", BRANCH, "main", depth=None)
        env = {
            "CI": "true",
            "BITBUCKET_BUILD_NUMBER": "7",
            "BITBUCKET_COMMIT": origin.rev_parse(BRANCH),
            "BITBUCKET_BRANCH": BRANCH,
            "BITBUCKET_PR_ID": str(PR),
            "BITBUCKET_PR_DESTINATION_BRANCH": "main",
            "BITBUCKET_REPO_FULL_NAME": f"{WS}/{SLUG}",
            "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
            "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
            "AIRTABLE_TABLE": "Work Items",
            "AIRTABLE_API_URL": airtable.url,
            "KEY_PATTERN": r"FEAT-\d+",
            "KEY_FIELD": "Key",
            "BITBUCKET_ACCESS_TOKEN": token,
            "BITBUCKET_API_URL": bitbucket.url,
            "BITBUCKET_API_PROXY": bitbucket.proxy_url,
        }
        rows = []
        for label in ("first run", "re-run", "re-run again"):
            bitbucket.clear_requests()
            with contextlib.redirect_stdout(io.StringIO()):
                code = run(dict(env), clone.path)
            assert code == 0, f"the run ended with {code}"
            sent = bitbucket.requests
            reads = Counter(part(r) for r in sent if r.method == "GET")
            writes = Counter(part(r) for r in sent if r.method != "GET")
            rows.append((label, reads, writes, floor(findings, label == "first run")))
        return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, nargs="+", default=[0, 3, 250, 1100])
    args = parser.parse_args()
    print("Bitbucket requests per review run: report (report + annotations) and comment; reads / writes / floor")
    columns = (f"{'findings':>8}", f"{'run':<13}", f"{'report r/w':>11}", f"{'floor':>6}", f"{'comment r/w':>12}")
    header = " ".join((*columns, f"{'floor':>6}", f"{'total':>6}"))
    print(header)
    print("-" * len(header))
    for findings in args.findings:
        for label, reads, writes, least in measure(findings):
            total = sum(reads.values()) + sum(writes.values())
            print(
                f"{findings:>8} {label:<13} {reads['report']:>5}/{writes['report']:<5} {least['report']:>6} "
                f"{reads['comment']:>6}/{writes['comment']:<5} {least['comment']:>6} {total:>6}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
