"""Preflight (`STAGE: check`) against the Airtable and Coda emulators, over real HTTP.

Settings come from `load_settings` with a temporary folder as the repository (and a config file there
when a test needs one). Client pacing is turned off so the tests stay fast.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from pipe.clients.airtable import AirtableClient, AirtableConfigError, airtable_policy
from pipe.clients.coda import CodaLimits, coda_policy
from pipe.config import load_settings
from pipe.config.file import FieldMapping, ReleaseFields
from pipe.flow import run_with
from pipe.preflight import Check, check_mode, parse_ref, pin_fields, pin_section, run_checks
from pipe.preflight.airtable import PROBE_RECORD_ID
from testkit.emulators.airtable import Fault
from testkit.emulators.airtable.fixtures import (
    SAMPLE_BASE_ID,
    SAMPLE_READONLY_TOKEN,
    SAMPLE_READWRITE_TOKEN,
)
from testkit.emulators.airtable.fixtures import SAMPLE_SEED_PATH as AIRTABLE_SEED
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED

pytestmark = pytest.mark.coda_emulator(seed=CODA_SEED, mutation_delay=0, rate_limits=None)

CODA_TOKEN = "fake-coda-token-for-preflight"


# -- helpers ---------------------------------------------------------------------------------------


def fast_airtable():
    policy = airtable_policy(0.05)
    policy.limiters = lambda _request: ()
    return policy


def fast_coda():
    return coda_policy(limits=CodaLimits().scaled(0.01), rate_limit_wait=0.05)


def environment(airtable, coda=None, **extra: str) -> dict[str, str]:
    env = {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": airtable.url,
        "AIRTABLE_RELEASES_TABLE": "Releases",
        "AIRTABLE_DEPLOYMENTS_TABLE": "Deployments",
        "KEY_FIELD": "Key",
        "KEY_PATTERN": r"FEAT-\d+",
    }
    if coda is not None:
        coda.add_token(CODA_TOKEN)
        env.update(
            CODA_API_TOKEN=CODA_TOKEN,
            CODA_DOC_ID=SAMPLE_DOC_ID,
            CODA_TABLE="Changelog",
            CODA_PAGE="Release Notes",
            CODA_API_URL=coda.url,
        )
    env.update(extra)
    return {k: v for k, v in env.items() if v}


def check(env: dict[str, str], root: Path, config: str | None = None) -> tuple[int, list[Check]]:
    if config is not None:
        (root / ".airtable-coda-sync.yml").write_text(config, encoding="utf-8")
    settings = load_settings(env, root)
    found: list[Check] = []
    code = run_with(
        settings, env, root, partial(check_mode, airtable_policy=fast_airtable(), coda_policy=fast_coda(), checks=found)
    )
    return code, found


def by_name(checks: list[Check], target: str, name: str) -> Check:
    matches = [c for c in checks if c.target == target and c.name == name]
    assert matches, f"no check {target!r} / {name!r} in {[(c.target, c.name) for c in checks]}"
    return matches[0]


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]


def seed_with(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    seed = json.loads(AIRTABLE_SEED.read_text(encoding="utf-8"))
    change(seed)
    return seed


def table_of(seed: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for base in seed["bases"] for t in base["tables"] if t["name"] == name)


def field_of(seed: dict[str, Any], table: str, name: str) -> dict[str, Any]:
    return next(f for f in table_of(seed, table)["fields"] if f["name"] == name)


def rename_field(seed: dict[str, Any], table: str, old: str, new: str) -> None:
    field_of(seed, table, old)["name"] = new
    for record in table_of(seed, table).get("records", []):
        cells = record.get("fields", record)
        if old in cells:
            cells[new] = cells.pop(old)


@pytest.fixture
def preflight_log() -> Iterator[list[str]]:
    """Every line the preflight logs, unredacted (a handler on its own logger, whatever `pipe` has)."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("pipe.preflight")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


# -- all green -------------------------------------------------------------------------------------


