"""`STAGE: check` with a Coda webhook, end to end through `pipe.flow.run` against the emulators: what it checks
without triggering the rule, and the test payload of `CODA_WEBHOOK_TEST`."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from pipe.flow import run
from testkit import fault_scenario as fs
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.emulators.coda.emulator import CodaEmulator
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED

pytestmark = pytest.mark.coda_emulator(seed=CODA_SEED, mutation_delay=0.01, rate_limits=None)

CODA_TOKEN = "fake-coda-token-for-webhook-checks"
RULE = "grid-auto-Chgl0gRule"
HOOK = f"/docs/{SAMPLE_DOC_ID}/hooks/automation/{RULE}"
TARGET = f"Coda automation {RULE}"


@pytest.fixture
def coda(coda_emulator: CodaEmulator) -> CodaEmulator:
    coda_emulator.add_token(CODA_TOKEN)
    coda_emulator.add_automation(SAMPLE_DOC_ID, "Announce the release", rule_id=RULE)
    return coda_emulator


def check(airtable, coda: CodaEmulator, tmp_path: Path, **extra: str | None) -> tuple[int, dict[str, Any], str]:
    env: dict[str, str | None] = {
        "STAGE": "check",
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": airtable.url,
        "CODA_API_TOKEN": CODA_TOKEN,
        "CODA_DOC_ID": SAMPLE_DOC_ID,
        "CODA_API_URL": coda.url,
        "CODA_WEBHOOK_RULE_ID": RULE,
        "REPORT_FILE": str(tmp_path / "check.json"),
    }
    env.update(extra)
    out = io.StringIO()
    with fs.pipe_pacing(0.01), contextlib.redirect_stdout(out):
        code = run({k: v for k, v in env.items() if v is not None}, tmp_path)
    report = json.loads((tmp_path / "check.json").read_text(encoding="utf-8"))
    return code, report, out.getvalue()


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"] if c["target"] == TARGET}


def posts(coda: CodaEmulator) -> list[Any]:
    return [r for r in coda.requests if r.method == "POST" and r.path == HOOK]


def test_without_the_test_variable_the_check_sends_nothing_to_the_rule(airtable_emulator, coda, tmp_path):
    code, report, log = check(airtable_emulator, coda, tmp_path)
    assert code == 0, log
    found = rows(report)
    assert found["rule ID"]["status"] == "ok" and "triggered at merge, deploy" in found["rule ID"]["detail"]
    assert found["write access"]["status"] == "ok" and "upsert of zero rows" in found["write access"]["detail"]
    assert found["rule is on"]["status"] == "warn" and "CODA_WEBHOOK_TEST: 'true'" in found["rule is on"]["detail"]
    assert "test payload" not in found
    assert posts(coda) == [] and coda.webhook_calls(SAMPLE_DOC_ID, RULE) == []


def test_a_table_check_proves_write_access_for_the_rule_too(airtable_emulator, coda, tmp_path):
    code, report, log = check(airtable_emulator, coda, tmp_path, CODA_TABLE="Changelog")
    assert code == 0, log
    assert "write access" not in rows(report)  # the table's own write probe covers the doc
    probes = [r for r in coda.requests if r.method == "POST" and r.path.endswith("/rows")]
    assert len(probes) == 1


def test_the_test_payload_runs_the_rule_once(airtable_emulator, coda, tmp_path):
    code, report, log = check(
        airtable_emulator, coda, tmp_path, CODA_WEBHOOK_TEST="true", CODA_WEBHOOK_STAGES="deploy,merge"
    )
    assert code == 0, log
    [call] = coda.webhook_calls(SAMPLE_DOC_ID, RULE)
    payload = call["payload"]
    assert payload["test"] is True and payload["schema"] == 1 and payload["stage"] == "deploy"
    assert payload["environment"] == "staging" and payload["version"] == "0.0.0-test"
    assert payload["idempotency_key"].startswith("test/")
    coda.flush()  # the trigger was queued (202); the rule runs when it is applied
    assert coda.webhook_calls(SAMPLE_DOC_ID, RULE)[0]["ran"] is True
    test_row = rows(report)["test payload"]
    assert test_row["status"] == "ok" and payload["idempotency_key"] in test_row["detail"]
    assert "rule is on" not in rows(report)
    assert len(posts(coda)) == 1


@pytest.mark.parametrize(
    ("setup", "fragment"),
    [
        ("off", "Coda would not run automation rule grid-auto-Chgl0gRule"),
        ("unknown", "CODA_WEBHOOK_RULE_ID: Coda found no automation rule grid-auto-Chgl0gRule"),
    ],
)
def test_a_test_payload_to_a_rule_that_is_off_or_unknown_fails_the_check(
    airtable_emulator, coda_emulator, tmp_path, setup, fragment
):
    coda_emulator.add_token(CODA_TOKEN)
    if setup == "off":
        coda_emulator.add_automation(SAMPLE_DOC_ID, "Announce the release", rule_id=RULE, enabled=False)
    code, report, log = check(airtable_emulator, coda_emulator, tmp_path, CODA_WEBHOOK_TEST="true")
    assert code == 2
    test_row = rows(report)["test payload"]
    assert test_row["status"] == "fail" and fragment in test_row["detail"]
    assert fragment in log and "nothing was synced" in log
    if setup == "off":
        assert coda_emulator.webhook_calls(SAMPLE_DOC_ID, RULE) == []


def test_a_read_only_token_fails_the_write_check_and_sends_no_test(airtable_emulator, coda, tmp_path):
    coda.add_token("fake-coda-token-read-only", access="read")
    code, report, log = check(
        airtable_emulator, coda, tmp_path, CODA_API_TOKEN="fake-coda-token-read-only", CODA_WEBHOOK_TEST="true"
    )
    assert code == 2
    found = rows(report)
    assert (
        found["write access"]["status"] == "fail"
        and "needs a token with write access" in found["write access"]["detail"]
    )
    assert found["test payload"]["status"] == "warn" and posts(coda) == []


def test_a_rule_id_of_another_shape_is_a_warning(airtable_emulator, coda, tmp_path):
    code, report, log = check(airtable_emulator, coda, tmp_path, CODA_WEBHOOK_RULE_ID="rule-12345")
    assert code == 0, log
    shown = {c["name"]: c for c in report["checks"] if c["target"] == "Coda automation rule-12345"}
    assert shown["rule ID"]["status"] == "warn" and "does not start with grid-auto-" in shown["rule ID"]["detail"]
