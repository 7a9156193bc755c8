"""The catalogue of bad inputs: one entry per way a user can get the pipe's input wrong.

Each `Case` says how to set the input up (`setup` changes a `Ctx`: the environment, the repository,
the emulators), the exit code the pipe must end with, a fragment of the message it must log, and
whether anything may be written. `run_case` runs one entry through `pipe.flow.run` against the real
Airtable and Coda emulators over HTTP and a real git repository, and returns what happened.

Used by tests/integration/test_bad_input.py (one test per entry) and scripts/bad_input_table.py
(which prints the table of docs/bad-input.md from real runs).

"Written" means a write request (POST, PATCH, PUT, DELETE; not Airtable's POST .../listRecords, a read)
that a service accepted (a 2xx answer), or a CHANGELOG file, or a file the pipe created outside the
repository. A refused write (401/403/422) changed nothing and does not count.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pipe.clients.airtable
import pipe.sinks.coda_page
import pipe.sinks.coda_rows
from pipe.clients.coda import MutationPolling
from pipe.flow import run
from testkit.bitbucket_repo import mirror
from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.emulator import AirtableEmulator
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READONLY_TOKEN, SAMPLE_READWRITE_TOKEN
from testkit.emulators.bitbucket.emulator import BitbucketEmulator
from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID
from testkit.gitrepos import GitRepoBuilder, GitRepoFactory, bitbucket_merge_message
from testkit.journal_table import JOURNAL_TABLE, add_journal_table

WRITES = ("POST", "PATCH", "PUT", "DELETE")
CODA_TOKEN = "fake-coda-token-bad-input"
CONFIG = ".airtable-coda-sync.yml"
FEATURE_BRANCH = "feature/FEAT-107-rate-limit-docs"
BITBUCKET_PR = 7


@dataclass
class Ctx:
    """What a case's `setup` may change before the run."""

    tmp: Path
    airtable: AirtableEmulator
    coda: CodaEmulator | None
    repo: GitRepoBuilder
    env: dict[str, str]
    cwd: Path
    git: GitRepoFactory
    bitbucket: BitbucketEmulator | None = None  # with an auth proxy for acme/product (case.bitbucket)

    def write(self, name: str, content: str | bytes) -> None:
        """A file in the repository's working tree (not committed)."""
        path = self.repo.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    def config(self, text: str) -> None:
        self.write(CONFIG, text)

    def commit(self, message: str | bytes) -> None:
        """A commit on the checked-out branch; BITBUCKET_COMMIT follows it."""
        self.repo.commit(message)
        self.env["BITBUCKET_COMMIT"] = self.repo.head()

    def merge_stage(self, *, coda: bool = False, changelog: bool = True, releases: bool = True) -> None:
        """Switch to the merge stage on main (release notes), with the release targets asked for."""
        self.repo.checkout("main")
        self.env.update(BITBUCKET_BRANCH="main", BITBUCKET_COMMIT=self.repo.head())
        if changelog:
            self.env["CHANGELOG_FILE"] = "CHANGELOG.md"
        if releases:
            self.env["AIRTABLE_RELEASES_TABLE"] = "Releases"
        if coda:
            self.use_coda()

    def review_stage(self, *, scopes: Sequence[str] = ("pullrequest",), pr: int = BITBUCKET_PR) -> str:
        """Switch to the review stage of pull request `pr` inside Pipelines, the repository mirrored into the
        Bitbucket emulator, with an access token of `scopes`; returns the token."""
        assert self.bitbucket is not None, "the case must say bitbucket=True"
        mirror(self.bitbucket, self.repo, "acme", "product")
        self.bitbucket.add_pull_request("acme", "product", id=pr, source=FEATURE_BRANCH, title="Rate limit docs")
        token = self.bitbucket.add_token("acme", "product", scopes=scopes, name="Release bot")
        self.env.update(
            CI="true",
            BITBUCKET_PR_ID=str(pr),
            BITBUCKET_PR_DESTINATION_BRANCH="main",
            BITBUCKET_ACCESS_TOKEN=token,
            BITBUCKET_API_URL=self.bitbucket.url,
            BITBUCKET_API_PROXY=self.bitbucket.proxy_url,
        )
        return token

    def use_coda(self, token: str = CODA_TOKEN) -> None:
        assert self.coda is not None, "the case must say coda=True"
        self.env.update(
            CODA_API_TOKEN=token,
            CODA_DOC_ID=SAMPLE_DOC_ID,
            CODA_TABLE="Changelog",
            CODA_PAGE="Release Notes",
            CODA_API_URL=self.coda.url,
        )


@dataclass(frozen=True)
class Case:
    id: str
    input: str  # the bad input, as the docs' table names it
    setup: Callable[[Ctx], None]
    exit_code: int
    message: str | tuple[str, ...]  # fragment(s) of the log the user needs to see
    writes: bool = False  # may anything be written?
    coda: bool = False  # needs the Coda emulator
    bitbucket: bool = False  # needs the Bitbucket emulator (with its auth proxy for acme/product)
    xfail: str | None = None  # the pipe's current behaviour is wrong: why (strict xfail)
    check: Callable[[Ctx, Outcome], None] | None = None  # further assertions

    @property
    def fragments(self) -> tuple[str, ...]:
        return (self.message,) if isinstance(self.message, str) else self.message


@dataclass
class Outcome:
    exit_code: int
    out: str
    airtable_writes: list[str] = field(default_factory=list)
    coda_writes: list[str] = field(default_factory=list)
    bitbucket_writes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # CHANGELOG files and files made outside the repository

    @property
    def written(self) -> list[str]:
        return [*self.airtable_writes, *self.coda_writes, *self.bitbucket_writes, *self.files]

    def problems(self, case: Case, secrets: Sequence[str]) -> list[str]:
        """Every way the outcome breaks the catalogue's promise for `case` (empty: all kept)."""
        found = []
        if self.exit_code != case.exit_code:
            found.append(f"exit code {self.exit_code}, expected {case.exit_code}")
        flat = re.sub(r"(?<=:) {2,}", " ", self.out)  # target lines are aligned in columns
        for fragment in case.fragments:
            if fragment not in self.out and fragment not in flat:
                found.append(f"the log lacks {fragment!r}")
        if "Traceback" in self.out:
            found.append("the log shows a traceback")
        for secret in secrets:
            if secret and secret in self.out:
                found.append("the log shows a token")
        if not case.writes and self.written:
            found.append(f"wrote {self.written}")
        return found


# -- the repository every case starts from -----------------------------------------------------------


def base_repo(git: GitRepoFactory) -> GitRepoBuilder:
    """main: 1.4.0 tagged, then a merged PR for FEAT-105 and a fix naming a record by ID; a feature
    branch for FEAT-107 with one commit, checked out (the build stage)."""
    repo = git("product")
    repo.commit("feat: login page FEAT-101", {"app.txt": "1"})
    repo.tag("1.4.0")
    repo.branch("feature/FEAT-105-dark-mode")
    repo.commit("feat(ui): dark mode", {"ui.txt": "dark"})
    repo.checkout("main")
    repo.merge("feature/FEAT-105-dark-mode", bitbucket_merge_message("feature/FEAT-105-dark-mode", 7))
    repo.commit("fix: build image upgrade (recWorkItem000106)", {"ci.txt": "2"})
    repo.branch(FEATURE_BRANCH)
    repo.commit("docs: explain the API rate limit", {"docs.txt": "1"})
    return repo


def base_env(airtable: AirtableEmulator, repo: GitRepoBuilder, tmp: Path) -> dict[str, str]:
    return {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": airtable.url,
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "BITBUCKET_BRANCH": FEATURE_BRANCH,
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "BITBUCKET_BUILD_NUMBER": "12",
        "REPORT_FILE": str(tmp / "report.json"),
        "TIME_BUDGET": "60",
    }


def make_ctx(
    tmp: Path, airtable: AirtableEmulator, coda: CodaEmulator | None, bitbucket: BitbucketEmulator | None = None
) -> Ctx:
    git = GitRepoFactory(tmp)
    repo = base_repo(git)
    if coda is not None:
        coda.add_token(CODA_TOKEN)
    return Ctx(tmp, airtable, coda, repo, base_env(airtable, repo, tmp), repo.path, git, bitbucket)


def run_case(
    case: Case,
    tmp: Path,
    airtable: AirtableEmulator,
    coda: CodaEmulator | None,
    bitbucket: BitbucketEmulator | None = None,
) -> tuple[Ctx, Outcome]:
    """Set the case up, run the pipe once (its log captured) and collect what was written."""
    ctx = make_ctx(tmp, airtable, coda, bitbucket)
    case.setup(ctx)
    outside_before = _outside_files(ctx)
    changelog = ctx.repo.path / "CHANGELOG.md"
    changelog_before = _file_state(changelog)  # a case may commit one (a link, say)
    airtable.reset_log()
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), fast_pacing():
        code = run(ctx.env, ctx.cwd)
    outcome = Outcome(code, buffer.getvalue())
    outcome.airtable_writes = [
        f"Airtable {r.method} {r.path} -> {r.status}"
        for r in airtable.requests
        if r.method in WRITES and _accepted(r.status) and not r.path.endswith("/listRecords") and not _probe(r.body)
    ]
    if coda is not None:
        outcome.coda_writes = [
            f"Coda {r.method} {r.path} -> {r.status}"
            for r in coda.requests
            if r.method in WRITES and _accepted(r.status) and not _probe(r.body)
        ]
    if bitbucket is not None:
        outcome.bitbucket_writes = [
            f"Bitbucket {r.method} {r.path} -> {r.status}"
            for r in bitbucket.requests
            if r.method in WRITES and _accepted(r.status)
        ]
    outcome.files = [str(changelog)] if _file_state(changelog) != changelog_before else []
    outcome.files += sorted(_outside_files(ctx) - outside_before)
    return ctx, outcome