def test_all_green_checks_every_table_field_option_and_write_access(
    airtable_emulator, coda_emulator, tmp_path, preflight_log
):
    before = {t: airtable_emulator.records(SAMPLE_BASE_ID, t) for t in ("Work Items", "Releases", "Deployments")}
    rows_before = coda_emulator.rows(SAMPLE_DOC_ID, "Changelog")
    report = tmp_path / "out" / "report.json"
    code, checks = check(environment(airtable_emulator, coda_emulator, REPORT_FILE=str(report)), tmp_path)

    assert failures(checks) == []
    assert code == 0
    work = "Airtable Work Items"
    assert by_name(checks, "Airtable", "token").detail.startswith("valid (user usrSampleDevUser1")
    assert by_name(checks, "Airtable", "scope schema.bases:read").status == "ok"
    assert "'Status' (fldWIStatus000000, singleSelect)" in by_name(checks, work, "field status").detail
    assert by_name(checks, work, "field key").ok
    assert "In Progress" in by_name(checks, work, "options of status").detail
    assert by_name(checks, work, "write access (data.records:write)").detail.startswith("proven")
    assert by_name(checks, "Airtable Releases", "link items").ok
    assert by_name(checks, "Airtable Releases", "options of environment").ok
    # The deployments log is empty: write access is probed with a record ID that does not exist.
    empty = by_name(checks, "Airtable Deployments", "write access (data.records:write)")
    assert empty.ok and empty.warning and "does not exist" in empty.detail
    assert by_name(checks, "Coda", "doc").ok
    assert by_name(checks, "Coda Changelog", "column breaking").ok
    assert by_name(checks, "Coda Changelog", "write access").detail.startswith("proven")
    assert by_name(checks, "Coda page", "page").ok
    # The sample Type column lacks 'revert': a warning, since the row sink leaves such a cell empty.
    assert "'revert'" in by_name(checks, "Coda Changelog", "options of type").detail

    # The probes changed nothing.
    after = {t: airtable_emulator.records(SAMPLE_BASE_ID, t) for t in before}
    assert after == before
    patches = [r for r in airtable_emulator.requests if r.method == "PATCH"]
    assert patches and all(rec["fields"] == {} for r in patches for rec in r.body["records"])
    assert any(rec["id"] == PROBE_RECORD_ID for r in patches for rec in r.body["records"])
    coda_emulator.flush()
    assert coda_emulator.rows(SAMPLE_DOC_ID, "Changelog") == rows_before

    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["stage"] == "check" and data["outcome"] == "ok"
    assert data["summary"]["failed"] == 0 and data["summary"]["checks"] == len(checks)
    assert {"target", "name", "ok", "warning", "status", "detail"} <= set(data["checks"][0])
    assert preflight_log[0] == "Preflight checks:"
    assert any("target" in line and "check" in line and "result" in line for line in preflight_log)
    assert preflight_log[-1].startswith("  ")  # the table ends the preflight's own lines (the verdict follows)


# -- tokens and scopes -----------------------------------------------------------------------------


def test_bad_airtable_token_stops_the_airtable_checks(airtable_emulator, tmp_path):
    code, checks = check(environment(airtable_emulator, AIRTABLE_TOKEN="fake-airtable-token-wrong"), tmp_path)
    assert code == 2
    airtable = [c for c in checks if c.target.startswith("Airtable")]
    assert [(c.name, c.ok) for c in airtable] == [("token", False)]
    assert "AIRTABLE_TOKEN" in airtable[0].detail and "401" in airtable[0].detail


def test_readonly_token_fails_the_write_check_naming_the_scope(airtable_emulator, tmp_path):
    code, checks = check(environment(airtable_emulator, AIRTABLE_TOKEN=SAMPLE_READONLY_TOKEN), tmp_path)
    assert code == 2
    schema = by_name(checks, "Airtable", "scope schema.bases:read")
    assert schema.ok and schema.warning  # a missing schema scope is a warning
    write = by_name(checks, "Airtable Work Items", "write access (data.records:write)")
    assert not write.ok and "data.records:write" in write.detail
    assert by_name(checks, "Airtable Work Items", "read access (data.records:read)").ok
    # Without the schema the fields are still proven to exist (by the read), their types are not checked.
    fields = by_name(checks, "Airtable Work Items", "fields")
    assert fields.warning and "'Status'" in fields.detail and "types and options not checked" in fields.detail


