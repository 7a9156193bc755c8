"""`./dev demo`: the pipe's main job on an embedded default, with no Airtable or Coda account.

It starts the local Airtable and Coda emulators (testkit/emulators, loaded with the sample seeds),
makes a sample repository in .demo/, and runs the pipe the way Bitbucket Pipelines would at each
stage: a branch push (build), a pull request (review), the merge to main, then deployments to
staging and production. Between stages it prints the work items, so you can watch them move;
after the merge it shows the rendered release notes, the Coda changelog rows and the Airtable
release record. The emulators keep Airtable's rate limit (5 requests per second per base) on.
A Bitbucket emulator (with the Pipelines auth proxy) receives the Code Insights report of every stage and the
pull-request comment of the review, which the demo prints as a reader sees them.
after the merge it shows the rendered release notes, the Coda changelog rows, the Airtable
release record and the payload a Coda automation rule received from the pipe's webhook. The
emulators keep Airtable's rate limit (5 requests per second per base) on.

Last, a person moves a released record back by hand: `STAGE: reconcile` lists the disagreement with the history
(report only), then `RECONCILE: apply` moves the record forward again.
Last, a custom pipeline starts work on a Ready record: the Airtable automation script
(integrations/airtable/start-work.js, run under node with a stand-in for Airtable's globals) triggers it, and
its run of the pipe (STAGE: start) creates the record's branch and writes it back.

    ./dev demo            # everything
    ./dev demo --keep     # leave .demo/ (the sample repository and the reports) afterwards
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pyairtable import Api  # noqa: E402

from pipe.flow import run  # noqa: E402
from testkit.airtable_script import BITBUCKET_API, missing_node, run_script  # noqa: E402
from testkit.bitbucket_repo import mirror, pipe_proxy  # noqa: E402
from testkit.emulators.airtable import AirtableEmulator  # noqa: E402
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN  # noqa: E402
from testkit.emulators.airtable.fixtures import SAMPLE_SEED_PATH as AIRTABLE_SEED  # noqa: E402
from testkit.emulators.bitbucket import BitbucketEmulator  # noqa: E402
from testkit.emulators.coda import CodaEmulator  # noqa: E402
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID  # noqa: E402
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED  # noqa: E402
from testkit.gitrepos import GitRepoBuilder, bitbucket_merge_message  # noqa: E402

CODA_TOKEN = "fake-coda-token-for-the-demo"
CODA_RULE = "grid-auto-DemoRule01"  # a rule with the trigger "Webhook invoked" (CODA_WEBHOOK_RULE_ID)
BRANCH = "feature/FEAT-107-rate-limit-docs"
WATCHED = ("FEAT-105", "FEAT-106", "FEAT-107", "FEAT-108")
WORKSPACE, SLUG, PR = "acme", "product", 42


def banner(text: str) -> None:
    print(f"\n{'=' * 100}\n{text}\n{'=' * 100}", flush=True)


def table(rows: list[list[str]], indent: str = "") -> None:
    """Print rows (the first is the header) in aligned columns, every value whole."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def minute(value: object) -> str:
    """An Airtable dateTime shown to the minute, in UTC (`2026-12-03 06:47`)."""
    return str(value)[:16].replace("T", " ") if value else "-"


def show_items(airtable: AirtableEmulator, title: str) -> None:
    print(f"\n--- Airtable 'Work Items' {title}")
    rows = [["key", "title", "status", "branch", "pull request", "merged at", "released at"]]
    for record in airtable.records(SAMPLE_BASE_ID, "Work Items"):
        f = record["fields"]
        if f.get("Key") in WATCHED:
            pr = f.get("Pull Request") or ""
            rows.append(
                [
                    f.get("Key", ""),
                    f.get("Name", ""),
                    f.get("Status", ""),
                    f.get("Branch") or "-",
                    "#" + pr.rsplit("/", 1)[-1] if pr else "-",
                    minute(f.get("Merged At")),
                    minute(f.get("Released At")),
                ]
            )
    table(rows)


