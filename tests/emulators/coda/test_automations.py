"""Webhook-invoked automations (`triggerWebhookAutomation`): 202 and what each rule received, the refusals
(unknown doc or rule, a rule that is off, tokens without write access), the three body media types the spec
declares, validation against the spec, and the rate limit."""

from __future__ import annotations

import re

import pytest
import requests

from testkit.emulators.coda import Bucket, RateLimits
from testkit.emulators.coda.__main__ import parse_options
from testkit.emulators.coda.emulator import CodaEmulator
from tests.emulators.coda.conftest import DOC, TABLE, Api, fake_token

RULE = "grid-auto-Chgl0gRule"
HOOK = f"/docs/{DOC}/hooks/automation/{RULE}"


@pytest.fixture
def rule(emu: CodaEmulator) -> str:
    return emu.add_automation(DOC, "Announce the release", rule_id=RULE)


def _error(reply: requests.Response, status: int) -> str:
    body = reply.json()
    assert reply.status_code == status, reply.text
    assert set(body) == {"statusCode", "statusMessage", "message"} and body["statusCode"] == status
    return str(body["message"])


def test_a_json_payload_is_queued_and_the_rule_receives_it(emu: CodaEmulator, api: Api, rule: str) -> None:
    reply = api.post(HOOK, json={"schema": 1, "version": "1.5.0", "test": False})
    assert reply.status_code == 202
    assert set(reply.json()) == {"requestId"} and reply.json()["requestId"].startswith("mutate:")
    [call] = emu.webhook_calls(DOC, rule)
    assert call["payload"] == {"schema": 1, "version": "1.5.0", "test": False}
    assert call["contentType"] == "application/json" and call["requestId"] == reply.json()["requestId"]
    assert api.wait(reply)["completed"] is True  # the trigger is a mutation: mutationStatus knows it
    assert emu.webhook_calls(DOC, rule)[0]["ran"] is True
    assert emu.webhook_payloads(DOC, "Announce the release") == [{"schema": 1, "version": "1.5.0", "test": False}]


@pytest.mark.coda_emulator(mutation_delay=60)
def test_the_rule_runs_when_the_queued_trigger_is_applied(emu: CodaEmulator, api: Api, rule: str) -> None:
    assert api.post(HOOK, json={"n": 1}).status_code == 202
    assert api.post(HOOK, json={"n": 2}).status_code == 202
    assert [c["ran"] for c in emu.webhook_calls(DOC, rule)] == [False, False]  # received, not run yet
    emu.flush()
    assert [c["ran"] for c in emu.webhook_calls(DOC, rule)] == [True, True]
    assert emu.webhook_payloads(DOC, rule) == [{"n": 1}, {"n": 2}]


def test_form_and_plain_text_bodies_and_no_body_are_taken(emu: CodaEmulator, api: Api, rule: str) -> None:
    assert api.post(HOOK, data={"message": "hello", "tag": ["a", "b"]}).status_code == 202
    text = api.post(HOOK, data="plain wörds".encode(), headers={"Content-Type": "text/plain; charset=utf-8"})
    assert text.status_code == 202
    assert api.post(HOOK).status_code == 202  # the spec does not mark the body required
    calls = emu.webhook_calls(DOC, rule)
    assert [c["payload"] for c in calls] == [{"message": "hello", "tag": ["a", "b"]}, "plain wörds", None]
    assert calls[0]["contentType"] == "application/x-www-form-urlencoded"


def test_a_body_the_spec_does_not_allow_is_400_and_a_violation(emu: CodaEmulator, api: Api, rule: str) -> None:
    message = _error(api.post(HOOK, json=["not", "an", "object"]), 400)
    assert "is not of type 'object'" in message
    message = _error(api.post(HOOK, data=b"<xml/>", headers={"Content-Type": "application/xml"}), 400)
    assert "application/xml" in message and "text/plain" in message
    assert emu.webhook_calls(DOC, rule) == []
    violations = emu.take_spec_violations()
    assert any("triggerWebhookAutomation request body" in v and "object" in v for v in violations)
    assert any("is not one the operation takes" in v for v in violations)