def test_write_probe_falls_back_to_an_unchanged_value_when_an_empty_update_is_refused(airtable_emulator, tmp_path):
    refusal = {"error": {"type": "INVALID_RECORDS", "message": "empty update"}}
    airtable_emulator.inject(Fault(status=422, body=refusal, method="PATCH", path="Work Items|tblWorkItems00001"))
    before = airtable_emulator.records(SAMPLE_BASE_ID, "Work Items")
    code, checks = check(environment(airtable_emulator), tmp_path)
    assert code == 0
    write = by_name(checks, "Airtable Work Items", "write access (data.records:write)")
    assert write.ok and "'Status' of record recWorkItem000101 was set to the value it had" in write.detail
    assert airtable_emulator.records(SAMPLE_BASE_ID, "Work Items") == before
    patches = [r.body["records"][0] for r in airtable_emulator.requests if r.method == "PATCH"]
    assert patches[:2] == [
        {"id": "recWorkItem000101", "fields": {}},
        {"id": "recWorkItem000101", "fields": {"Status": "Released"}},
    ]


def test_user_without_edit_rights_is_told_to_get_editor_access(airtable_emulator, tmp_path):
    token = airtable_emulator.add_token(
        scopes=["data.records:read", "data.records:write", "schema.bases:read"], permission_level="read"
    )
    code, checks = check(environment(airtable_emulator, AIRTABLE_TOKEN=token), tmp_path)
    assert code == 2
    write = by_name(checks, "Airtable Work Items", "write access (data.records:write)")
    assert not write.ok and "editor" in write.detail


def test_unknown_base_and_table_say_which_variable(airtable_emulator, tmp_path):
    code, checks = check(environment(airtable_emulator, AIRTABLE_BASE_ID="appNoSuchBase0000"), tmp_path)
    assert code == 2 and by_name(checks, "Airtable", "base").detail.startswith("AIRTABLE_BASE_ID")
    code, checks = check(environment(airtable_emulator, AIRTABLE_RELEASES_TABLE="Releasez"), tmp_path)
    table = by_name(checks, "Airtable Releasez", "table")
    assert code == 2 and not table.ok and "AIRTABLE_RELEASES_TABLE" in table.detail and "'Releases'" in table.detail


def test_bad_coda_token_and_readonly_coda_token(airtable_emulator, coda_emulator, tmp_path):
    env = environment(airtable_emulator, coda_emulator, CODA_API_TOKEN="fake-coda-token-unknown")
    code, checks = check(env, tmp_path)
    assert code == 2
    coda = [c for c in checks if c.target.startswith("Coda")]
    assert [(c.name, c.ok) for c in coda] == [("token", False)] and "CODA_API_TOKEN" in coda[0].detail

    coda_emulator.add_token("fake-coda-token-readonly", access="read")
    code, checks = check(
        environment(airtable_emulator, coda_emulator, CODA_API_TOKEN="fake-coda-token-readonly"), tmp_path
    )
    assert code == 2
    write = by_name(checks, "Coda Changelog", "write access")
    assert not write.ok and "read access" in write.detail
    assert [c.name for c in failures(checks)] == ["write access"]


# -- fields ----------------------------------------------------------------------------------------


def test_missing_field_is_named_with_its_setting(airtable_emulator, tmp_path):
    config = "airtable:\n  fields:\n    branch: Git Branch\n  releases:\n    notes: Release Notes\n"
    code, checks = check(environment(airtable_emulator), tmp_path, config)
    assert code == 2
    branch = by_name(checks, "Airtable Work Items", "field branch")
    assert not branch.ok and "airtable.fields.branch" in branch.detail and "'Git Branch'" in branch.detail
    notes = by_name(checks, "Airtable Releases", "field notes")
    assert not notes.ok and "airtable.releases.notes" in notes.detail
    assert len(failures(checks)) == 2


