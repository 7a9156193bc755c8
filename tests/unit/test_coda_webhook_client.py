"""The Coda HTTP policy for webhook triggers (paced as doc content writes, never replayed but after a 429) and
what each refusal of a trigger tells the user."""

from __future__ import annotations

import requests

from pipe.clients.coda import CodaConfigError, CodaError, coda_policy
from pipe.clients.coda.automation import automation_error

BASE = "https://coda.io/apis/v1/docs/AbCDeFGH12"


def prepared(method: str, path: str, body: bytes | None = b"{}") -> requests.PreparedRequest:
    return requests.Request(method, BASE + path, data=body).prepare()


def test_a_trigger_is_not_replay_safe_and_is_paced_as_a_doc_content_write() -> None:
    policy = coda_policy()
    trigger = prepared("POST", "/hooks/automation/grid-auto-b3Jmey6jBS")
    keyed_upsert = prepared("POST", "/tables/grid-x/rows", b'{"keyColumns":["c-1"],"rows":[]}')
    assert policy.replay_safe(trigger) is False
    assert policy.replay_safe(keyed_upsert) is True
    assert len(policy.limiters(trigger)) == 2  # doc content + write, like a row upsert
    assert policy.limiters(trigger) == policy.limiters(keyed_upsert)
    assert len(policy.limiters(prepared("GET", "", None))) == 1


def test_refusals_of_a_trigger_name_the_variable_and_the_fix() -> None:
    forbidden = automation_error(403, "This API token is restricted to read access.", "AbC", "grid-auto-x", "t")
    assert isinstance(forbidden, CodaConfigError)
    assert str(forbidden).startswith("CODA_API_TOKEN: Coda refused to trigger automation rule grid-auto-x")
    assert "write access to the doc" in str(forbidden)
    missing = automation_error(404, "Not Found", "AbC", "grid-auto-x", "t")
    assert isinstance(missing, CodaConfigError) and str(missing).startswith("CODA_WEBHOOK_RULE_ID: Coda found no")
    off = automation_error(422, "Unprocessable Entity", "AbC", "grid-auto-x", "t")
    assert isinstance(off, CodaConfigError) and "turn it on" in str(off)
    bad = automation_error(400, "Bad Request", "AbC", "grid-auto-x", "triggering it")
    assert isinstance(bad, CodaError) and not isinstance(bad, CodaConfigError) and bad.status == 400
    for status in (401, 429, 500, 503):  # the client's general messages cover these
        assert automation_error(status, "x", "AbC", "grid-auto-x", "t") is None