def _file_state(path: Path) -> tuple[str, str | bytes] | None:
    """What is at `path`, without following a link: None, ("link", target) or ("file", content)."""
    if path.is_symlink():
        return "link", str(path.readlink())
    return ("file", path.read_bytes()) if path.is_file() else None


def _accepted(status: int | None) -> bool:
    return status is not None and 200 <= status < 300


def _probe(body: Any) -> bool:
    """A write that changes nothing, as the preflight's write-access probes send: an Airtable PATCH whose
    records name no field, a Coda upsert of no rows."""
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return False
    if not isinstance(body, dict):
        return False
    if "records" in body:  # an Airtable update; a Coda webhook payload has records too, with no "fields"
        records = body["records"]
        return bool(records) and all(isinstance(r, dict) and "fields" in r and not r["fields"] for r in records)
    return body.get("rows") == []


@contextlib.contextmanager
def fast_pacing():
    """The emulators run without rate limits and apply Coda writes at once: no need for the pipe to pace
    its Airtable requests or to wait seconds before polling Coda (keeps the catalogue fast)."""
    polling = functools.partial(MutationPolling, first_delay=0.0, interval=0.01, max_interval=0.05, timeout=5.0)
    with (
        mock.patch.object(pipe.clients.airtable, "REQUESTS_PER_SECOND", 10_000),
        mock.patch.object(pipe.sinks.coda_rows, "MutationPolling", polling),
        mock.patch.object(pipe.sinks.coda_page, "MutationPolling", polling),
    ):
        yield


def _outside_files(ctx: Ctx) -> set[str]:
    """Files directly in the test's folder, beside the repository (where an escaping path would land)."""
    return {str(p) for p in ctx.tmp.iterdir() if p.is_file() and p.name not in ("report.json",)} - {
        str(ctx.tmp / "report.journal.jsonl")
    }


def secrets_of(ctx: Ctx) -> list[str]:
    return [
        ctx.env.get("AIRTABLE_TOKEN", ""),
        ctx.env.get("CODA_API_TOKEN", ""),
        ctx.env.get("BITBUCKET_ACCESS_TOKEN", ""),
        SAMPLE_READWRITE_TOKEN,
        CODA_TOKEN,
    ]


# -- setups ------------------------------------------------------------------------------------------


def env(**values: str | None) -> Callable[[Ctx], None]:
    """A setup that sets (or, with None, removes) variables."""

    def setup(ctx: Ctx) -> None:
        for name, value in values.items():
            if value is None:
                ctx.env.pop(name, None)
            else:
                ctx.env[name] = value

    return setup


def config(text: str) -> Callable[[Ctx], None]:
    return lambda ctx: ctx.config(text)


def template(text: str | bytes, name: str = "notes.md.j2", **files: str) -> Callable[[Ctx], None]:
    """At merge, with CHANGELOG_TEMPLATE set to a file holding `text` (plus other files)."""

    def setup(ctx: Ctx) -> None:
        ctx.merge_stage()
        ctx.write(name, text)
        for other, content in files.items():
            ctx.write(other.replace("__", "/"), content)
        ctx.env["CHANGELOG_TEMPLATE"] = name

    return setup


def message_at_build(message: str | bytes, raw: bool = False) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        if raw:
            assert isinstance(message, bytes)
            ctx.repo.commit_raw(message)
            ctx.env["BITBUCKET_COMMIT"] = ctx.repo.head()
        else:
            ctx.commit(message)

    return setup