def test_missing_field_without_schema_scope_is_found_by_the_read(airtable_emulator, tmp_path):
    token = airtable_emulator.add_token(scopes=["data.records:read", "data.records:write"])
    config = "airtable:\n  fields:\n    branch: Git Branch\n    commit: Commit Sha\n"
    code, checks = check(environment(airtable_emulator, AIRTABLE_TOKEN=token), tmp_path, config)
    assert code == 2
    assert {c.name for c in failures(checks)} == {"field branch", "field commit"}
    assert "'Commit Sha'" in by_name(checks, "Airtable Work Items", "field commit").detail
    assert by_name(checks, "Airtable Work Items", "write access (data.records:write)").ok


def test_wrong_type_fails_and_stops_the_sync_before_it_writes(airtable_emulator_factory, tmp_path):
    def change(seed):
        merged = field_of(seed, "Work Items", "Merged At")
        merged["type"] = "singleLineText"
        merged.pop("options", None)

    emulator = airtable_emulator_factory(seed=seed_with(change))
    code, checks = check(environment(emulator), tmp_path)
    assert code == 2
    merged = by_name(checks, "Airtable Work Items", "field merged_at")
    assert not merged.ok and "singleLineText" in merged.detail and "dateTime" in merged.detail

    client = AirtableClient(SAMPLE_READWRITE_TOKEN, SAMPLE_BASE_ID, "Work Items", emulator.url, fast_airtable())
    with pytest.raises(AirtableConfigError) as raised:
        pin_fields(client.schema(), FieldMapping(), "Key")
    assert any("airtable.fields.merged_at" in p for p in raised.value.problems)


def test_missing_select_option_for_a_workflow_status(airtable_emulator, tmp_path):
    config = (
        "workflow:\n"
        "  statuses: [Planned, Ready, In Progress, In Review, QA, Merged, On Staging, Released]\n"
        "  stages: {build: In Progress, review: QA, merge: Merged, deploy: Released}\n"
    )
    code, checks = check(environment(airtable_emulator), tmp_path, config)
    assert code == 2
    options = by_name(checks, "Airtable Work Items", "options of status")
    assert not options.ok and "'QA'" in options.detail and "'In Review'" not in options.detail


def test_renamed_field_pinned_by_id_is_named_and_still_used(airtable_emulator_factory, tmp_path, caplog):
    emulator = airtable_emulator_factory(seed=seed_with(lambda s: rename_field(s, "Work Items", "Status", "State")))
    config = "airtable:\n  fields:\n    status: Status [fldWIStatus000000]\n    branch: fldWIBranch000000\n"
    code, checks = check(environment(emulator), tmp_path, config)
    assert code == 0
    status = by_name(checks, "Airtable Work Items", "field status")
    assert status.ok and status.warning
    assert "field fldWIStatus000000 was renamed 'Status' → 'State'" in status.detail
    assert by_name(checks, "Airtable Work Items", "options of status").ok
    assert by_name(checks, "Airtable Work Items", "field branch").detail.startswith("'Branch' (fldWIBranch000000")

    # The sync's check before its first write: the mapping comes back with the current names.
    client = AirtableClient(SAMPLE_READWRITE_TOKEN, SAMPLE_BASE_ID, "Work Items", emulator.url, fast_airtable())
    mapping = FieldMapping(status="Status [fldWIStatus000000]", branch="fldWIBranch000000")
    with caplog.at_level(logging.WARNING, logger="pipe.preflight"):
        pinned = pin_fields(client.schema(), mapping, "Key")
    assert (pinned.status, pinned.branch, pinned.commit) == ("State", "Branch", "Last Commit")
    assert "renamed 'Status' → 'State'" in caplog.text

    # Mapped by the old name only, the field is missing (and the closest name is suggested).
    code, checks = check(environment(emulator), tmp_path, "airtable:\n  fields:\n    status: Status\n")
    assert code == 2 and "did you mean 'State'?" in by_name(checks, "Airtable Work Items", "field status").detail


def test_pinned_field_that_was_deleted_and_link_to_the_wrong_table(airtable_emulator_factory, tmp_path):
    def change(seed):
        field_of(seed, "Releases", "Work Items")["options"]["linkedTableId"] = "tblDeployments001"
        for record in table_of(seed, "Releases")["records"]:
            record["fields"].pop("Work Items", None)

    emulator = airtable_emulator_factory(seed=seed_with(change))
    config = "airtable:\n  fields:\n    commit: Last Commit [fldWIGone00000000]\n"
    code, checks = check(environment(emulator), tmp_path, config)
    assert code == 2
    commit = by_name(checks, "Airtable Work Items", "field commit")
    assert "no field fldWIGone00000000 any more" in commit.detail and "fldWILastCommit00" in commit.detail
    link = by_name(checks, "Airtable Releases", "link items")
    assert not link.ok and "'Deployments'" in link.detail


