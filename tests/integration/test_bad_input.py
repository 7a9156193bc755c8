"""The bad-input catalogue (testkit/bad_inputs.py): every entry runs `pipe.flow.run` against the
Airtable and Coda emulators over HTTP and a real git repository, and must end with its exit code, log its
message, print no token, and write nothing unless the entry allows it. docs/bad-input.md is its table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from testkit.bad_inputs import CASES, Case, run_case, secrets_of
from testkit.bitbucket_repo import pipe_proxy
from testkit.emulators.coda.fixtures import SAMPLE_SEED_PATH as CODA_SEED

DOC = Path(__file__).resolve().parents[2] / "docs" / "bad-input.md"


def _param(case: Case):
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_bad_input(case: Case, tmp_path, airtable_emulator, coda_emulator_factory, bitbucket_emulator_factory):
    coda = coda_emulator_factory(seed=CODA_SEED, mutation_delay=0, rate_limits=None) if case.coda else None
    bitbucket = bitbucket_emulator_factory(seed=None, proxy=pipe_proxy("acme", "product")) if case.bitbucket else None
    ctx, outcome = run_case(case, tmp_path, airtable_emulator, coda, bitbucket)
    problems = outcome.problems(case, secrets_of(ctx))
    assert not problems, f"{case.id}: {problems}\n--- log ---\n{outcome.out[-4000:]}"
    if case.check is not None:
        case.check(ctx, outcome)


def test_the_catalogue_has_an_entry_for_every_category_and_unique_ids():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 30
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i) for i in ids)
    for prefix in ("yaml-", "config-file-", "key-pattern-", "template-", "record-id-", "coda-", "message-"):
        assert any(i.startswith(prefix) for i in ids), prefix


def doc_rows() -> list[list[str]]:
    text = DOC.read_text(encoding="utf-8")
    table = text.split("<!-- catalogue:begin", 1)[1].split("<!-- catalogue:end -->", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", row)[1:-1]] for row in rows]


def test_the_docs_table_lists_exactly_the_catalogue():
    rows = doc_rows()
    assert [re.match(r"`([^`]+)`", r[0])[1] for r in rows] == [c.id for c in CASES], (
        "docs/bad-input.md is out of step with the catalogue: run .venv/bin/python scripts/bad_input_table.py --write"
    )
    for row, case in zip(rows, CASES, strict=True):
        if case.xfail is None:  # known gaps show the exit code the pipe gives today
            assert row[2] == str(case.exit_code), case.id