def message_at_merge(message: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        ctx.merge_stage(coda=True)
        ctx.commit(message)

    return setup


def status_of(ctx: Ctx, key: str) -> str | None:
    for record in ctx.airtable.records(SAMPLE_BASE_ID, "Work Items"):
        if record["fields"].get("Key") == key:
            return record["fields"].get("Status")
    return None


def report_of(ctx: Ctx) -> dict[str, Any]:
    return json.loads(Path(ctx.env["REPORT_FILE"]).read_text())


# -- setups that need more than a variable ------------------------------------------------------------


def no_git_repository(ctx: Ctx) -> None:
    ctx.cwd = ctx.tmp / "not-a-clone"
    ctx.cwd.mkdir()


def empty_repository(ctx: Ctx) -> None:
    empty = ctx.git("empty")
    ctx.cwd = empty.path
    ctx.env.pop("BITBUCKET_COMMIT")


def empty_range(ctx: Ctx) -> None:
    ctx.repo.checkout("main").branch("feature/nothing-yet")
    ctx.env.update(BITBUCKET_BRANCH="feature/nothing-yet", BITBUCKET_COMMIT=ctx.repo.head())


def duplicate_key(ctx: Ctx) -> None:
    ctx.airtable.add_records(SAMPLE_BASE_ID, "Work Items", [{"Name": "Copy of docs", "Key": "FEAT-107"}])


def token_for_another_base(ctx: Ctx) -> None:
    ctx.env["AIRTABLE_TOKEN"] = ctx.airtable.add_token("fake-airtable-token-other-base", bases=["appOtherBase000000"])


def coda_token(**restriction: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        assert ctx.coda is not None
        if "doc" in restriction:
            ctx.coda.add_doc(restriction["doc"], "Another doc")
        ctx.coda.add_token("fake-coda-token-restricted", **restriction)
        ctx.merge_stage(coda=True)
        ctx.env["CODA_API_TOKEN"] = "fake-coda-token-restricted"

    return setup


def coda_merge(**values: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        ctx.merge_stage(coda=True)
        ctx.env.update(values)

    return setup


def coda_merge_with_config(text: str) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        ctx.merge_stage(coda=True)
        ctx.config(text)

    return setup


def huge_row(ctx: Ctx) -> None:
    ctx.merge_stage(coda=True, releases=False)
    ctx.commit("feat: big FEAT-107 " + "x" * 90_000)


def huge_request(ctx: Ctx) -> None:
    """30 rows of 75 KB each: 2.2 MB of rows, more than one request may carry."""
    ctx.merge_stage(coda=True, changelog=False, releases=False)
    ctx.env.pop("CODA_PAGE")
    for i in range(30):
        ctx.commit(f"feat: part {i} " + chr(ord("a") + i % 26) * 75_000)


def check_huge_request(ctx: Ctx, outcome: Outcome) -> None:
    assert ctx.coda is not None
    rows = [r for r in ctx.coda.rows(SAMPLE_DOC_ID, "Changelog") if str(r.get("Description", "")).startswith("part")]
    assert len(rows) == 30
    posts = [r for r in ctx.coda.requests if r.method == "POST" and r.path.endswith("/rows")]
    assert len(posts) >= 2 and all(r.status == 202 for r in posts)


def check_huge_message(ctx: Ctx, outcome: Outcome) -> None:
    assert len(outcome.out) < 20_000, "the log repeats the huge message"
    assert status_of(ctx, "FEAT-107") == "In Progress"


def check_feat_107_moved(ctx: Ctx, outcome: Outcome) -> None:
    assert status_of(ctx, "FEAT-107") == "In Progress"


def check_text_kept(*texts: str) -> Callable[[Ctx, Outcome], None]:
    def check(ctx: Ctx, outcome: Outcome) -> None:
        changelog = (ctx.repo.path / "CHANGELOG.md").read_bytes().decode("utf-8")
        assert "\r" not in changelog
        assert ctx.coda is not None
        descriptions = [str(r.get("Description")) for r in ctx.coda.rows(SAMPLE_DOC_ID, "Changelog")]
        for text in texts:
            assert text in changelog
            assert any(text in d for d in descriptions), descriptions
        assert not any("\r" in d for d in descriptions)

    return check


def changelog_outside(ctx: Ctx) -> None:
    ctx.merge_stage()
    ctx.env["CHANGELOG_FILE"] = "../CHANGELOG-escaped.md"


def changelog_is_directory(ctx: Ctx) -> None:
    ctx.merge_stage()
    ctx.write("docs/README.md", "docs\n")
    ctx.env["CHANGELOG_FILE"] = "docs"


OUTSIDE_TEXT = "a file outside the repository\n"


def changelog_link(**links: str) -> Callable[[Ctx], None]:
    """At merge, with files of the clone committed as links to `$TMP/<target>` (which holds OUTSIDE_TEXT)."""

    def setup(ctx: Ctx) -> None:
        ctx.merge_stage(releases=False)
        for name, target in links.items():
            outside = ctx.tmp / target
            outside.write_text(OUTSIDE_TEXT, encoding="utf-8")
            (ctx.repo.path / name).symlink_to(outside)

    return setup


def check_outside_untouched(ctx: Ctx, outcome: Outcome) -> None:
    assert (ctx.tmp / "outside").read_text(encoding="utf-8") == OUTSIDE_TEXT


def report_through_link(ctx: Ctx) -> None:
    elsewhere = ctx.tmp / "elsewhere"
    elsewhere.mkdir()
    (ctx.repo.path / "out").symlink_to(elsewhere)
    ctx.env["REPORT_FILE"] = str(ctx.repo.path / "out" / "report.json")  # in the clone (the step's working folder)


def _assert_no_file(path: Path) -> None:
    assert not path.exists(), f"{path} was written"


def option_injection(ctx: Ctx) -> None:
    ctx.env["BITBUCKET_COMMIT"] = f"--output={ctx.tmp / 'injected.txt'}"


def airtable_answers(body: Any, path: str) -> Callable[[Ctx], None]:
    """Airtable answers every request whose path matches `path` with 200 and `body`."""
    return lambda ctx: ctx.airtable.inject(Fault(status=200, body=body, path=path, times=None))


FORGED = "\nERROR: Done: 0 records, 0 written, 0 unchanged, 0 skipped, 9 failed.\r\x1b[2K\x00"


def forged_log_lines(ctx: Ctx) -> None:
    ctx.env["BITBUCKET_BRANCH"] = FEATURE_BRANCH + FORGED
    ctx.commit("docs: more FEAT-107" + FORGED.replace("\x00", "") + "\n\nINFO: Done: nothing failed")  # git refuses NUL


def check_no_forged_lines(ctx: Ctx, outcome: Outcome) -> None:
    levels = ("INFO: ", "WARNING: ", "ERROR: ", "DEBUG: ", "✔ ", "✖ ")  # the verdict line has no level
    lines = outcome.out.splitlines()
    assert all(line.startswith((*levels, " ")) for line in lines), lines
    assert not any(line.startswith("ERROR: ") for line in lines), lines
    assert not any(c in outcome.out for c in "\r\x1b\x00")


# Shaped like an Airtable personal access token (pat + 14 + "." + 64 hex); not a real one.
PASTED_TOKEN = "patFakeFakeFake00." + "0123456789abcdef" * 4


def check_token_masked(ctx: Ctx, outcome: Outcome) -> None:
    assert PASTED_TOKEN not in (ctx.repo.path / "CHANGELOG.md").read_text(encoding="utf-8")
    assert ctx.coda is not None
    assert not any(PASTED_TOKEN in str(row) for row in ctx.coda.rows(SAMPLE_DOC_ID, "Changelog"))
    assert not any(PASTED_TOKEN in str(r) for r in ctx.airtable.records(SAMPLE_BASE_ID, "Releases"))


def journal_fifo(ctx: Ctx) -> None:
    fifo = ctx.tmp / "journal.jsonl"
    os.mkfifo(fifo)
    ctx.env.update(STAGE="rollback", JOURNAL_FILE=str(fifo))


def journal_table(**renamed: str) -> Callable[[Ctx], None]:
    """AIRTABLE_JOURNAL_TABLE naming a table of the base whose fields are named otherwise than `airtable.journal`."""

    def setup(ctx: Ctx) -> None:
        add_journal_table(ctx.airtable, renamed=renamed)
        ctx.env["AIRTABLE_JOURNAL_TABLE"] = JOURNAL_TABLE

    return setup


def journal_run_unknown(ctx: Ctx) -> None:
    """The build journaled in AIRTABLE_JOURNAL_TABLE (run `build #12`), then a rollback of run `build #99`."""
    journal_table()(ctx)
    with contextlib.redirect_stdout(io.StringIO()), fast_pacing():
        assert run(ctx.env, ctx.cwd) == 0
    ctx.env.update(STAGE="rollback", JOURNAL_RUN="build #99", BITBUCKET_BUILD_NUMBER="13")


def config_link_outside(ctx: Ctx) -> None:
    outside = ctx.tmp / "outside.yml"
    outside.write_text("workflow:\n  human_owned: [Parked]\n", encoding="utf-8")
    (ctx.repo.path / CONFIG).symlink_to(outside)


def _assert_in(outcome: Outcome, fragment: str) -> None:
    assert fragment in outcome.out, outcome.out[-2000:]


def check_no_injection(ctx: Ctx, outcome: Outcome) -> None:
    assert not (ctx.tmp / "injected.txt").exists()


def bitbucket_review(*, scopes: Sequence[str] = ("pullrequest",), deleted: bool = False) -> Callable[[Ctx], None]:
    def setup(ctx: Ctx) -> None:
        ctx.review_stage(scopes=scopes)
        if deleted:
            assert ctx.bitbucket is not None
            ctx.bitbucket.delete_pull_request("acme", "product", BITBUCKET_PR)

    return setup


# -- the Coda webhook (CODA_WEBHOOK_RULE_ID) ------------------------------------------------------------
WEBHOOK_RULE = "grid-auto-Chgl0gRule"
WEBHOOK_PATH = f"/docs/{SAMPLE_DOC_ID}/hooks/automation/{WEBHOOK_RULE}"


def coda_webhook(
    *, enabled: bool = True, publish: bool = True, read_only: bool = False, **values: str
) -> Callable[[Ctx], None]:
    """At merge, a rule with the trigger "Webhook invoked" in the sample doc (on or off); with the Coda table and
    page (`publish`) or the webhook alone; with a read-only Coda token (`read_only`). `values` set variables."""

    def setup(ctx: Ctx) -> None:
        assert ctx.coda is not None
        ctx.coda.add_automation(SAMPLE_DOC_ID, "Announce the release", rule_id=WEBHOOK_RULE, enabled=enabled)
        ctx.merge_stage(coda=True, changelog=publish, releases=publish)
        if not publish:
            ctx.env.pop("CODA_TABLE")
            ctx.env.pop("CODA_PAGE")
        ctx.env["CODA_WEBHOOK_RULE_ID"] = WEBHOOK_RULE
        if read_only:
            ctx.coda.add_token("fake-coda-token-read-only", access="read")
            ctx.env["CODA_API_TOKEN"] = "fake-coda-token-read-only"
        ctx.env.update(values)

    return setup


def check_review_synced_without_a_comment(ctx: Ctx, outcome: Outcome) -> None:
    assert status_of(ctx, "FEAT-107") == "In Review"
    assert ctx.bitbucket is not None
    assert not [w for w in outcome.bitbucket_writes if "/comments" in w]
    assert [w for w in outcome.bitbucket_writes if "/reports/" in w], "the report still goes through the proxy"


MANY_REFERENCES = 1_100


def many_references(ctx: Ctx) -> None:
    """A commit naming 1,100 record IDs, none of which exists (a pasted export, say)."""
    ids = " ".join(f"rec{i:014d}" for i in range(MANY_REFERENCES))
    ctx.commit(f"chore: import the old tracker's links {ids}")
    ctx.review_stage()


def check_many_references(ctx: Ctx, outcome: Outcome) -> None:
    assert ctx.bitbucket is not None
    assert status_of(ctx, "FEAT-107") == "In Review"
    report = ctx.bitbucket.report("acme", "product", ctx.env["BITBUCKET_COMMIT"], "airtable-coda-sync")
    assert len(report.annotations) == 1000 and "acs-more" in report.annotations
    posts = [r for r in ctx.bitbucket.requests if r.operation == "bulkCreateOrUpdateAnnotations"]
    assert len(posts) == 10 and all(len(r.body) <= 100 for r in posts)
    comment = ctx.bitbucket.comments("acme", "product", BITBUCKET_PR)[0].raw
    assert "more records | | |" in comment and len(comment) < 30_000


def webhook_check(*, enabled: bool = True, rule: str = WEBHOOK_RULE) -> Callable[[Ctx], None]:
    """`STAGE: check` with `CODA_WEBHOOK_TEST: 'true'`: the preflight sends the rule a test payload."""

    def setup(ctx: Ctx) -> None:
        coda_webhook(enabled=enabled, publish=False)(ctx)
        ctx.env.update(STAGE="check", CODA_WEBHOOK_TEST="true", CODA_WEBHOOK_RULE_ID=rule)

    return setup


def check_rule_received_nothing(ctx: Ctx, outcome: Outcome) -> None:
    assert ctx.coda is not None
    assert ctx.coda.webhook_calls(SAMPLE_DOC_ID, WEBHOOK_RULE) == []
    triggers = [r.status for r in ctx.coda.requests if r.method == "POST" and "/hooks/automation/" in r.path]
    assert 202 not in triggers


def check_rule_off_then_on(ctx: Ctx, outcome: Outcome) -> None:
    """The rule received nothing; once it is on, the next run triggers it once and writes nothing else."""
    assert ctx.coda is not None
    check_rule_received_nothing(ctx, outcome)
    assert [r.status for r in ctx.coda.requests if r.path == WEBHOOK_PATH] == [422]  # refused, not sent again
    ctx.coda.set_automation_enabled(SAMPLE_DOC_ID, WEBHOOK_RULE, True)
    before = len(ctx.coda.requests)
    ctx.airtable.reset_log()
    with contextlib.redirect_stdout(io.StringIO()), fast_pacing():
        assert run(ctx.env, ctx.cwd) == 0
    assert len(ctx.coda.webhook_payloads(SAMPLE_DOC_ID, WEBHOOK_RULE)) == 1
    sent = [r for r in ctx.coda.requests[before:] if r.method in WRITES and not _probe(r.body)]
    assert [r.path for r in sent] == [WEBHOOK_PATH]  # the rows and the page were complete already
    assert not [r for r in ctx.airtable.requests if r.method in ("PATCH", "POST") and "listRecords" not in r.path]


WEBHOOK_CASES: list[Case] = [
    Case(
        "coda-webhook-rule-off",
        "`CODA_WEBHOOK_RULE_ID` of a rule that is off, at merge (only a trigger can tell)",
        coda_webhook(enabled=False),
        1,
        ("CODA_WEBHOOK_RULE_ID: Coda would not run automation rule grid-auto-Chgl0gRule", "turn it on"),
        writes=True,
        coda=True,
        check=check_rule_off_then_on,
    ),
    Case(
        "coda-webhook-rule-off-check",
        "a rule that is off, found by `STAGE: check` with `CODA_WEBHOOK_TEST: 'true'` (before going live)",
        webhook_check(enabled=False),
        2,
        "test payload: CODA_WEBHOOK_RULE_ID: Coda would not run automation rule grid-auto-Chgl0gRule",
        coda=True,
        check=check_rule_received_nothing,
    ),
    Case(
        "coda-webhook-rule-unknown",
        "`CODA_WEBHOOK_RULE_ID: grid-auto-NoSuchRule` (no such rule in the doc), at merge",
        coda_webhook(CODA_WEBHOOK_RULE_ID="grid-auto-NoSuchRule"),
        1,
        "CODA_WEBHOOK_RULE_ID: Coda found no automation rule grid-auto-NoSuchRule in Coda doc Rn7Q2xWk4T",
        writes=True,
        coda=True,
        check=check_rule_received_nothing,
    ),
    Case(
        "coda-webhook-rule-unknown-check",
        "an unknown rule ID, found by `STAGE: check` with `CODA_WEBHOOK_TEST: 'true'`",
        webhook_check(rule="grid-auto-NoSuchRule"),
        2,
        "test payload: CODA_WEBHOOK_RULE_ID: Coda found no automation rule grid-auto-NoSuchRule",
        coda=True,
    ),
    Case(
        "coda-webhook-token-read-only",
        "a Coda token that may only read, with the webhook alone (no `CODA_TABLE`)",
        coda_webhook(publish=False, read_only=True),
        2,
        "Triggering automation rule grid-auto-Chgl0gRule needs write access to the doc (nothing was written)",
        coda=True,
        check=check_rule_received_nothing,
    ),
    Case(
        "coda-webhook-doc-missing",
        "`CODA_DOC_ID` of a doc that does not exist, with the webhook alone",
        coda_webhook(publish=False, CODA_DOC_ID="NoSuchDoc0"),
        2,
        "CODA_DOC_ID: Coda found no Coda doc NoSuchDoc0",
        coda=True,
        check=check_rule_received_nothing,
    ),
    Case(
        "coda-webhook-rule-id-malformed",
        "`CODA_WEBHOOK_RULE_ID` is the rule's name, not its ID",
        env(CODA_WEBHOOK_RULE_ID="Announce the release", CODA_API_TOKEN=CODA_TOKEN, CODA_DOC_ID=SAMPLE_DOC_ID),
        2,
        "CODA_WEBHOOK_RULE_ID: got 'Announce the release'; expected the automation rule's ID",
    ),
    Case(
        "coda-webhook-stages-unknown",
        "`CODA_WEBHOOK_STAGES: merge,release` (not a stage)",
        env(CODA_WEBHOOK_RULE_ID=WEBHOOK_RULE, CODA_DOC_ID=SAMPLE_DOC_ID, CODA_WEBHOOK_STAGES="merge,release"),
        2,
        "CODA_WEBHOOK_STAGES: got 'merge,release'; expected stage names among build, review, merge, deploy",
    ),
]

# -- STAGE: start (a branch for an Airtable record) -----------------------------------------------------
START_RECORD = "recWorkItem000108"  # FEAT-108 'Bulk import', with no branch yet (FEAT-107 has one, by key)
START_BRANCH = f"feature/{START_RECORD}-bulk-import"


def start_work(
    *,
    scopes: Sequence[str] = ("repository:write",),
    records: Sequence[dict[str, Any]] = (),
    config_text: str | None = None,
    **values: str,
) -> Callable[[Ctx], None]:
    """The custom pipeline `start-work` on main: STAGE: start with `values` (RECORD_ID, START_VIEW...), the
    repository mirrored into the Bitbucket emulator, an access token of `scopes`; `records` are added to the
    work items first; `config_text` is the config file."""

    def setup(ctx: Ctx) -> None:
        assert ctx.bitbucket is not None, "the case must say bitbucket=True"
        if config_text is not None:
            ctx.config(config_text)
        if records:
            ctx.airtable.add_records(SAMPLE_BASE_ID, "Work Items", records)
        ctx.repo.checkout("main")
        mirror(ctx.bitbucket, ctx.repo, "acme", "product")
        token = ctx.bitbucket.add_token("acme", "product", scopes=scopes, name="Start bot")
        ctx.env.update(
            STAGE="start",
            BITBUCKET_BRANCH="main",
            BITBUCKET_COMMIT=ctx.repo.head(),
            BITBUCKET_ACCESS_TOKEN=token,
            BITBUCKET_API_URL=ctx.bitbucket.url,
        )
        ctx.env.update(values)

    return setup


def check_no_branch_created(ctx: Ctx, outcome: Outcome) -> None:
    assert ctx.bitbucket is not None
    assert not [b for b in ctx.bitbucket.branches("acme", "product") if b.startswith("feature/rec")]
    assert not [w for w in outcome.bitbucket_writes if "/refs/branches" in w]


START_CASES: list[Case] = [
    Case(
        "start-unknown-record",
        "`STAGE: start` with a `RECORD_ID` no record of the table has",
        start_work(RECORD_ID="recNoSuchRecord00"),
        2,
        "RECORD_ID: got 'recNoSuchRecord00'; table 'Work Items' of base appSampleProduct1 has no record with this ID",
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-malformed-record-id",
        "`STAGE: start` with `RECORD_ID: recWorkItem107` (too short)",
        start_work(RECORD_ID="recWorkItem107"),
        2,
        "RECORD_ID: got 'recWorkItem107'; expected an Airtable record ID: rec followed by exactly 14 letters",
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-no-record",
        "`STAGE: start` with neither `RECORD_ID` nor `START_VIEW`",
        start_work(),
        2,
        "RECORD_ID: is required with STAGE: start (the record to start work on), or set START_VIEW",
        bitbucket=True,
    ),
    Case(
        "start-empty-title",
        "`STAGE: start` for a record whose title (the primary field) is empty",
        start_work(RECORD_ID="recWorkItem000110", records=[{"id": "recWorkItem000110", "fields": {"Key": "FEAT-110"}}]),
        2,
        "RECORD_ID: record recWorkItem000110: its title is empty (field 'Name') and the branch name is made from it",
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-branch-of-another-record",
        "`STAGE: start` for a record whose `Branch` field names another record's branch (a copied record)",
        start_work(
            RECORD_ID="recWorkItem000111",
            records=[{"id": "recWorkItem000111", "fields": {"Name": "Bulk import", "Branch": START_BRANCH}}],
        ),
        2,
        (
            f"its field 'Branch' holds '{START_BRANCH}', the branch of record {START_RECORD} (a copied record?): "
            "clear the field, then start it again"
        ),
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-bitbucket-token-read-only",
        "`STAGE: start` with a `BITBUCKET_ACCESS_TOKEN` without write access (scope `pullrequest` only)",
        start_work(RECORD_ID=START_RECORD, scopes=("pullrequest",)),
        2,
        (
            f"BITBUCKET_ACCESS_TOKEN lacks the scope repository:write needed for creating branch '{START_BRANCH}' "
            "(403: it has pullrequest); create a repository access token with the `repository:write` scope",
            "Nothing was written.",
        ),
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-airtable-token-read-only",
        "`STAGE: start` with an `AIRTABLE_TOKEN` that may only read",
        start_work(
            RECORD_ID=START_RECORD,
            AIRTABLE_TOKEN=SAMPLE_READONLY_TOKEN,
            config_text="airtable:\n  fields:\n    title: Name\n",  # nor read the schema: the title field is named
        ),
        2,
        "AIRTABLE_TOKEN may read table 'Work Items' but not write it",
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-airtable-token-read-only-branch-exists",
        "`STAGE: start` with an `AIRTABLE_TOKEN` that may only read, for a record whose branch exists (by its key)",
        start_work(
            RECORD_ID="recWorkItem000107",
            AIRTABLE_TOKEN=SAMPLE_READONLY_TOKEN,
            config_text="airtable:\n  fields:\n    title: Name\n",
        ),
        2,
        "Airtable let the token read but not write: add the scope data.records:write to the token",
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-title-field-unknown",
        "`STAGE: start` with an `AIRTABLE_TOKEN` that may not read the base schema, and no `airtable.fields.title`",
        start_work(RECORD_ID=START_RECORD, AIRTABLE_TOKEN=SAMPLE_READONLY_TOKEN),
        2,
        "The title field is unknown: the branch name comes from the record's title",
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-branch-field-null",
        "`STAGE: start` with `airtable.fields.branch: null` in the config file",
        start_work(RECORD_ID=START_RECORD, config_text="airtable:\n  fields:\n    branch: null\n"),
        2,
        "airtable.fields.branch is null in the config file: STAGE: start writes the branch it creates there",
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-unknown-view",
        "`STAGE: start` with a `START_VIEW` the table does not have",
        start_work(START_VIEW="Ready for Dve"),
        2,
        "START_VIEW: got 'Ready for Dve'; table 'Work Items' has no view with this name or ID. Its views: 'Grid view'",
        bitbucket=True,
        check=check_no_branch_created,
    ),
    Case(
        "start-no-main-branch",
        "`STAGE: start` with `MAIN_BRANCH: trunk`, a branch the repository does not have",
        start_work(RECORD_ID=START_RECORD, MAIN_BRANCH="trunk"),
        2,
        "MAIN_BRANCH: got 'trunk'; repository acme/product has no such branch to start branches from",
        bitbucket=True,
        check=check_no_branch_created,
    ),
]

# Why entries are marked xfail: the pipe's behaviour is wrong there and the fix belongs in a file this
# change does not touch (see docs/bad-input.md, "Known gaps").
UNKNOWN_RECORD = "recNoSuchRecord00"
LISTING = r"/Work Items(/listRecords)?$"  # the work items' listing (and their PATCHes, never reached)
FEAT_107_MOVED = "- FEAT-107 (recWorkItem000107) 'API rate limit docs': status Ready -> In Progress"
WORKFLOW_WITH_DOING = """\
workflow:
  statuses: [Planned, Ready, Doing, In Review, Merged, On Staging, Released]
  stages: {build: Doing, review: In Review, merge: Merged, deploy: Released}
"""
TEMPLATE_OK_HEAD = "{% for r in releases %}## {{ r.version }}\n"
# "Billion laughs": nine levels of ten aliases to the level before, 10**9 values once expanded.
ALIAS_BOMB = "workflow:\n  statuses: [Planned]\nrelease:\n" + "".join(
    f"  a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10 if n else ["lol"] * 10) + "]\n" for n in range(9)
)

CASES: list[Case] = [
    # -- the configuration file -------------------------------------------------------------------
    Case(
        "yaml-syntax-error",
        "config file that is not valid YAML (an unclosed `[`)",
        config("airtable:\n  fields:\n    status: [Status\n    branch: Branch\n"),
        2,
        (".airtable-coda-sync.yml line", "not valid YAML"),
    ),
    Case(
        "yaml-tab-indent",
        "config file indented with a tab",
        config("airtable:\n\tfields: {}\n"),
        2,
        ".airtable-coda-sync.yml line 2: not valid YAML",
    ),
    Case(
        "yaml-not-a-mapping",
        "config file whose top level is a list",
        config("- status: Status\n"),
        2,
        "expected a mapping at the top level",
    ),
    Case(
        "yaml-unknown-key",
        "misspelt key in the config file (`feilds`)",
        config("airtable:\n  feilds:\n    status: State\n"),
        2,
        ".airtable-coda-sync.yml line 2 (airtable.feilds): unknown key",
    ),
    Case(
        "yaml-wrong-type",
        "a string where the config file wants a list (`workflow.statuses`)",
        config("workflow:\n  statuses: In Progress\n"),
        2,
        "(workflow.statuses): Input should be a valid list",
    ),
    Case(
        "yaml-unknown-status",
        "a stage mapped to a status the workflow does not list",
        config("workflow:\n  stages:\n    build: Doing\n"),
        2,
        "'Doing' is not one of the statuses",
    ),
    Case(
        "yaml-release-groups-wrong",
        "release notes groups given as a string",
        config("release:\n  groups: features\n"),
        2,
        "groups",
    ),
    Case(
        "yaml-not-utf8",
        "config file that is not UTF-8",
        lambda ctx: ctx.write(CONFIG, b"workflow:\n  statuses: [\xff\xfe]\n"),
        2,
        ".airtable-coda-sync.yml: cannot be read",
    ),
    Case(
        "yaml-nested-deep",
        "config file nested 5,000 levels deep (`[[[[…]]]]`)",
        config("workflow:\n  statuses: " + "[" * 5000 + "]" * 5000 + "\n"),
        2,
        ".airtable-coda-sync.yml: nested more than 50 levels deep (line 2)",
    ),
    Case(
        "yaml-alias-bomb",
        "config file whose aliases expand to a billion values (`&a [*b, *b, …]`)",
        config(ALIAS_BOMB),
        2,
        ".airtable-coda-sync.yml: expands to more than 100,000 values",
    ),
    Case(
        "yaml-huge",
        "a 2 MB config file",
        config("# " + "x" * (2 * 1024 * 1024) + "\n"),
        2,
        ".airtable-coda-sync.yml: is larger than 1.0 MiB (2.0 MiB)",
    ),
    Case(
        "config-file-link-outside",
        "the default config file committed as a link to a file outside the repository",
        config_link_outside,
        2,
        ".airtable-coda-sync.yml: is a link to '",
        check=lambda ctx, outcome: _assert_in(outcome, "outside.yml', outside the repository; give a file inside it"),
    ),
    Case(
        "config-file-missing",
        "`CONFIG_FILE` names a file that does not exist",
        env(CONFIG_FILE="ci/sync.yml"),
        2,
        "CONFIG_FILE: got 'ci/sync.yml'; no such file in the repository",
    ),
    Case(
        "config-file-outside",
        "`CONFIG_FILE` points outside the repository",
        env(CONFIG_FILE="../../etc/passwd"),
        2,
        "CONFIG_FILE: got '../../etc/passwd'; expected a path inside the repository",
    ),
    # -- variables ---------------------------------------------------------------------------------
    Case(
        "variable-misspelt",
        "`AIRTABLE_TABEL` instead of `AIRTABLE_TABLE`",
        env(AIRTABLE_TABLE=None, AIRTABLE_TABEL="Work Items"),
        2,
        ("AIRTABLE_TABLE: is required", "AIRTABLE_TABEL is not a variable of this pipe and is ignored; did you mean"),
    ),
    Case(
        "token-missing",
        "no `AIRTABLE_TOKEN`",
        env(AIRTABLE_TOKEN=None),
        2,
        "AIRTABLE_TOKEN: is required (or set DRY_RUN: 'true' to only print the plan)",
    ),
    Case(
        "boolean-wrong",
        "`DRY_RUN: sometimes`",
        env(DRY_RUN="sometimes"),
        2,
        "DRY_RUN: got 'sometimes'; expected a boolean: true, false, yes, no, 1 or 0",
    ),
    Case(
        "stage-unknown",
        "`STAGE: release` (not a stage)",
        env(STAGE="release"),
        2,
        "STAGE: got 'release'; expected",
    ),
    Case(
        "base-id-malformed",
        "`AIRTABLE_BASE_ID` is the base's name, not its ID",
        env(AIRTABLE_BASE_ID="Product"),
        2,
        "AIRTABLE_BASE_ID: got 'Product'; expected an Airtable base ID",
    ),
    Case(
        "url-malformed",
        "`AIRTABLE_API_URL` without a scheme",
        env(AIRTABLE_API_URL="api.airtable.com"),
        2,
        "AIRTABLE_API_URL: got 'api.airtable.com'; expected an http:// or https:// URL",
    ),
    Case(
        "url-query-string",
        "`AIRTABLE_API_URL` with a query string (`…/?proxy=1`)",
        env(AIRTABLE_API_URL="https://api.airtable.com/?proxy=1"),
        2,
        "AIRTABLE_API_URL: got 'https://api.airtable.com/?proxy=1'; expected a base URL without a query string",
    ),
    Case(
        "coda-url-fragment",
        "`CODA_API_URL` with a fragment (`…/apis/v1#docs`)",
        lambda ctx: (ctx.merge_stage(coda=True), ctx.env.update(CODA_API_URL="https://coda.io/apis/v1#docs")),
        2,
        "CODA_API_URL: got 'https://coda.io/apis/v1#docs'; expected a base URL without a query string (?...) or "
        "fragment (#...)",
        coda=True,
    ),
    Case(
        "number-malformed",
        "`TIME_BUDGET: ten minutes`",
        env(TIME_BUDGET="ten minutes"),
        2,
        "TIME_BUDGET: got 'ten minutes'; expected a number of seconds",
    ),
    Case(
        "number-negative",
        "`AIRTABLE_RATE_LIMIT_WAIT: -1`",
        env(AIRTABLE_RATE_LIMIT_WAIT="-1"),
        2,
        "AIRTABLE_RATE_LIMIT_WAIT: got '-1'; expected zero or a positive number of seconds",
    ),
    Case(
        "share-above-the-base",
        "`AIRTABLE_REQUESTS_PER_SECOND: 10`",
        env(AIRTABLE_REQUESTS_PER_SECOND="10"),
        2,
        "AIRTABLE_REQUESTS_PER_SECOND: got '10'; expected requests per second, more than 0 and at most 5",
    ),
    Case(
        "version-malformed",
        "`VERSION: next`",
        env(VERSION="next"),
        2,
        "VERSION: got 'next'",
    ),
    Case(
        "coda-incomplete",
        "`CODA_API_TOKEN` without `CODA_DOC_ID` and `CODA_TABLE`",
        env(CODA_API_TOKEN=CODA_TOKEN),
        2,
        ("CODA_DOC_ID: is required when CODA_API_TOKEN is given", "CODA_TABLE: is required"),
    ),
    Case(
        "many-problems",
        "several wrong variables at once",
        env(DRY_RUN="maybe", AIRTABLE_BASE_ID="base", FAIL_ON_ERROR="nope"),
        2,
        ("DRY_RUN: got 'maybe'", "AIRTABLE_BASE_ID: got 'base'", "FAIL_ON_ERROR: got 'nope'"),
    ),
    # -- KEY_PATTERN and TAG_PATTERN ---------------------------------------------------------------
    Case(
        "key-pattern-invalid",
        r"`KEY_PATTERN: FEAT-(\d+` (unbalanced parenthesis)",
        env(KEY_PATTERN=r"FEAT-(\d+"),
        2,
        "KEY_PATTERN: got 'FEAT-(\\\\d+'; expected a regular expression such as FEAT-\\d+",
    ),
    Case(
        "key-pattern-matches-empty",
        r"`KEY_PATTERN: \d*` (matches the empty string)",
        env(KEY_PATTERN=r"\d*"),
        2,
        "matches the empty string; it must match at least one character",
    ),
    Case(
        "key-pattern-backtracking",
        "`KEY_PATTERN: (a+)+$` (catastrophic backtracking) and a commit message of 100,000 `a`s",
        lambda ctx: (ctx.env.update(KEY_PATTERN="(a+)+$"), ctx.commit("a" * 100_000 + "!")),
        2,
        ("KEY_PATTERN: searching the message of commit ", "for '(a+)+$' took longer than 2s: the pattern backtracks"),
    ),
    Case(
        "key-pattern-without-field",
        "`KEY_PATTERN` without `KEY_FIELD`",
        env(KEY_FIELD=None),
        2,
        "KEY_FIELD: is required when KEY_PATTERN is set",
    ),
    Case(
        "tag-pattern-invalid",
        r"`TAG_PATTERN: ^v(\d+` (unbalanced parenthesis)",
        env(TAG_PATTERN=r"^v(\d+"),
        2,
        "TAG_PATTERN: got '^v(\\\\d+'",
    ),
    # -- templates ---------------------------------------------------------------------------------
    Case(
        "template-syntax-error",
        "changelog template with a syntax error",
        template(TEMPLATE_OK_HEAD + "{{ r.version }\n{% endfor %}\n"),
        2,
        ("changelog template notes.md.j2, line 2", "syntax error"),
    ),
    Case(
        "template-undefined",
        "changelog template using a variable that does not exist",
        template("{{ no_such_variable }}\n"),
        2,
        ("notes.md.j2, line 1", "undefined: 'no_such_variable' is undefined"),
    ),
    Case(
        "template-sandbox-escape",
        "changelog template reaching Python internals (`''.__class__.__mro__`)",
        template("{{ ''.__class__.__mro__[1].__subclasses__() }}\n"),
        2,
        ("notes.md.j2, line 1", "not allowed in the sandbox"),
    ),
    Case(
        "template-mutation",
        "changelog template changing its context (`releases.append`)",
        template("{% set _ = releases.append(1) %}x\n"),
        2,
        ("notes.md.j2, line 1", "not allowed in the sandbox"),
    ),
    Case(
        "template-huge-output",
        "changelog template building a 10 MB string",
        template("{{ 'x' * 10000000 }}\n"),
        2,
        "repeating a sequence to more than 100000 items is not allowed",
    ),
    Case(
        "template-include-outside",
        "changelog template including a file outside the repository",
        template("{% include '../../outside.j2' %}\n"),
        2,
        "leaves the repository",
    ),
    Case(
        "template-missing",
        "`CHANGELOG_TEMPLATE` names a file that does not exist",
        lambda ctx: (ctx.merge_stage(), ctx.env.update(CHANGELOG_TEMPLATE="templates/nope.md.j2")),
        2,
        "templates/nope.md.j2",
    ),
    Case(
        "template-not-utf8",
        "changelog template that is not UTF-8",
        template(b"## {{ releases[0].version }} \xff\xfe\n"),
        2,
        "cannot be read",
    ),
    # -- git -------------------------------------------------------------------------------------
    Case(
        "no-git-repository",
        "the pipe runs outside a git clone",
        no_git_repository,
        2,
        "No git repository",
    ),
    Case(
        "empty-repository",
        "a repository without any commit",
        empty_repository,
        2,
        "Run the pipe in a step that clones a repository with at least one commit",
    ),
    Case(
        "commit-not-in-clone",
        "`BITBUCKET_COMMIT` is not in the clone",
        env(BITBUCKET_COMMIT="0123456789abcdef0123456789abcdef01234567"),
        0,
        "commit 0123456789abcdef0123456789abcdef01234567 is not in this clone; using HEAD instead",
        writes=True,
    ),
    Case(
        "commit-option-injection",
        "`BITBUCKET_COMMIT` that looks like a git option (`--output=…`)",
        option_injection,
        0,
        "is not in this clone; using HEAD instead",
        writes=True,
        check=check_no_injection,
    ),
    Case(
        "main-branch-missing",
        "`MAIN_BRANCH: trunk`, a branch the clone does not have",
        env(MAIN_BRANCH="trunk"),
        0,
        "branch 'trunk' is not in this clone",
        writes=True,
    ),
    Case(
        "empty-range",
        "a build of a branch with no commits of its own",
        empty_range,
        0,
        ("Commits: 0", "No Airtable records are referenced by this run."),
    ),
    # -- records -----------------------------------------------------------------------------------
    Case(
        "record-id-unknown",
        "a commit naming a record ID the table does not have",
        lambda ctx: ctx.commit(f"docs: see {UNKNOWN_RECORD}"),
        0,
        f"- {UNKNOWN_RECORD}: skipped, no such record in the table",
        writes=True,
    ),
    Case(
        "record-id-malformed",
        "record IDs one character short or in capitals (`recWorkItem00010`, `RECWORKITEM000107`)",
        lambda ctx: (
            env(BITBUCKET_BRANCH="feature/docs", KEY_PATTERN=None, KEY_FIELD=None)(ctx),
            ctx.commit("docs: fixes recWorkItem00010 and RECWORKITEM000107"),
        ),
        0,
        ("'recWorkItem00010' looks like an Airtable record ID but is not one", "'RECWORKITEM000107'"),
    ),
    Case(
        "key-unknown",
        "a commit naming a key no record has (`FEAT-999`)",
        lambda ctx: ctx.commit("docs: see FEAT-999"),
        0,
        "- FEAT-999: skipped, no record has this key",
        writes=True,
    ),
    Case(
        "key-duplicate",
        "a key two records share",
        duplicate_key,
        0,
        "the key matches 2 records",
    ),
    Case(
        "key-field-unknown",
        "`KEY_FIELD: Ticket`, a field the table does not have",
        env(KEY_FIELD="Ticket"),
        2,
        "has no field 'Ticket'",
    ),
    Case(
        "field-unknown",
        "the config file maps a field the table does not have",
        config("airtable:\n  fields:\n    branch: Git Branch\n"),
        2,
        "has no field 'Git Branch'",
    ),
    Case(
        "field-wrong-type",
        "the config file maps the branch to a date field",
        config("airtable:\n  fields:\n    branch: Merged At\n"),
        2,
        "airtable.fields.branch: 'Merged At' (fldWIMergedAt0000) is of type dateTime",
    ),
    Case(
        "status-option-missing",
        "the workflow moves records to a status the select field does not offer",
        config(WORKFLOW_WITH_DOING),
        2,
        "has no option 'Doing'",
    ),
    # -- Airtable tokens, base, tables --------------------------------------------------------------
    Case(
        "airtable-token-invalid",
        "`AIRTABLE_TOKEN` Airtable does not know",
        env(AIRTABLE_TOKEN="fake-airtable-token-revoked"),
        2,
        "AIRTABLE_TOKEN",
    ),
    Case(
        "airtable-token-read-only",
        "a token without the scopes `data.records:write` and `schema.bases:read`",
        env(AIRTABLE_TOKEN=SAMPLE_READONLY_TOKEN),
        2,
        "Airtable let the token read but not write: add the scope data.records:write to the token",
    ),
    Case(
        "airtable-token-other-base",
        "a token the base is not added to",
        token_for_another_base,
        2,
        "Check AIRTABLE_BASE_ID and the table name 'Work Items'",
    ),
    Case(
        "airtable-base-missing",
        "`AIRTABLE_BASE_ID` of a base that does not exist",
        env(AIRTABLE_BASE_ID="appNoSuchBase0000"),
        2,
        "AIRTABLE_BASE_ID: Airtable found no base 'appNoSuchBase0000'",
    ),
    Case(
        "airtable-table-missing",
        "`AIRTABLE_TABLE: Work Itemz`",
        env(AIRTABLE_TABLE="Work Itemz"),
        2,
        "AIRTABLE_TABLE: there is no table 'Work Itemz' in base appSampleProduct1; tables there: Work Items",
    ),
    Case(
        "airtable-answer-wrong-shape",
        "Airtable answers a listing with 200 and `records` that is not a list",
        airtable_answers({"records": "nope"}, LISTING),
        2,
        "with a body that is not an Airtable answer while reading records by Key: 'records' is a JSON string",
    ),
    Case(
        "airtable-record-without-id",
        "Airtable answers a listing with a record without `id`",
        airtable_answers({"records": [{"createdTime": "2024-01-01T00:00:00.000Z", "fields": {}}]}, LISTING),
        2,
        "records[0] has no 'id' string",
    ),
    Case(
        "airtable-schema-wrong-shape",
        "Airtable answers the schema request with `tables` that is not a list",
        airtable_answers({"tables": {"Work Items": {}}}, "/meta/bases/"),
        2,
        "while reading the base schema: 'tables' is a JSON object, not a list",
    ),
    Case(
        "airtable-offset-loop",
        "Airtable answers every page of a listing with the same `offset`",
        airtable_answers({"records": [], "offset": "itrLoop/recLoop"}, LISTING),
        2,
        "Airtable returned the same offset twice while reading records by Key",
    ),
    Case(
        "releases-table-missing",
        "`AIRTABLE_RELEASES_TABLE: Releasez` at merge",
        lambda ctx: (ctx.merge_stage(), ctx.env.update(AIRTABLE_RELEASES_TABLE="Releasez")),
        2,
        "AIRTABLE_RELEASES_TABLE: there is no table 'Releasez' in base appSampleProduct1",
    ),
    Case(
        "deployments-table-missing",
        "`AIRTABLE_DEPLOYMENTS_TABLE: Deploys` at deploy",
        lambda ctx: (
            ctx.merge_stage(),
            ctx.env.update(AIRTABLE_DEPLOYMENTS_TABLE="Deploys", BITBUCKET_DEPLOYMENT_ENVIRONMENT="staging"),
        ),
        2,
        "Check AIRTABLE_BASE_ID and the table name 'Deploys'",
    ),
    # -- Coda ------------------------------------------------------------------------------------
    Case(
        "coda-token-invalid",
        "`CODA_API_TOKEN` Coda does not know",
        coda_merge(CODA_API_TOKEN="fake-coda-token-revoked"),
        2,
        "CODA_API_TOKEN: Coda refused the token",
        coda=True,
    ),
    Case(
        "coda-token-read-only",
        "a Coda token that may only read",
        coda_token(access="read"),
        2,
        "it needs read and write access to Coda doc Rn7Q2xWk4T",
        coda=True,
    ),
    Case(
        "coda-token-other-doc",
        "a Coda token restricted to another doc",
        coda_token(doc="OtherDoc00"),
        2,
        "it needs read and write access to Coda doc Rn7Q2xWk4T",
        coda=True,
    ),
    Case(
        "coda-doc-missing",
        "`CODA_DOC_ID` of a doc that does not exist",
        coda_merge(CODA_DOC_ID="NoSuchDoc0"),
        2,
        "CODA_DOC_ID: Coda found no Coda doc NoSuchDoc0",
        coda=True,
    ),
    Case(
        "coda-table-missing",
        "`CODA_TABLE: Changelogz`",
        coda_merge(CODA_TABLE="Changelogz"),
        2,
        "CODA_TABLE: there is no table 'Changelogz' in Coda doc Rn7Q2xWk4T; tables there: 'Changelog'",
        coda=True,
    ),
    Case(
        "coda-column-missing",
        "the config file maps a Coda column the table does not have",
        coda_merge_with_config("coda:\n  columns:\n    scope: Area\n"),
        2,
        ("coda.columns.scope", "'Area'"),
        coda=True,
    ),
    Case(
        "coda-page-missing",
        "`CODA_PAGE: Notes` (no such page)",
        coda_merge(CODA_PAGE="Notes"),
        2,
        "CODA_PAGE: there is no page 'Notes' in Coda doc Rn7Q2xWk4T",
        coda=True,
    ),
    Case(
        "coda-select-option-missing",
        "a commit type the Coda select column has no option for",
        lambda ctx: (ctx.merge_stage(coda=True), ctx.commit("security: rotate keys FEAT-107")),
        0,
        "is not an option of the select column 'Type'",
        writes=True,
        coda=True,
    ),
    Case(
        "coda-row-over-85kb",
        "a 90 KB commit subject (over Coda's 85 KB row limit)",
        huge_row,
        1,
        "over Coda's 85 KB limit per row",
        writes=True,
        coda=True,
    ),
    Case(
        "coda-request-over-2mb",
        "30 rows of 75 KB each (2.2 MB, over Coda's 2 MB request limit)",
        huge_request,
        0,
        "Coda table Changelog: written (32 written)",
        writes=True,
        coda=True,
        check=check_huge_request,
    ),
    *WEBHOOK_CASES,
    *START_CASES,
    # -- commit messages -----------------------------------------------------------------------------
    Case(
        "message-huge",
        "a 5 MB commit message",
        message_at_build("docs: huge FEAT-107\n\n" + ("lorem ipsum " * 440_000)),
        0,
        FEAT_107_MOVED,
        writes=True,
        check=check_huge_message,
    ),
    Case(
        "message-binary",
        "a commit message with invalid UTF-8 and control bytes",
        message_at_build(b"docs: \xff\xfe\xc3\x28 FEAT-107 \x01\x1b[31m\n", raw=True),
        0,
        FEAT_107_MOVED,
        writes=True,
        check=check_feat_107_moved,
    ),
    Case(
        "message-crlf",
        "a commit message with CRLF line ends",
        message_at_merge("feat: windows line ends FEAT-107\r\n\r\nBody.\r\n"),
        0,
        "Coda table Changelog: written",
        writes=True,
        coda=True,
        check=check_text_kept("windows line ends"),
    ),
    Case(
        "message-emoji",
        "emoji in a commit message",
        message_at_merge("feat: 🚀 launch rockets 👩‍💻 FEAT-107"),
        0,
        "Coda table Changelog: written",
        writes=True,
        coda=True,
        check=check_text_kept("🚀 launch rockets 👩‍💻"),
    ),
    Case(
        "message-right-to-left",
        "right-to-left text (and a bidi override) in a commit message",
        message_at_merge("fix: תיקון שגיאת התחברות \u202eFEAT-107"),
        0,
        "Coda table Changelog: written",
        writes=True,
        coda=True,
        check=check_text_kept("תיקון שגיאת התחברות"),
    ),
    # -- the journal of a rollback ----------------------------------------------------------------------
    Case(
        "journal-dev-zero",
        "`JOURNAL_FILE: /dev/zero` (a device that never ends)",
        env(STAGE="rollback", JOURNAL_FILE="/dev/zero"),
        2,
        "JOURNAL_FILE: '/dev/zero' is a character device, not a regular file",
    ),
    Case(
        "journal-fifo",
        "`JOURNAL_FILE` names a FIFO (reading it waits for a writer forever)",
        journal_fifo,
        2,
        ("JOURNAL_FILE: '", "journal.jsonl' is a FIFO (named pipe), not a regular file"),
    ),
    Case(
        "journal-directory",
        "`JOURNAL_FILE` names a folder",
        lambda ctx: ctx.env.update(STAGE="rollback", JOURNAL_FILE=str(ctx.tmp)),
        2,
        "is a folder, not a regular file",
    ),
    # -- the change journal in Airtable -------------------------------------------------------------------
    Case(
        "journal-table-wrong-fields",
        "`AIRTABLE_JOURNAL_TABLE` of a table whose fields are not those of `airtable.journal` (`Before` is "
        "named `Old Value`)",
        journal_table(Before="Old Value"),
        2,
        (
            "Table 'Change Journal' (tblChangeJournal1) has no field 'Before' (before)",
            "airtable.journal.before: there is no field 'Before'",
        ),
    ),
    Case(
        "journal-table-missing",
        "`AIRTABLE_JOURNAL_TABLE: Change Jurnal` (no such table in the base)",
        env(AIRTABLE_JOURNAL_TABLE="Change Jurnal"),
        2,
        "AIRTABLE_JOURNAL_TABLE: there is no table 'Change Jurnal' in base appSampleProduct1",
    ),
    Case(
        "journal-run-unknown",
        "`STAGE: rollback` with `JOURNAL_RUN: build #99`, a run the journal table holds no entry of",
        journal_run_unknown,
        2,
        "JOURNAL_RUN: got 'build #99'; the table 'Change Journal' (AIRTABLE_JOURNAL_TABLE) holds no entry of that "
        "run. Runs journaled most recently: 'build #12'.",
    ),
    Case(
        "journal-run-without-table",
        "`JOURNAL_RUN` without `AIRTABLE_JOURNAL_TABLE`",
        env(STAGE="rollback", JOURNAL_RUN="build #12"),
        2,
        "AIRTABLE_JOURNAL_TABLE: is required with JOURNAL_RUN (the table the run was journaled in)",
    ),
    Case(
        "journal-run-and-file",
        "both `JOURNAL_RUN` and `JOURNAL_FILE`",
        env(STAGE="rollback", JOURNAL_RUN="build #12", JOURNAL_FILE="run.journal.jsonl", AIRTABLE_JOURNAL_TABLE="J"),
        2,
        "JOURNAL_RUN: give JOURNAL_FILE or JOURNAL_RUN, not both",
    ),
    Case(
        "message-forged-log-lines",
        "a branch name and a commit message with a line break, `\\r`, ANSI escapes and NUL that imitate log lines",
        forged_log_lines,
        0,
        ("Stage: build (push to branch feature/FEAT-107-rate-limit-docs\\nERROR: Done: 0 records", FEAT_107_MOVED),
        writes=True,
        check=check_no_forged_lines,
    ),
    Case(
        "message-token",
        "an Airtable personal access token pasted into a commit message, at merge",
        message_at_merge(f"fix: rotate the sync token FEAT-107\n\nAIRTABLE_TOKEN={PASTED_TOKEN}\n"),
        0,
        "token-shaped string; it is masked in every output",
        writes=True,
        coda=True,
        check=check_token_masked,
    ),
    # -- Bitbucket --------------------------------------------------------------------------------------
    Case(
        "bitbucket-token-scope",
        "`BITBUCKET_ACCESS_TOKEN` without the `pullrequest` scope (only `repository`)",
        bitbucket_review(scopes=("repository",)),
        0,
        (
            "BITBUCKET_ACCESS_TOKEN lacks the scope pullrequest needed for reading the comments of pull request #7 "
            "(403: it has repository)",
            "The sync itself is not affected.",
        ),
        writes=True,
        bitbucket=True,
        check=check_review_synced_without_a_comment,
    ),
    Case(
        "bitbucket-pr-deleted",
        "`BITBUCKET_PR_ID` names a pull request that was deleted",
        bitbucket_review(deleted=True),
        0,
        "pull request #7 was not found in acme/product (deleted?)",
        writes=True,
        bitbucket=True,
        check=check_review_synced_without_a_comment,
    ),
    Case(
        "references-over-1000",
        f"a commit naming {MANY_REFERENCES:,} record IDs that do not exist (more than a report's 1,000 annotations)",
        many_references,
        0,
        "Bitbucket Code Insights report: written (PASSED, 1000 annotation(s), 11 write(s))",
        writes=True,
        bitbucket=True,
        check=check_many_references,
    ),
    # -- output files ---------------------------------------------------------------------------------
    Case(
        "changelog-outside",
        "`CHANGELOG_FILE: ../CHANGELOG-escaped.md` (outside the repository)",
        changelog_outside,
        2,
        "CHANGELOG_FILE",
    ),
    Case(
        "changelog-is-directory",
        "`CHANGELOG_FILE` names a directory",
        changelog_is_directory,
        2,
        "CHANGELOG_FILE",
    ),
    Case(
        "changelog-link-outside",
        "`CHANGELOG.md` committed as a link to a file outside the repository",
        changelog_link(**{"CHANGELOG.md": "outside"}),
        2,
        "CHANGELOG_FILE: got 'CHANGELOG.md'; expected a file path inside the repository",
        check=check_outside_untouched,
    ),
    Case(
        "changelog-temporary-link",
        "`CHANGELOG.md.tmp` committed as a link to a file outside the repository",
        changelog_link(**{"CHANGELOG.md.tmp": "outside"}),
        0,
        "CHANGELOG.md: written",
        writes=True,
        check=check_outside_untouched,
    ),
    Case(
        "changelog-into-git",
        "`CHANGELOG_FILE: .git/hooks/post-commit` (a path inside .git/)",
        lambda ctx: (ctx.merge_stage(), ctx.env.update(CHANGELOG_FILE=".git/hooks/post-commit")),
        2,
        "CHANGELOG_FILE: '.git/hooks/post-commit' is inside .git/; the pipe never writes there",
        check=lambda ctx, outcome: _assert_no_file(ctx.repo.path / ".git" / "hooks" / "post-commit"),
    ),
    Case(
        "report-through-link",
        "`REPORT_FILE` under `out/` in the clone, where `out` is committed as a link to a folder outside it",
        report_through_link,
        2,
        ("REPORT_FILE: 'out' in '", "/out/report.json' is a link, not a folder"),
        check=lambda ctx, outcome: _assert_no_file(ctx.tmp / "elsewhere" / "report.json"),
    ),
]


# -- STAGE: reconcile -------------------------------------------------------------------------------------------


def reconcile(**values: str) -> Callable[[Ctx], None]:
    """`STAGE: reconcile` on main (its history names FEAT-101, FEAT-105 and recWorkItem000106), report mode."""

    def setup(ctx: Ctx) -> None:
        ctx.repo.checkout("main")
        ctx.env.update(STAGE="reconcile", BITBUCKET_BRANCH="main", BITBUCKET_COMMIT=ctx.repo.head(), **values)

    return setup


def reconcile_history_without_references(ctx: Ctx) -> None:
    """A repository whose commits name no record (and no KEY_PATTERN), reconciled."""
    plain = ctx.git("plain")
    plain.commit("chore: start", {"a.txt": "1"})
    plain.commit("fix: a typo in the README", {"README.md": "hello"})
    ctx.repo, ctx.cwd = plain, plain.path
    for name in ("KEY_PATTERN", "KEY_FIELD"):
        ctx.env.pop(name)
    ctx.env.update(STAGE="reconcile", BITBUCKET_BRANCH="main", BITBUCKET_COMMIT=plain.head())


def check_nothing_read(ctx: Ctx, outcome: Outcome) -> None:
    assert ctx.airtable.requests == [], "a history without references needs nothing from Airtable"


def check_unknown_listed(ctx: Ctx, outcome: Outcome) -> None:
    unknown = {u["record_id"] for u in report_of(ctx)["unknown_to_history"]}
    assert unknown == {f"recWorkItem00010{n}" for n in (2, 3, 4, 7, 8)}, unknown
    assert status_of(ctx, "FEAT-107") == "Ready"  # left alone


RECONCILE_CASES: list[Case] = [
    Case(
        "reconcile-history-without-references",
        "`STAGE: reconcile` on a history whose commits name no record (and no `KEY_PATTERN`)",
        reconcile_history_without_references,
        0,
        (
            "names no Airtable record: its commit messages hold no record IDs (rec + 14 letters or digits), and no "
            "KEY_PATTERN is set. Nothing to reconcile; Airtable was not read. Check: set KEY_PATTERN and KEY_FIELD",
        ),
        check=check_nothing_read,
    ),
    Case(
        "reconcile-base-records-unknown-to-history",
        "`STAGE: reconcile` on a base with records no commit of the history names",
        reconcile(),
        0,
        "5 records of 'Work Items' are named nowhere in the history read (main at ",
        check=check_unknown_listed,
    ),
    Case(
        "reconcile-history-names-missing-record",
        "`STAGE: reconcile` on a history naming a record ID the table does not have",
        lambda ctx: (reconcile()(ctx), ctx.commit("fix: retry (recNoSuchRecord00)")),
        0,
        "Named in the history but not in 'Work Items': recNoSuchRecord00: no such record in the table (named by commit",
    ),
    Case(
        "reconcile-since-unknown-tag",
        "`RECONCILE_SINCE: v9.9.9`, a tag the clone does not have",
        reconcile(RECONCILE_SINCE="v9.9.9"),
        2,
        "RECONCILE_SINCE: got 'v9.9.9'; this clone has no tag 'v9.9.9' (tags here: 1.4.0), and it is not a date",
    ),
    Case(
        "reconcile-since-bad-date",
        "`RECONCILE_SINCE: 2024-02-30` (no such day)",
        reconcile(RECONCILE_SINCE="2024-02-30"),
        2,
        "RECONCILE_SINCE: got '2024-02-30'; expected a date such as 2024-05-01",
    ),
    Case(
        "reconcile-sample-not-a-number",
        "`RECONCILE_SAMPLE: all`",
        reconcile(RECONCILE_SAMPLE="all"),
        2,
        "RECONCILE_SAMPLE: got 'all'; expected a whole number of records from 1 to 100,000",
    ),
    Case(
        "reconcile-mode-unknown",
        "`RECONCILE: fix` (neither report nor apply)",
        reconcile(RECONCILE="fix"),
        2,
        "RECONCILE: got 'fix'; expected 'report' or 'apply'",
    ),
    Case(
        "reconcile-variable-without-the-stage",
        "`RECONCILE: apply` at a sync stage",
        env(RECONCILE="apply"),
        2,
        "RECONCILE: is only used with STAGE: reconcile",
    ),
    Case(
        "reconcile-dry-run-without-token",
        "`STAGE: reconcile` with `DRY_RUN: 'true'` and no token",
        lambda ctx: (reconcile(DRY_RUN="true")(ctx), ctx.env.pop("AIRTABLE_TOKEN")),
        2,
        "AIRTABLE_TOKEN: is required with STAGE: reconcile, also on a dry run",
    ),
]
CASES.extend(RECONCILE_CASES)