def show_report(bitbucket: BitbucketEmulator, commit: str) -> None:
    """The Code Insights report on `commit`, as the commit's Reports panel shows it."""
    found = [r for r in bitbucket.reports(WORKSPACE, SLUG, commit) if r.external_id == "airtable-coda-sync"]
    if not found:
        print(f"\n--- Bitbucket: no Code Insights report on {commit[:7]}")
        return
    fields = found[0].fields
    print(f"\n--- Bitbucket Code Insights report on commit {commit[:7]}: {fields['title']} - {fields['result']}")
    values = [
        f"{d['title']}: {d['value']['text'] if isinstance(d['value'], dict) else d['value']}" for d in fields["data"]
    ]
    print("  " + " | ".join(values))
    print(f"  {fields['details']}")
    for annotation in found[0].annotations.values():
        a = annotation.fields
        print(f"  [{a['severity']} {a['result']}] {a['details']}")


def show_comment(bitbucket: BitbucketEmulator) -> None:
    comments = bitbucket.comments(WORKSPACE, SLUG, PR)
    print(f"\n--- Bitbucket pull request #{PR}: {len(comments)} comment(s) by the pipe; the comment's Markdown:")
    for comment in comments:
        print(comment.raw)


def show_webhook_payload(coda: CodaEmulator, when: str) -> None:
    """The last payload the Coda rule received (docs/coda-webhook.md), long texts cut for the screen."""
    payloads = coda.webhook_payloads(SAMPLE_DOC_ID, CODA_RULE)
    print(f"--- Coda automation 'Announce the release' ({CODA_RULE}): payload received {when} ({len(payloads)} so far)")
    if not payloads:
        return
    for name, value in payloads[-1].items():
        if name == "records":
            print("  records:")
            for record in value:
                print(f"    {json.dumps(record, ensure_ascii=False)}")
            continue
        text = json.dumps(value, ensure_ascii=False)
        print(f"  {name}: {text if len(text) <= 100 else text[:99] + '…'}")


def make_repository(path: Path) -> GitRepoBuilder:
    """main with release 1.4.0 tagged, then work merged since: FEAT-105 and FEAT-106 (squash)."""
    if path.exists():
        shutil.rmtree(path)
    repo = GitRepoBuilder.init(path)
    repo.commit("feat: login page FEAT-101", {"app.py": "login\n"})
    repo.commit("feat: password reset email FEAT-102", {"mail.py": "reset\n"})
    repo.tag("1.4.0")
    repo.branch("feature/FEAT-105-dark-mode")
    repo.commit("feat(ui): dark mode for every page", {"ui.css": "dark\n"})
    repo.checkout("main")
    repo.merge("feature/FEAT-105-dark-mode", bitbucket_merge_message("feature/FEAT-105-dark-mode", 41))
    repo.commit("build: upgrade the build image (recWorkItem000106)", {"Dockerfile": "FROM x\n"})
    repo.branch(BRANCH)
    repo.commit("docs(api): document the rate limits FEAT-107", {"docs/limits.md": "5 rps\n"})
    # a mistyped record ID (13 characters after rec): the report and the comment point at this commit
    repo.commit("docs(api): link the old ticket recWorkItem00107 FEAT-107", {"docs/limits.md": "5 rps, see ticket\n"})
    repo.commit(
        "feat!: bulk import replaces the CSV upload FEAT-108\n\nBREAKING CHANGE: /upload is gone.",
        {"import.py": "bulk\n"},
    )
    return repo


