"""A secret pasted into a commit message never reaches anything the pipe writes (issue 9, section 3).

The commit messages of a merge carry the Airtable token, the Coda token and an Airtable-token-shaped string
the pipe was never told about. After the merge, none of them is in any request body Airtable or Coda
received, in the CHANGELOG file, the report, the journal or the log; the entries are still published, with
the secrets masked.
"""

from __future__ import annotations

import json
import secrets
import string

import pytest

from pipe.flow import run
from testkit.emulators.airtable.fixtures import SAMPLE_BASE_ID, SAMPLE_READWRITE_TOKEN
from testkit.emulators.coda.fixtures import SAMPLE_DOC_ID
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED

CODA_TOKEN = "fake-coda-token-for-the-secrets-test"


def token_shaped() -> str:
    """A fake Airtable personal access token, made at run time (never committed)."""
    alphabet = string.ascii_letters + string.digits
    return "pat" + "".join(secrets.choice(alphabet) for _ in range(14)) + "." + secrets.token_hex(32)


@pytest.mark.coda_emulator(seed=CODA_SEED, mutation_delay=0.05, rate_limits=None)
def test_tokens_in_commit_messages_are_masked_in_every_output(
    airtable_emulator, coda_emulator, git_repo_builder, tmp_path, capsys
):
    coda_emulator.add_token(CODA_TOKEN)
    shaped = token_shaped()
    repo = git_repo_builder("product")
    repo.commit("feat: login page", {"app.txt": "1"})
    repo.tag("1.4.0")
    repo.commit(f"feat: debug login FEAT-105 with {SAMPLE_READWRITE_TOKEN}", {"a.txt": "1"})
    repo.commit(f"fix: sync with Coda key {CODA_TOKEN} (recWorkItem000106)", {"b.txt": "2"})
    repo.commit(f"docs: the token {shaped} is an example", {"c.txt": "3"})
    report = tmp_path / "report.json"
    env = {
        "AIRTABLE_TOKEN": SAMPLE_READWRITE_TOKEN,
        "AIRTABLE_BASE_ID": SAMPLE_BASE_ID,
        "AIRTABLE_TABLE": "Work Items",
        "AIRTABLE_API_URL": airtable_emulator.url,
        "AIRTABLE_RELEASES_TABLE": "Releases",
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
        "CHANGELOG_FILE": "CHANGELOG.md",
        "CODA_API_TOKEN": CODA_TOKEN,
        "CODA_DOC_ID": SAMPLE_DOC_ID,
        "CODA_TABLE": "Changelog",
        "CODA_PAGE": "Release Notes",
        "CODA_API_URL": coda_emulator.url,
        "BITBUCKET_BRANCH": "main",
        "BITBUCKET_COMMIT": repo.head(),
        "BITBUCKET_REPO_FULL_NAME": "acme/product",
        "REPORT_FILE": str(report),
    }

    assert run(env, repo.path) == 0
    log = capsys.readouterr().out

    sent = [json.dumps(r.body) for r in [*airtable_emulator.requests, *coda_emulator.requests] if r.body]
    outputs = {
        "requests": "\n".join(sent),
        "CHANGELOG.md": (repo.path / "CHANGELOG.md").read_text(),
        "report": report.read_text(),
        "journal": report.with_name("report.journal.jsonl").read_text(),
        "log": log,
    }
    for secret in (SAMPLE_READWRITE_TOKEN, CODA_TOKEN, shaped):
        for name, text in outputs.items():
            assert secret not in text, f"{name} carries a secret"
    # the entries are published all the same, masked
    descriptions = sorted(r["Description"] for r in coda_emulator.rows(SAMPLE_DOC_ID, "Changelog") if r.get("Release"))
    assert any("debug login" in d and "[redacted]" in d for d in descriptions)
    assert "the token [redacted] is an example" in outputs["CHANGELOG.md"]
    assert "token-shaped string" in log  # the run says so
