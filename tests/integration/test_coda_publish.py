"""Publishing release notes to Coda (rows and page) against the Coda emulator, over real HTTP.

The emulator validates every request and response against the OpenAPI 1.5.0 spec (a violation fails the
test at teardown). Client pacing and polling are scaled down so the tests stay fast.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest

from pipe.clients.coda import (
    KEYED_UPSERT_PREFIX,
    MAX_BODY_BYTES,
    CodaClient,
    CodaConfigError,
    CodaLimits,
    MutationPolling,
    batch_rows,
    coda_policy,
    row_edit_size,
    upsert_body,
)
from pipe.config.file import CodaColumns
from pipe.model import Commit
from pipe.plan.changelog import ChangelogRow, changelog_rows
from pipe.release.config import ReleaseConfig
from pipe.release.entries import build_entries
from pipe.release.links import Links
from pipe.release.notes import build_notes
from pipe.release.version import Version
from pipe.sinks.coda_page import CodaPageSink, release_marker
from pipe.sinks.coda_rows import CodaRowSink
from pipe.sinks.journal import Journal
from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID, SAMPLE_PAGE, SAMPLE_SEED_PATH, SAMPLE_TABLE
from testkit.emulators.coda.ratelimit import RateLimits

pytestmark = pytest.mark.coda_emulator(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=0.02)

TOKEN = "fake-coda-token-for-publish-tests"
FAST = MutationPolling(timeout=3.0, first_delay=0.0, interval=0.01, max_interval=0.05, not_found_grace=1.0)
REPO = Links("https://bitbucket.org/team/repo")


# -- helpers ---------------------------------------------------------------------------------------


def client_for(emu: CodaEmulator, token: str = TOKEN, scale: float = 0.01) -> CodaClient:
    emu.add_token(TOKEN)
    policy = coda_policy(limits=CodaLimits().scaled(scale), rate_limit_wait=0.05)
    policy.backoff_base = 0.01
    return CodaClient(token, SAMPLE_DOC_ID, emu.url, policy)


def sink_for(emu: CodaEmulator, columns: CodaColumns | None = None, polling: MutationPolling = FAST, scale=0.01):
    journal = Journal(None, "run-1")
    client = client_for(emu, scale=scale)
    return CodaRowSink(client, SAMPLE_TABLE, columns or CodaColumns(), journal, polling=polling), journal


def commits(*messages: str) -> list[Commit]:
    made: list[Commit] = []
    for index, message in enumerate(messages):
        parents = (made[-1].sha,) if made else ()
        sha = hashlib.sha1(f"{index}:{message}".encode()).hexdigest()
        made.append(Commit(sha, parents, "Ada", "a@x", 1_770_000_000 + index * 86_400, message))
    return list(reversed(made))


def release_rows(*messages: str, version: Version | None = None) -> list[ChangelogRow]:
    history = commits(*messages)
    version = version or Version(1, 4, 0)
    notes = build_notes(
        build_entries(history),
        ReleaseConfig(),
        version=version,
        previous=None,
        tag=None,
        previous_tag=None,
        head=history[0].sha,
        timestamp=history[0].timestamp,
        commits=len(history),
    )
    return changelog_rows(notes, REPO)


HISTORY = (
    "feat(api): export to CSV (pull request #12)",
    "fix: crash on empty input",
    "perf!: stream large exports",
    "docs: explain the export",
)


def writes(emu: CodaEmulator, since: int = 0) -> list:
    return [r for r in emu.requests[since:] if r.method != "GET"]


def table_rows(emu: CodaEmulator, release: str = "1.4.0") -> dict[str, dict]:
    return {r["Entry Key"]: r for r in emu.rows(SAMPLE_DOC_ID, SAMPLE_TABLE) if r["Release"] == release}


def with_cells(row: ChangelogRow, **cells) -> ChangelogRow:
    return replace(row, cells={**row.cells, **cells})


# -- rows ------------------------------------------------------------------------------------------


def test_first_publish_creates_one_row_per_entry(coda_emulator: CodaEmulator) -> None:
    sink, journal = sink_for(coda_emulator)
    rows = release_rows(*HISTORY)

    outcome = sink.apply(rows)

    assert [r.status for r in outcome.rows] == ["written"] * 4 and outcome.ok
    assert all(r.confirmed for r in outcome.rows) and not outcome.pending
    assert len(outcome.mutations) == 1 and outcome.mutations[0].confirmed
    found = table_rows(coda_emulator)
    assert set(found) == {r.entry_key for r in rows}
    export = found["pr-12"]
    assert export["Type"] == "feat" and export["Scope"] == "api" and export["Description"] == "export to CSV"
    assert export["PR"] == "https://bitbucket.org/team/repo/pull-requests/12" and export["Breaking"] is False
    perf = next(r for r in rows if r.cells["type"] == "perf")
    assert found[perf.entry_key]["Breaking"] is True
    assert export["Date"] == "2026-02-02"
    # the sample row of release 1.0.0 is left alone
    assert len(coda_emulator.rows(SAMPLE_DOC_ID, SAMPLE_TABLE)) == 5
    # every written cell is journaled: 4 rows x 10 columns, none before
    assert len(journal.entries) == 40 and all(e.before is None for e in journal.entries)
    assert {e.record for e in journal.entries} == {r.key for r in rows}
    assert outcome.detail == "4 written"


def test_rerun_of_the_same_release_sends_no_write(coda_emulator: CodaEmulator) -> None:
    sink, journal = sink_for(coda_emulator)
    rows = release_rows(*HISTORY)
    sink.apply(rows)
    before = len(coda_emulator.requests)
    entries = len(journal.entries)

    again = sink.apply(release_rows(*HISTORY))

    assert [r.status for r in again.rows] == ["unchanged"] * 4 and not again.mutations
    assert writes(coda_emulator, before) == []
    assert len(journal.entries) == entries
    # it read only the rows of this release
    reads = [r for r in coda_emulator.requests[before:] if r.operation == "listRows"]
    assert len(reads) == 1 and reads[0].query["query"][0].endswith(':"1.4.0"')


def test_a_changed_entry_updates_only_that_row_and_only_its_changed_cells(coda_emulator: CodaEmulator) -> None:
    sink, journal = sink_for(coda_emulator)
    rows = release_rows(*HISTORY)
    sink.apply(rows)
    ids_before = coda_emulator.row_ids(SAMPLE_DOC_ID, SAMPLE_TABLE)
    before = len(coda_emulator.requests)
    journal.entries.clear()
    changed = [with_cells(r, description="export to CSV and TSV") if r.entry_key == "pr-12" else r for r in rows]

    outcome = sink.apply(changed)

    statuses = {r.entry_key: r.status for r in outcome.rows}
    assert statuses.pop("pr-12") == "written" and set(statuses.values()) == {"unchanged"}
    (row,) = outcome.written
    assert [(c.column, c.coda_column, c.before, c.after) for c in row.changes] == [
        ("description", "Description", "export to CSV", "export to CSV and TSV")
    ]
    (post,) = writes(coda_emulator, before)
    (edit,) = post.body["rows"]
    columns = {
        coda_emulator.column_id(SAMPLE_DOC_ID, SAMPLE_TABLE, n): n for n in ("Release", "Entry Key", "Description")
    }
    assert {columns[c["column"]] for c in edit["cells"]} == {"Release", "Entry Key", "Description"}
    assert [columns[c] for c in post.body["keyColumns"]] == ["Release", "Entry Key"]
    assert table_rows(coda_emulator)["pr-12"]["Description"] == "export to CSV and TSV"
    assert coda_emulator.row_ids(SAMPLE_DOC_ID, SAMPLE_TABLE) == ids_before  # updated in place, no new row
    assert [(e.field, e.before, e.after) for e in journal.entries] == [
        ("Description", "export to CSV", "export to CSV and TSV")
    ]


def test_an_unknown_column_stops_before_any_write(coda_emulator: CodaEmulator) -> None:
    sink, journal = sink_for(coda_emulator, CodaColumns(scope="Scopes", pull_request="Pull Request"))

    with pytest.raises(CodaConfigError) as raised:
        sink.apply(release_rows(*HISTORY))

    error = raised.value
    assert "'Changelog'" in str(error) and "nothing was written" in str(error)
    assert error.problems == [
        "coda.columns.scope: table 'Changelog' has no column 'Scopes'",
        "coda.columns.pull_request: table 'Changelog' has no column 'Pull Request'",
    ]
    assert writes(coda_emulator) == [] and journal.entries == []


def test_columns_can_be_given_by_id_or_left_out(coda_emulator: CodaEmulator) -> None:
    description_id = coda_emulator.column_id(SAMPLE_DOC_ID, SAMPLE_TABLE, "Description")
    sink, _ = sink_for(coda_emulator, CodaColumns(description=description_id, records=None, scope=None))

    outcome = sink.apply(release_rows(*HISTORY))

    assert outcome.ok and len(outcome.written) == 4
    sent = {c["column"] for c in writes(coda_emulator)[0].body["rows"][0]["cells"]}
    assert description_id in sent and len(sent) == 8
    assert table_rows(coda_emulator)["pr-12"]["Records"] == ""


def test_an_oversize_row_fails_and_the_others_are_written(coda_emulator: CodaEmulator) -> None:
    sink, journal = sink_for(coda_emulator)
    rows = release_rows(*HISTORY)
    big = rows[1].entry_key
    rows = [with_cells(r, description="x" * 90_000) if r.entry_key == big else r for r in rows]

    outcome = sink.apply(rows)

    failed = {r.entry_key: r for r in outcome.failed}
    assert set(failed) == {big} and "85 KB" in failed[big].message and "not sent" in failed[big].message
    assert len(outcome.written) == 3 and not outcome.ok
    assert set(table_rows(coda_emulator)) == {r.entry_key for r in rows} - {big}
    assert all("x" * 1000 not in json.dumps(w.body) for w in writes(coda_emulator))
    assert big not in {e.record.split("/", 1)[1] for e in journal.entries}


@pytest.mark.coda_emulator(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=0.02, max_row_bytes=2000)
def test_a_batch_coda_refuses_is_retried_row_by_row(coda_emulator: CodaEmulator) -> None:
    sink, _ = sink_for(coda_emulator)
    rows = release_rows(*HISTORY)
    big = rows[0].entry_key
    rows = [with_cells(r, description="y" * 3000) if r.entry_key == big else r for r in rows]  # Coda's limit here

    outcome = sink.apply(rows)

    assert [r.entry_key for r in outcome.failed] == [big]
    assert "Row edit of size 4 KB exceeds maximum size of 1 KB" in outcome.failed[0].message
    assert len(outcome.written) == 3 and set(table_rows(coda_emulator)) == {r.entry_key for r in rows} - {big}
    assert [len(w.body["rows"]) for w in writes(coda_emulator)] == [4, 1, 1, 1, 1]


def test_a_formula_column_is_refused_before_any_write(coda_emulator: CodaEmulator) -> None:
    columns = [{"name": "Release"}, {"name": "Entry Key"}, {"name": "Type", "calculated": True, "formula": "1"}]
    coda_emulator.add_table(SAMPLE_DOC_ID, {"name": "Calculated", "columns": columns})
    mapping = CodaColumns(scope=None, description=None, breaking=None, records=None, pull_request=None, commit=None)
    mapping = mapping.model_copy(update={"date": None})
    sink = CodaRowSink(client_for(coda_emulator), "Calculated", mapping, Journal(None, None), polling=FAST)

    with pytest.raises(CodaConfigError) as raised:
        sink.apply(release_rows(*HISTORY))
    assert raised.value.problems == [
        "coda.columns.type: column 'Type' of table 'Calculated' is a formula column, which Coda does not write"
    ]
    assert writes(coda_emulator) == []


def test_writes_are_batched_under_the_request_size_limit(coda_emulator: CodaEmulator) -> None:
    sink, _ = sink_for(coda_emulator)
    base = release_rows("feat: template")[0]
    rows = [
        replace(
            base, entry_key=f"e{i:03d}", cells={**base.cells, "entry_key": f"e{i:03d}", "description": "é" * 30_000}
        )
        for i in range(60)
    ]  # 60 rows of ~60 KB: ~3.6 MB in all

    outcome = sink.apply(rows)

    assert len(outcome.written) == 60 and outcome.ok
    posts = writes(coda_emulator)
    sizes = [len(json.dumps(p.body, ensure_ascii=False).encode("utf-8")) for p in posts]
    assert len(posts) >= 2 and all(size < 2 * 1024 * 1024 for size in sizes) and all(p.status == 202 for p in posts)
    assert sum(len(p.body["rows"]) for p in posts) == 60
    assert len(table_rows(coda_emulator)) == 60


def test_a_mutation_slower_than_the_polling_bound_is_reported_queued_not_confirmed(
    coda_emulator_factory,
) -> None:
    emu = coda_emulator_factory(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=60.0)
    sink, journal = sink_for(emu, polling=replace(FAST, timeout=0.2))

    outcome = sink.apply(release_rows(*HISTORY))

    assert [r.status for r in outcome.rows] == ["written"] * 4 and outcome.ok  # accepted, not failed
    assert all(r.confirmed is False and "not confirmed" in (r.message or "") for r in outcome.rows)
    assert len(outcome.pending) == 1 and outcome.pending[0].rows == tuple(r.key for r in outcome.rows)
    assert outcome.detail == "4 written (4 queued, not confirmed)"
    assert len(journal.entries) == 40  # the writes were accepted: journaled
    assert table_rows(emu) == {}
    emu.flush()
    assert len(table_rows(emu)) == 4


@pytest.mark.coda_emulator(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=0.05, mutation_status_404_for=0.1)
def test_mutation_status_404s_right_after_a_write_mean_not_yet(coda_emulator: CodaEmulator) -> None:
    sink, _ = sink_for(coda_emulator)

    outcome = sink.apply(release_rows(*HISTORY))

    assert all(r.confirmed for r in outcome.rows)
    polls = [r.status for r in coda_emulator.requests if r.operation == "getMutationStatus"]
    assert polls[0] == 404 and polls[-1] == 200


def test_429_and_503_are_retried_without_duplicating_rows(coda_emulator: CodaEmulator) -> None:
    sink, _ = sink_for(coda_emulator)
    coda_emulator.add_fault("status", status=429, method="GET", path=r"/rows$", times=1)
    coda_emulator.add_fault("status", status=503, method="POST", path=r"/rows$", times=2)
    coda_emulator.add_fault("status", status=503, path=r"^/mutationStatus/", times=1)

    outcome = sink.apply(release_rows(*HISTORY))

    assert outcome.ok and len(outcome.written) == 4 and all(r.confirmed for r in outcome.rows)
    assert [r.status for r in coda_emulator.requests if r.method == "POST"] == [503, 503, 202]
    assert sink.client.policy.stats["retries"] >= 4 and sink.client.policy.stats["429"] == 1
    assert len(table_rows(coda_emulator)) == 4


def test_a_keyed_upsert_whose_answer_was_lost_is_replayed_safely(coda_emulator: CodaEmulator) -> None:
    sink, _ = sink_for(coda_emulator)
    coda_emulator.add_fault("drop_after_apply", method="POST", path=r"/rows$", times=1)

    outcome = sink.apply(release_rows(*HISTORY))

    assert outcome.ok and len(outcome.written) == 4
    assert len([r for r in coda_emulator.requests if r.method == "POST"]) == 2
    coda_emulator.flush()
    assert len([r for r in coda_emulator.rows(SAMPLE_DOC_ID, SAMPLE_TABLE) if r["Release"] == "1.4.0"]) == 4


@pytest.mark.coda_emulator(seed=SAMPLE_SEED_PATH, rate_limits=RateLimits().scaled(0.05), mutation_delay=0.01)
def test_pacing_stays_under_the_published_limits(coda_emulator: CodaEmulator) -> None:
    sink, _ = sink_for(coda_emulator, scale=0.05)  # the emulator's windows and ours, scaled alike
    for version in range(6):  # 6 releases: 6 upserts, more than the doc content bucket's 5 per window
        outcome = sink.apply(release_rows(*HISTORY, version=Version(1, version, 0)))
        assert outcome.ok
    assert sink.client.policy.stats["429"] == 0
    assert all(r.status != 429 for r in coda_emulator.requests)


def test_a_value_that_is_not_a_select_option_is_left_out_and_reported(coda_emulator: CodaEmulator) -> None:
    sink, _ = sink_for(coda_emulator)
    rows = release_rows("ci: cache the venv", "feat: x")  # `ci` is hidden: make a visible row of type ci
    rows = [with_cells(rows[0], type="ci")]

    outcome = sink.apply(rows)

    (row,) = outcome.rows
    assert row.status == "written" and "'ci' is not an option of the select column 'Type'" in row.message
    assert "coda.columns.type" in row.message
    assert table_rows(coda_emulator)[row.entry_key]["Type"] == ""
    again = sink.apply(rows)
    assert again.rows[0].status == "unchanged" and "'ci' is not an option" in again.rows[0].message


def test_dry_run_reads_and_compares_but_writes_nothing(coda_emulator: CodaEmulator) -> None:
    sink, journal = sink_for(coda_emulator)

    outcome = sink.apply(release_rows(*HISTORY), dry_run=True)

    assert outcome.dry_run and [r.status for r in outcome.rows] == ["skipped"] * 4
    assert all(r.message.startswith("dry run") and len(r.changes) == 10 for r in outcome.rows)
    assert writes(coda_emulator) == [] and journal.entries == []


def test_a_view_is_refused_before_any_write(coda_emulator: CodaEmulator) -> None:
    coda_emulator.add_table(SAMPLE_DOC_ID, {"name": "Changelog view", "view_of": "Changelog"})
    journal = Journal(None, None)
    sink = CodaRowSink(client_for(coda_emulator), "Changelog view", CodaColumns(), journal, polling=FAST)

    with pytest.raises(CodaConfigError, match="is a view"):
        sink.apply(release_rows(*HISTORY))
    assert writes(coda_emulator) == []


def test_tables_resolve_by_id_and_unknown_names_list_the_tables(coda_emulator: CodaEmulator) -> None:
    client = client_for(coda_emulator)
    table_id = coda_emulator.table_id(SAMPLE_DOC_ID, SAMPLE_TABLE)
    assert client.table(table_id).name == SAMPLE_TABLE
    with pytest.raises(CodaConfigError, match=r"CODA_TABLE: there is no table 'Changelogs'.*'Changelog'"):
        client.table("Changelogs")


def test_a_refused_token_names_the_variable_and_never_shows_the_token(coda_emulator: CodaEmulator) -> None:
    client = client_for(coda_emulator, token="fake-coda-token-not-registered")
    assert client_for(coda_emulator).whoami().login_id == "user@example.com"

    with pytest.raises(CodaConfigError) as raised:
        client.whoami()
    assert "CODA_API_TOKEN" in str(raised.value) and "fake-coda-token" not in str(raised.value)


def test_a_read_only_token_is_refused_at_the_first_write(coda_emulator: CodaEmulator) -> None:
    coda_emulator.add_token("fake-coda-read-only", access="read")
    policy = coda_policy(limits=CodaLimits().scaled(0.01))
    client = CodaClient("fake-coda-read-only", SAMPLE_DOC_ID, coda_emulator.url, policy)
    sink = CodaRowSink(client, SAMPLE_TABLE, CodaColumns(), Journal(None, None), polling=FAST)

    with pytest.raises(CodaConfigError, match="403"):
        sink.apply(release_rows(*HISTORY))
    assert table_rows(coda_emulator) == {}


# -- page ------------------------------------------------------------------------------------------

NOTES_140 = "## 1.4.0 (2026-02-05)\n\n### Features\n\n- **api:** export to CSV ([abc1234](https://x/c/abc))\n"
NOTES_150 = "## 1.5.0 (2026-03-01)\n\n### Bug Fixes\n\n- crash on empty input\n"


def page_sink(emu: CodaEmulator, **options) -> tuple[CodaPageSink, Journal]:
    journal = Journal(None, "run-1")
    options = {"polling": FAST, "fresh_read_interval": 0.02, "fresh_read_timeout": 2.0, **options}
    return CodaPageSink(client_for(emu), journal, **options), journal


def puts(emu: CodaEmulator) -> list:
    return [r for r in emu.requests if r.method == "PUT"]


def test_the_page_gets_each_release_once(coda_emulator: CodaEmulator) -> None:
    sink, journal = page_sink(coda_emulator)

    first = sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140)
    again = sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140 + "\n- a later entry\n")
    other = sink.apply(SAMPLE_PAGE, "1.5.0", NOTES_150)

    assert (first.status, first.confirmed) == ("written", True)
    assert again.status == "unchanged" and "already on the page" in again.message
    assert other.status == "written"
    text = coda_emulator.page_text(SAMPLE_DOC_ID, SAMPLE_PAGE)
    assert text.count("1.4.0 (2026-02-05)") == 1 and text.count(release_marker("1.4.0")) == 1
    assert text.index("1.4.0 (2026-02-05)") < text.index(release_marker("1.4.0")) < text.index("1.5.0 (2026-03-01)")
    assert text.startswith("Release Notes\nRelease notes are generated by the pipe.")  # appended, never replaced
    assert len(puts(coda_emulator)) == 2
    assert [(e.table, e.record) for e in journal.entries] == [
        ("page Release Notes", "1.4.0"),
        ("page Release Notes", "1.5.0"),
    ]


@pytest.mark.coda_emulator(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=0.4)
def test_a_rerun_waits_for_a_pending_append_instead_of_appending_twice(coda_emulator: CodaEmulator) -> None:
    sink, _ = page_sink(coda_emulator, polling=replace(FAST, timeout=0.0))

    first = sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140)
    again = sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140)

    assert (first.status, first.confirmed) == ("written", False) and "not confirmed" in first.message
    assert again.status == "unchanged"
    assert len(puts(coda_emulator)) == 1
    assert coda_emulator.page_text(SAMPLE_DOC_ID, SAMPLE_PAGE).count(release_marker("1.4.0")) == 1


@pytest.mark.coda_emulator(seed=SAMPLE_SEED_PATH, rate_limits=None, mutation_delay=60.0)
def test_while_the_doc_stays_stale_nothing_is_appended(coda_emulator: CodaEmulator) -> None:
    sink, _ = page_sink(coda_emulator, polling=replace(FAST, timeout=0.0), fresh_read_timeout=0.2)
    sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140)

    again = sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140)

    assert again.status == "skipped" and "Re-run the step" in again.message
    assert len(puts(coda_emulator)) == 1


def test_a_failed_append_is_not_replayed_and_the_next_run_appends_once(coda_emulator: CodaEmulator) -> None:
    sink, journal = page_sink(coda_emulator)
    coda_emulator.add_fault("status", status=503, method="PUT", times=1)

    failed = sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140)
    retried = sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140)

    assert failed.status == "failed" and "503" in failed.message and not failed.ok
    assert retried.status == "written"
    assert [r.status for r in puts(coda_emulator)] == [503, 202]
    assert coda_emulator.page_text(SAMPLE_DOC_ID, SAMPLE_PAGE).count(release_marker("1.4.0")) == 1
    # The 503'd append may have been carried out (no answer says otherwise): journaled, marked unconfirmed.
    assert [e.unconfirmed for e in journal.entries] == [True, False]


def test_page_dry_run_and_unknown_page(coda_emulator: CodaEmulator) -> None:
    sink, journal = page_sink(coda_emulator)
    dry = sink.apply(SAMPLE_PAGE, "1.4.0", NOTES_140, dry_run=True)
    assert dry.status == "skipped" and "dry run" in dry.message and puts(coda_emulator) == []
    with pytest.raises(CodaConfigError, match=r"CODA_PAGE: there is no page 'Releases'"):
        sink.apply("Releases", "1.4.0", NOTES_140)
    page_id = next(p["id"] for p in coda_emulator.pages(SAMPLE_DOC_ID) if p["name"] == SAMPLE_PAGE)
    assert sink.apply(page_id, "1.4.0", NOTES_140).status == "written"


# -- client pieces -----------------------------------------------------------------------------------


def test_batches_respect_body_and_row_count_limits() -> None:
    rows = [[("c-a", "k"), ("c-b", "y" * 50_000)] for _ in range(100)]
    keys = ["c-a"]
    batches = batch_rows(rows, keys)
    assert sorted(i for b in batches for i in b) == list(range(100))
    for batch in batches:
        assert len(upsert_body([rows[i] for i in batch], keys)) <= MAX_BODY_BYTES
    assert len(batch_rows([[("c-a", "k")]] * 600, keys)) == 3  # at most 250 rows per request


def test_row_size_counts_utf8_bytes_and_newlines_twice() -> None:
    assert row_edit_size([("c", "é\n"), ("c", True), ("c", 12), ("c", ["a", "b"])]) == 4 + 4 + 2 + len('["a", "b"]')


def test_only_keyed_upserts_and_reads_are_replay_safe() -> None:
    import requests

    safe = coda_policy().replay_safe

    def prepared(method: str, path: str, body: bytes | None = None) -> requests.PreparedRequest:
        return requests.Request(method, "https://coda.io/apis/v1" + path, data=body).prepare()

    assert upsert_body([[("c-a", 1)]], ["c-a"]).startswith(KEYED_UPSERT_PREFIX)
    assert safe(prepared("GET", "/docs/d/tables/t/rows"))
    assert safe(prepared("POST", "/docs/d/tables/t/rows", upsert_body([[("c-a", 1)]], ["c-a"])))
    assert not safe(prepared("POST", "/docs/d/tables/t/rows", b'{"rows":[{"cells":[]}]}'))
    assert not safe(prepared("PUT", "/docs/d/pages/canvas-x", b"{}"))