def test_pin_section_for_the_releases_table(airtable_emulator):
    client = AirtableClient(SAMPLE_READWRITE_TOKEN, SAMPLE_BASE_ID, "Releases", airtable_emulator.url, fast_airtable())
    schema = client.schema()
    pinned = pin_section(schema, ReleaseFields(notes="Release Notes [fldRLNotes0000000]"), "airtable.releases")
    assert (pinned.notes, pinned.version) == ("Notes", "Version")
    with pytest.raises(AirtableConfigError) as raised:
        pin_section(schema, ReleaseFields(items="Notes"), "airtable.releases")
    assert any(p.startswith("airtable.releases.items: 'Notes'") for p in raised.value.problems)


def test_pin_fields_without_schema():
    mapping = FieldMapping(status="Status [fldWIStatus000000]")
    assert pin_fields(None, mapping, "Key").status == "Status"
    with pytest.raises(AirtableConfigError) as raised:
        pin_fields(None, FieldMapping(status="fldWIStatus000000"), "Key")
    assert "schema.bases:read" in str(raised.value)


def test_parse_ref_forms():
    assert (parse_ref("Status").name, parse_ref("Status").id) == ("Status", None)
    assert (parse_ref("fldWIStatus000000").name, parse_ref("fldWIStatus000000").id) == (None, "fldWIStatus000000")
    pinned = parse_ref("Merged At [fldWIMergedAt0000]")
    assert (pinned.name, pinned.id) == ("Merged At", "fldWIMergedAt0000")
    assert parse_ref("Release [c-AbCdEf1234]").id == "c-AbCdEf1234"
    assert parse_ref("Size [small]").id is None  # brackets alone are part of a name


# -- Coda ------------------------------------------------------------------------------------------


def test_missing_coda_column_and_page(airtable_emulator, coda_emulator, tmp_path):
    config = "coda:\n  columns:\n    scope: Area\n"
    env = environment(airtable_emulator, coda_emulator, CODA_PAGE="Changelog Page")
    code, checks = check(env, tmp_path, config)
    assert code == 2
    scope = by_name(checks, "Coda Changelog", "column scope")
    assert not scope.ok and "coda.columns.scope" in scope.detail and "'Area'" in scope.detail
    page = by_name(checks, "Coda page", "page")
    assert not page.ok and "CODA_PAGE" in page.detail and "'Release Notes'" in page.detail
    assert {c.name for c in failures(checks)} == {"column scope", "page"}


def test_coda_column_by_id_and_renamed_pinned_column(airtable_emulator, coda_emulator, tmp_path):
    commit_id = coda_emulator.column_id(SAMPLE_DOC_ID, "Changelog", "Commit")
    records_id = coda_emulator.column_id(SAMPLE_DOC_ID, "Changelog", "Records")
    config = f"coda:\n  columns:\n    commit: Sha [{commit_id}]\n    records: {records_id}\n"
    code, checks = check(environment(airtable_emulator, coda_emulator), tmp_path, config)
    assert code == 0
    commit = by_name(checks, "Coda Changelog", "column commit")
    assert commit.warning and f"column {commit_id} was renamed 'Sha' → 'Commit'" in commit.detail
    assert by_name(checks, "Coda Changelog", "column records").detail.startswith("'Records'")


def test_coda_not_configured_is_not_a_failure(airtable_emulator, tmp_path):
    code, checks = check(environment(airtable_emulator), tmp_path)
    assert code == 0
    assert by_name(checks, "Coda", "configured").ok


# -- secrets ---------------------------------------------------------------------------------------