def pipelines_env(
    airtable: AirtableEmulator, coda: CodaEmulator, demo: Path, repo: GitRepoBuilder, bitbucket: BitbucketEmulator
) -> dict:
    """What a team passes as pipe variables, plus what Pipelines sets for every step."""
    token = bitbucket.add_token(WORKSPACE, SLUG, scopes=["pullrequest"], name="Release bot")
    return {
        "CI": "true",
        "BITBUCKET_ACCESS_TOKEN": token,
        "BITBUCKET_API_URL": bitbucket.url,  # in Pipelines: the default, http://api.bitbucket.org/2.0
        "BITBUCKET_API_PROXY": bitbucket.proxy_url,  # in Pipelines: the default, http://host.docker.internal:29418
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_RELEASES_TABLE": "Releases",
        "AIRTABLE_DEPLOYMENTS_TABLE": "Deployments",
        "AIRTABLE_API_URL": airtable.url,
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "CODA_API_TOKEN": CODA_TOKEN,
        "CODA_DOC_ID": SAMPLE_DOC_ID,
        "CODA_TABLE": "Changelog",
        "CODA_PAGE": "Release Notes",
        "CODA_API_URL": coda.url,
        "CODA_WEBHOOK_RULE_ID": CODA_RULE,
        "CODA_WEBHOOK_STAGES": "merge",  # the steps run seconds apart here: deploys add no Coda writes
        "CHANGELOG_FILE": "CHANGELOG.md",
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "BITBUCKET_GIT_HTTP_ORIGIN": "http://bitbucket.org/acme/product",
        "BITBUCKET_PIPE_STORAGE_DIR": str(demo / "pipe-storage"),
        "BITBUCKET_PIPE_SHARED_STORAGE_DIR": str(demo / "shared-storage"),
    }


STEPS = [0]  # how many steps ran: each keeps its own report
QUIET: list[AirtableEmulator] = []  # the emulator whose rate-limit window a step waits out (see step)


def step(title: str, env: dict, repo: GitRepoBuilder, build_number: int, **pipelines: str) -> int:
    # Pipelines starts the steps of a pipeline seconds apart; here they follow each other at once, so a step
    # waits until no request of the one before it is left in Airtable's one-second window (else the two runs
    # together could send six requests in a second and lock the base out for 30 s).
    for airtable in QUIET:
        airtable.wait_until_quiet(SAMPLE_BASE_ID)
    STEPS[0] += 1
    banner(f"{title}\n  " + "  ".join(f"{k}={v}" for k, v in pipelines.items()))
    storage = Path(env["BITBUCKET_PIPE_STORAGE_DIR"])
    name = title.split(":")[0].split(". ", 1)[-1].strip().lower().replace(" ", "-")  # "3. MERGE: …" -> merge
    full = {
        **env,
        "BITBUCKET_BUILD_NUMBER": str(build_number),
        "BITBUCKET_COMMIT": repo.head(),
        "REPORT_FILE": str(storage / f"{STEPS[0]:02d}-{name}-report.json"),
        **pipelines,
    }
    code = run(full, repo.path)
    print(f"--- exit code {code}")
    return code


def reconcile_after_an_edit_by_hand(airtable: AirtableEmulator, env: dict, repo: GitRepoBuilder) -> list[int]:
    """A person moves FEAT-107 back from Released; `STAGE: reconcile` reports it, then fixes it."""
    airtable.wait_until_quiet(SAMPLE_BASE_ID)  # the person edits after the last step, like the next step
    table = Api(SAMPLE_READWRITE_TOKEN, endpoint_url=airtable.url).table(SAMPLE_BASE_ID, "Work Items")
    table.update("recWorkItem000107", {"Status": "In Progress"})
    show_items(airtable, "after a person moved FEAT-107 back to In Progress by hand")
    codes = [step("7. RECONCILE: the history against the base (report only)", env, repo, 106, STAGE="reconcile")]
    codes.append(step("7b. RECONCILE: apply the fixes", env, repo, 107, STAGE="reconcile", RECONCILE="apply"))
    show_items(airtable, "after the reconcile")
    return codes


START_PIPELINE = "start-work"  # `pipelines: custom: start-work:` (docs/start-work.md)
START_SCRIPT = ROOT / "integrations" / "airtable" / "start-work.js"


