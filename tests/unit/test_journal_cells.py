"""The change journal's cells (pipe.sinks.journal_cells) and its settings: values round-trip exactly, stay
readable, long ones are cut and say so; JOURNAL_RUN and AIRTABLE_JOURNAL_TABLE are validated together."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipe.config import load_settings
from pipe.errors import ConfigError
from pipe.sinks.journal import JournalEntry
from pipe.sinks.journal_cells import CELL_LIMIT, change_of, created_of, entry_key, from_cell, to_cell

VALID = {"AIRTABLE_TOKEN": "tok-for-tests", "AIRTABLE_BASE_ID": "appABCDEFGHIJKLMN", "AIRTABLE_TABLE": "Work Items"}


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, None),
        ("Planned", "Planned"),
        ("## 1.5.0\n\n- dark mode", "## 1.5.0\n\n- dark mode"),
        ("", '""'),
        ("12", '"12"'),
        ("true", '"true"'),
        ("[1]", '"[1]"'),
        (" 7 ", '" 7 "'),
        (12, "12"),
        (True, "true"),
        (["recA", "recB"], '["recA", "recB"]'),
        ({"stage": "merge", "records": []}, '{"records": [], "stage": "merge"}'),
    ],
)
def test_values_are_kept_readable_and_read_back_exactly(value, cell):
    assert to_cell(value) == cell
    assert from_cell(cell) == (value, False)


def test_a_value_over_the_cell_limit_is_cut_and_says_so():
    long = "x" * (CELL_LIMIT + 10)
    cell = to_cell(long)
    assert cell is not None and len(cell) == CELL_LIMIT
    total = CELL_LIMIT + 10
    note = f"cut by airtable-coda-sync: {total} characters in all; the journal file holds the whole value]"
    assert cell.endswith(note)
    value, cut = from_cell(cell)
    assert cut and value == cell
    assert to_cell("x" * CELL_LIMIT) == "x" * CELL_LIMIT  # at the limit: whole


def entry(**changes) -> JournalEntry:
    base = dict(
        service="airtable",
        table="Work Items",
        record="recWorkItem000108",
        field="Status",
        before="Planned",
        after="In Progress",
        run_id="build #12",
        time="2026-03-01T12:00:04+00:00",
        created=False,
    )
    return JournalEntry(**{**base, **changes})


def test_the_entry_key_names_the_run_and_the_place_and_changes_with_the_content():
    key = entry_key(entry(), 3)
    assert key.startswith("build #12 #00003 ") and len(key.split()[-1]) == 10
    assert entry_key(entry(), 3) == key  # a replay writes the same record
    assert entry_key(entry(after="In Review"), 3) != key
    assert entry_key(entry(run_id=None), 3).startswith("no run id #00003 ")


def test_created_and_updated_read_back_as_the_journal_file_says():
    assert [change_of(entry(created=c)) for c in (True, False, None)] == ["created", "updated", None]
    assert [created_of(c) for c in ("created", "updated", None, "")] == [True, False, None, None]


def problems(env) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env, Path("."))
    return info.value.problems


def test_journal_run_is_read_with_the_journal_table_at_rollback():
    env = {**VALID, "STAGE": "rollback", "JOURNAL_RUN": " build #12 ", "AIRTABLE_JOURNAL_TABLE": "Change Journal"}
    settings = load_settings(env, Path("."))
    assert settings.run.journal_run == "build #12" and settings.run.journal_file is None
    assert settings.airtable.journal_table == "Change Journal"
    assert settings.airtable.journal.before == "Before"


def test_journal_run_problems_name_the_variables():
    assert problems({**VALID, "STAGE": "rollback", "JOURNAL_RUN": "build #12"}) == [
        "AIRTABLE_JOURNAL_TABLE: is required with JOURNAL_RUN (the table the run was journaled in)"
    ]
    both = {**VALID, "STAGE": "rollback", "JOURNAL_RUN": "build #12", "JOURNAL_FILE": "j.jsonl"}
    assert "JOURNAL_RUN: give JOURNAL_FILE or JOURNAL_RUN, not both (they name what to roll back)" in problems(
        {**both, "AIRTABLE_JOURNAL_TABLE": "J"}
    )
    assert problems({**VALID, "JOURNAL_RUN": "build #12", "AIRTABLE_JOURNAL_TABLE": "J"}) == [
        "JOURNAL_RUN: is only used with STAGE: rollback; set STAGE: rollback to roll that run back"
    ]
    found = problems({**VALID, "STAGE": "rollback", "JOURNAL_RUN": "a\nb", "AIRTABLE_JOURNAL_TABLE": "J"})
    assert found[0].startswith("JOURNAL_RUN: got 'a\\nb'; expected the ID of a journaled run")
    assert problems({**VALID, "STAGE": "rollback"}) == [
        "JOURNAL_FILE: is required with STAGE: rollback (the run's <report name>.journal.jsonl), or "
        "JOURNAL_RUN with AIRTABLE_JOURNAL_TABLE"
    ]


def test_a_rollback_with_a_coda_token_needs_the_doc_but_no_table():
    env = {**VALID, "STAGE": "rollback", "JOURNAL_FILE": "j.jsonl", "CODA_API_TOKEN": "coda-tok"}
    assert problems(env) == ["CODA_DOC_ID: is required when CODA_API_TOKEN is given"]
    assert load_settings({**env, "CODA_DOC_ID": "AbCdEf1234"}, Path(".")).coda.table is None


def test_the_journal_section_of_the_config_file_is_validated(tmp_path):
    (tmp_path / ".airtable-coda-sync.yml").write_text("airtable:\n  journal:\n    before: null\n    colour: Red\n")
    found = problems_at(tmp_path)
    assert any("(airtable.journal.before)" in p for p in found)
    assert any("(airtable.journal.colour): unknown key" in p for p in found)


def problems_at(root: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(VALID, root)
    return info.value.problems