def test_unknown_rule_and_unknown_doc_are_404(emu: CodaEmulator, api: Api, rule: str) -> None:
    assert "automation rule" in _error(api.post(f"/docs/{DOC}/hooks/automation/grid-auto-NoSuchRule", json={}), 404)
    assert "doc" in _error(api.post(f"/docs/NoSuchDoc0/hooks/automation/{rule}", json={}), 404)
    assert emu.webhook_calls(DOC, rule) == []


def test_a_rule_that_is_off_is_422_and_receives_nothing(emu: CodaEmulator, api: Api, rule: str) -> None:
    emu.set_automation_enabled(DOC, rule, False)
    assert "turned off" in _error(api.post(HOOK, json={"n": 1}), 422)
    assert emu.webhook_calls(DOC, rule) == []
    emu.set_automation_enabled(DOC, rule, True)
    assert api.post(HOOK, json={"n": 2}).status_code == 202
    assert emu.webhook_payloads(DOC, rule) == [{"n": 2}]


@pytest.mark.coda_emulator(rule_off="accepted")
def test_the_lenient_reading_accepts_a_rule_that_is_off_and_never_runs_it(
    emu: CodaEmulator, api: Api, rule: str
) -> None:
    emu.set_automation_enabled(DOC, rule, False)
    reply = api.post(HOOK, json={"n": 1})
    assert reply.status_code == 202
    api.wait(reply)
    [call] = emu.webhook_calls(DOC, rule)
    assert call["ran"] is False and call["skipped"] == "the rule is off"


@pytest.mark.parametrize(
    ("restriction", "message"),
    [
        ({"access": "read"}, "restricted to read access"),
        ({"doc": "Other"}, "restricted to another doc"),
        ({"doc": DOC, "table": TABLE}, "restricted to a single table"),
    ],
)
def test_a_token_without_write_access_to_the_doc_is_403(
    emu: CodaEmulator, rule: str, restriction: dict[str, str], message: str
) -> None:
    emu.add_doc("Other", "Another doc")
    token = fake_token("restricted")
    emu.add_token(token, **restriction)
    assert message in _error(Api(emu.url, token).post(HOOK, json={}), 403)
    assert emu.webhook_calls(DOC, rule) == []


def test_a_write_only_token_triggers_and_a_bad_token_is_401(emu: CodaEmulator, rule: str) -> None:
    token = fake_token("write-only")
    emu.add_token(token, access="write", doc=DOC)
    assert Api(emu.url, token).post(HOOK, json={}).status_code == 202
    assert _error(Api(emu.url, "fake-coda-revoked").post(HOOK, json={}), 401) == "Unauthorized"
    assert len(emu.webhook_calls(DOC, rule)) == 1


@pytest.mark.coda_emulator(rate_limits=RateLimits(doc_content=Bucket(1, 60.0)))
def test_triggers_draw_from_the_doc_content_bucket(emu: CodaEmulator, api: Api, rule: str) -> None:
    assert api.post(HOOK, json={}).status_code == 202
    assert _error(api.post(HOOK, json={}), 429) == "Too Many Requests"
    assert api.upsert([{"Entry Key": "x"}]).status_code == 429  # the same bucket as row writes
    assert len(emu.webhook_calls(DOC, rule)) == 1


def test_rules_from_a_seed_and_the_cli_option(coda_emulator_factory) -> None:
    seed = {
        "docs": [
            {
                "id": "SeedDoc001",
                "name": "Seeded",
                "automations": [{"id": "grid-auto-SeededOn01", "name": "On"}, {"name": "Off", "enabled": False}],
            }
        ]
    }
    emu = coda_emulator_factory(seed=seed, rate_limits=None)
    token = fake_token()
    emu.add_token(token)
    api = Api(emu.url, token)
    assert api.post("/docs/SeedDoc001/hooks/automation/grid-auto-SeededOn01", json={"a": 1}).status_code == 202
    off = emu.backend.world.docs["SeedDoc001"].automation("Off")
    assert re.fullmatch(r"grid-auto-[\w-]{10}", off.id)
    assert api.post(f"/docs/SeedDoc001/hooks/automation/{off.id}", json={}).status_code == 422
    assert parse_options(["--rule-off", "accepted"])[1]["rule_off"] == "accepted"
    assert parse_options([])[1]["rule_off"] == "422"
    with pytest.raises(ValueError, match="rule_off"):
        CodaEmulator(rule_off="maybe")