def start_work_step(env: dict, repo: GitRepoBuilder, airtable: AirtableEmulator, bitbucket: BitbucketEmulator) -> int:
    """A record enters the view "Ready for Dev": the automation script runs the custom pipeline with its ID, whose
    run of the pipe creates the branch; a second run finds it and writes nothing."""
    [record_id] = airtable.add_records(
        SAMPLE_BASE_ID, "Work Items", [{"Name": "Export to CSV 📄", "Key": "FEAT-113", "Status": "Ready"}]
    )
    banner(f"8. START: record FEAT-113 ({record_id}) enters the view 'Ready for Dev'; custom: {START_PIPELINE}")
    if missing_node() is None:
        script = START_SCRIPT.read_text().replace("'your-workspace'", f"'{WORKSPACE}'")
        configured = ROOT / ".demo" / "start-work.js"
        configured.write_text(script.replace("'your-repository'", f"'{SLUG}'"))
        trigger_token = bitbucket.add_token(WORKSPACE, SLUG, scopes=["pipeline:write"], name="Airtable automation")
        done = run_script(
            configured,
            config={"recordId": record_id},
            secrets={"bitbucketToken": trigger_token},
            rewrite={BITBUCKET_API: bitbucket.url},
        )
        print(f"--- the Airtable automation script: {done.logs or done.error}")
        if done.error:
            return 1
        variables = bitbucket.pipeline_runs(WORKSPACE, SLUG)[-1].variables
        record_id = next(v["value"] for v in variables if v["key"] == "RECORD_ID")
    else:
        print(f"--- ({missing_node()}; the custom pipeline is run by hand instead)")
    start_token = bitbucket.add_token(WORKSPACE, SLUG, scopes=["repository:write"], name="Start bot")
    codes = []
    for number, title in (
        (106, "8b. START: the custom pipeline's run of the pipe"),
        (107, "8c. START: the same run again, nothing to do"),
    ):
        codes.append(
            step(
                title,
                {**env, "BITBUCKET_ACCESS_TOKEN": start_token},
                repo,
                number,
                BITBUCKET_BRANCH="main",
                STAGE="start",
                RECORD_ID=record_id,
            )
        )
    fields = (airtable.record(SAMPLE_BASE_ID, "Work Items", record_id) or {}).get("fields", {})
    print(f"\n--- Airtable FEAT-113: status {fields.get('Status')}, branch {fields.get('Branch')}")
    print(f"--- Bitbucket branches: {', '.join(sorted(bitbucket.branches(WORKSPACE, SLUG)))}")
    return max(codes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", action="store_true", help="keep .demo/ afterwards")
    args = parser.parse_args()
    demo = ROOT / ".demo"
    for old in ("pipe-storage", "shared-storage"):  # each demo starts afresh: its reports only
        shutil.rmtree(demo / old, ignore_errors=True)
    demo.mkdir(exist_ok=True)
    repo = make_repository(demo / "product")
    codes = []
    with (
        AirtableEmulator.from_seed(AIRTABLE_SEED) as airtable,
        CodaEmulator.from_seed(CODA_SEED, mutation_delay=0.5) as coda,
        BitbucketEmulator(proxy=pipe_proxy(WORKSPACE, SLUG)) as bitbucket,
    ):
        coda.add_token(CODA_TOKEN)
        QUIET.append(airtable)
        mirror(bitbucket, repo, WORKSPACE, SLUG, custom_pipelines=(START_PIPELINE,))
        bitbucket.add_pull_request(WORKSPACE, SLUG, id=PR, source=BRANCH, title="Rate limit docs and bulk import")
        coda.add_automation(SAMPLE_DOC_ID, "Announce the release", rule_id=CODA_RULE)
        env = pipelines_env(airtable, coda, demo, repo, bitbucket)
        print(f"Airtable emulator: {airtable.url}   Coda emulator: {coda.url}   repository: {repo.path}")
        print(f"Bitbucket emulator: {bitbucket.url}   its Pipelines auth proxy: {bitbucket.proxy_url}")
        show_items(airtable, "before")

        repo.checkout(BRANCH)
        codes.append(step("1. BUILD: a push to a feature branch", env, repo, 101, BITBUCKET_BRANCH=BRANCH))
        show_items(airtable, "after the build")
        show_report(bitbucket, repo.head())

        codes.append(
            step(
                "2. REVIEW: the pull request's pipeline",
                env,
                repo,
                102,
                BITBUCKET_BRANCH=BRANCH,
                BITBUCKET_PR_ID="42",
                BITBUCKET_PR_DESTINATION_BRANCH="main",
            )
        )
        show_items(airtable, "after the review")
        show_report(bitbucket, repo.head())
        show_comment(bitbucket)
        bitbucket.clear_requests()
        codes.append(
            step(
                "2b. RE-RUN of the review step: the comment already says it all",
                env,
                repo,
                102,
                BITBUCKET_BRANCH=BRANCH,
                BITBUCKET_PR_ID="42",
                BITBUCKET_PR_DESTINATION_BRANCH="main",
            )
        )
        comment_writes = [r for r in bitbucket.requests if "/comments" in r.path and r.method != "GET"]
        print(f"\n--- Bitbucket: {len(comment_writes)} write(s) to the comment on the re-run")

        repo.checkout("main")
        repo.merge(BRANCH, bitbucket_merge_message(BRANCH, 42))
        mirror(bitbucket, repo, WORKSPACE, SLUG, custom_pipelines=(START_PIPELINE,))
        bitbucket.set_pull_request_state(WORKSPACE, SLUG, PR, "MERGED")
        codes.append(step("3. MERGE: the push to main", env, repo, 103, BITBUCKET_BRANCH="main"))
        show_items(airtable, "after the merge")
        show_report(bitbucket, repo.head())
        print("\n--- CHANGELOG.md written into the clone")
        print((repo.path / "CHANGELOG.md").read_text())
        print("--- Coda 'Changelog' rows")
        columns = ["Release", "Type", "Scope", "Description", "Breaking", "Records", "PR"]
        rows = [columns]
        for row in coda.rows(SAMPLE_DOC_ID, "Changelog"):
            values = row.get("values", row)
            rows.append([str(values.get(c) if values.get(c) not in (None, "") else "-") for c in columns])
        table(rows, "  ")
        release = [r for r in airtable.records(SAMPLE_BASE_ID, "Releases") if r["fields"].get("Version") == "2.0.0"]
        print("--- Airtable 'Releases' record 2.0.0")
        for name, value in (release[0]["fields"] if release else {}).items():
            if isinstance(value, str) and "\n" in value:
                value = f"({len(value.splitlines())} lines of Markdown: the section shown above)"
            print(f"  {name}: {value}")
        show_webhook_payload(coda, "at the merge")

        for number, environment in ((104, "staging"), (105, "production")):
            codes.append(
                step(
                    f"{number - 100}. DEPLOY: deployment to {environment}",
                    env,
                    repo,
                    number,
                    BITBUCKET_BRANCH="main",
                    BITBUCKET_DEPLOYMENT_ENVIRONMENT=environment,
                )
            )
            show_items(airtable, f"after the deployment to {environment}")
        show_report(bitbucket, repo.head())

        codes.append(
            step(
                "6. RE-RUN of the production deployment: nothing changes",
                env,
                repo,
                105,
                BITBUCKET_BRANCH="main",
                BITBUCKET_DEPLOYMENT_ENVIRONMENT="production",
            )
        )
        codes.extend(reconcile_after_an_edit_by_hand(airtable, env, repo))
        codes.append(start_work_step(env, repo, airtable, bitbucket))
    banner(f"Demo finished; exit codes {codes}. Reports are in {demo / 'pipe-storage'}.")
    if not args.keep:
        shutil.rmtree(demo / "product", ignore_errors=True)
    return 0 if all(code == 0 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