def test_no_token_is_printed_or_reported(airtable_emulator, coda_emulator, tmp_path, preflight_log):
    report = tmp_path / "report.json"
    for env in (
        environment(airtable_emulator, coda_emulator, REPORT_FILE=str(report)),
        environment(airtable_emulator, AIRTABLE_TOKEN="fake-airtable-token-not-known", REPORT_FILE=str(report)),
        environment(airtable_emulator, AIRTABLE_TOKEN=SAMPLE_READONLY_TOKEN, REPORT_FILE=str(report)),
    ):
        settings = load_settings(env, tmp_path)
        checks = run_checks(settings, airtable_policy=fast_airtable(), coda_policy=fast_coda())
        run_with(settings, env, tmp_path, partial(check_mode, airtable_policy=fast_airtable(), coda_policy=fast_coda()))
        printed = "\n".join(preflight_log) + json.dumps([c.as_dict() for c in checks]) + report.read_text()
        for secret in (env["AIRTABLE_TOKEN"], CODA_TOKEN):
            assert secret not in printed


# -- the stage entry point -------------------------------------------------------------------------


def test_stage_check_needs_no_git_repository(airtable_emulator, tmp_path, monkeypatch):
    from pipe.flow import run

    monkeypatch.setattr("pipe.preflight.airtable.airtable_policy", lambda _wait, **_pace: fast_airtable())
    assert run(environment(airtable_emulator, STAGE="check"), tmp_path) == 0
    (tmp_path / ".airtable-coda-sync.yml").write_text("airtable:\n  fieldz: {}\n", encoding="utf-8")
    assert run(environment(airtable_emulator, STAGE="check"), tmp_path) == 2  # the config file is wrong


def test_stage_check_through_the_pipe_entry_point(airtable_emulator, tmp_path, capsys):
    from typing import get_args

    from pipe.config.variables import StageName
    from pipe.flow import run

    if "check" not in get_args(StageName):
        pytest.skip("STAGE=check is not wired into pipe.flow yet")
    report = tmp_path / "report.json"
    code = run(environment(airtable_emulator, STAGE="check", REPORT_FILE=str(report)), tmp_path)
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Preflight checks:" in out and "Preflight: " in out
    assert SAMPLE_READWRITE_TOKEN not in out
    assert json.loads(report.read_text(encoding="utf-8"))["stage"] == "check"
    code = run(environment(airtable_emulator, STAGE="check", AIRTABLE_TOKEN=SAMPLE_READONLY_TOKEN), tmp_path)
    out = capsys.readouterr().out
    assert code == 2 and "data.records:write" in out and SAMPLE_READONLY_TOKEN not in out


# -- the change journal in Airtable (AIRTABLE_JOURNAL_TABLE) ------------------------------------------


def test_the_journal_table_is_checked_like_the_others(airtable_emulator, tmp_path):
    from testkit.journal_table import JOURNAL_TABLE, add_journal_table

    add_journal_table(airtable_emulator, renamed={"After": "New Value"})
    code, found = check(environment(airtable_emulator, AIRTABLE_JOURNAL_TABLE=JOURNAL_TABLE), tmp_path)
    assert code == 2
    target = f"Airtable {JOURNAL_TABLE}"
    assert by_name(found, target, "table").ok
    assert by_name(found, target, "field before").ok
    after = by_name(found, target, "field after")
    assert not after.ok and "airtable.journal.after" in after.detail and "'After'" in after.detail
    assert [c.target for c in failures(found)] == [target]


def test_a_stage_option_missing_from_the_journal_table_is_a_warning(airtable_emulator, tmp_path):
    from testkit.journal_table import JOURNAL_TABLE_SPEC

    spec = json.loads(json.dumps(JOURNAL_TABLE_SPEC))
    next(f for f in spec["fields"] if f["name"] == "Stage")["options"] = {"choices": ["merge", "deploy"]}
    airtable_emulator.add_table(SAMPLE_BASE_ID, spec)
    code, found = check(environment(airtable_emulator, AIRTABLE_JOURNAL_TABLE=spec["name"]), tmp_path)
    assert code == 0
    options = by_name(found, f"Airtable {spec['name']}", "options of stage")
    assert options.status == "warn" and "no option 'build', 'review', 'rollback'" in options.detail
    assert by_name(found, f"Airtable {spec['name']}", "write access (data.records:write)").ok
