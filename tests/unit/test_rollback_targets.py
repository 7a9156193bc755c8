"""The pure parts of rolling back Coda rows, the page section, the CHANGELOG and a journal read from Airtable:
finding a release's section among page lines, taking a section out of a changelog, and reading journal records
(no network)."""

from __future__ import annotations

from pipe.clients.coda import CodaColumn, CodaRow, CodaTable, PageLine
from pipe.config.file import CodaColumns, JournalFields
from pipe.recovery.changelog import without_section
from pipe.recovery.coda_page import release_sections
from pipe.recovery.coda_rows import CodaRowsRestorer, TableState
from pipe.recovery.journal_reader import JournalLine, group_entries
from pipe.recovery.journal_table import parse_records
from pipe.recovery.plan import FieldAction, RecordAction
from pipe.sinks.changelog_file import section_of, updated_changelog
from pipe.sinks.coda_page import release_marker

NOTES = (
    "## [1.5.0](https://bitbucket.org/acme/product/branches/compare/1.5.0..1.4.0) (2026-03-01)\n\n"
    "### Features\n\n* **ui:** dark mode ([abc1234](https://bitbucket.org/acme/product/commits/abc1234))\n\n"
    + release_marker("1.5.0")
    + "\n"
)


def lines(*texts: str) -> list[PageLine]:
    return [PageLine(f"cl-{n}", "paragraph", text) for n, text in enumerate(texts)]


def test_the_section_runs_from_the_notes_heading_to_the_marker_leaving_earlier_lines_alone():
    page = lines(
        "Release Notes",
        "1.4.0 (2026-01-01)",
        release_marker("1.4.0"),
        "A note a person wrote after 1.4.0",
        "1.5.0 (2026-03-01)",
        "Features",
        "ui: dark mode (abc1234)",
        release_marker("1.5.0"),
    )
    [section] = release_sections(page, "1.5.0", NOTES)
    assert section.ids == ("cl-4", "cl-5", "cl-6", "cl-7") and section.foreign is None


def test_a_line_edited_or_added_inside_the_section_is_found():
    page = lines("1.5.0 (2026-03-01)", "Features", "ui: dark mode, tested by Ada", release_marker("1.5.0"))
    [section] = release_sections(page, "1.5.0", NOTES)
    assert section.foreign == "ui: dark mode, tested by Ada"
    edited_heading = lines("Version 1.5.0 (March)", "Features", release_marker("1.5.0"))
    [section] = release_sections(edited_heading, "1.5.0", NOTES)
    assert section.ids == () and "the notes' first line is not above the marker line" in (section.foreign or "")


def test_no_marker_no_section_and_every_copy_is_found():
    assert release_sections(lines("Release Notes", "1.5.0 (2026-03-01)"), "1.5.0", NOTES) == []
    twice = lines("1.5.0 (2026-03-01)", release_marker("1.5.0"), "1.5.0 (2026-03-01)", release_marker("1.5.0"))
    assert [s.ids for s in release_sections(twice, "1.5.0", NOTES)] == [("cl-0", "cl-1"), ("cl-2", "cl-3")]


CHANGELOG = "# Changelog\n\n## 1.4.0\n\n* login\n"
SECTION = "## [1.5.0] (2026-03-01)\n\n* dark mode\n"


def test_taking_a_section_out_is_the_inverse_of_adding_it():
    for start in (CHANGELOG, "", "# Changelog\n", "## 1.4.0\n\n* login\n"):
        added = updated_changelog(start, "1.5.0", SECTION)
        assert section_of(added, "1.5.0") is not None
        assert without_section(added, "1.5.0").strip() == start.strip()
    assert without_section(updated_changelog(CHANGELOG, "1.5.0", SECTION), "1.5.0") == CHANGELOG
    assert without_section(CHANGELOG, "1.5.0") == CHANGELOG


def test_section_of_reads_a_section_out_of_a_whole_file_or_a_section():
    whole = updated_changelog(CHANGELOG, "1.5.0", SECTION)
    assert section_of(whole, "1.5.0") == SECTION + "\n"
    assert section_of(SECTION, "1.5.0") == SECTION
    assert section_of(whole, "1.4.0") == "## 1.4.0\n\n* login\n"
    assert section_of(whole, "1.6.0") is None


COLUMNS = {
    name: CodaColumn(f"c-{name[:4]}", name, "text")
    for name in ("Release", "Entry Key", "Description", "Reviewer", "Total")
}
COLUMNS["Total"] = CodaColumn("c-Tota", "Total", "text", calculated=True)


def restorer(rows: dict[tuple[str, str], list[CodaRow]]) -> CodaRowsRestorer:
    r = CodaRowsRestorer(None, CodaColumns())
    table = TableState(
        CodaTable("grid-1", "Changelog", "table"), COLUMNS, COLUMNS["Release"], COLUMNS["Entry Key"], rows
    )
    r.tables["Changelog"] = table
    return r


def history(*cells: tuple[str, object, object], created: bool | None):
    found = [
        JournalLine(
            "coda", "Changelog", "1.5.0/pr-7", c, b, a, "build #12", "2026-03-01T12:00:00+00:00", created, line=n
        )
        for n, (c, b, a) in enumerate(cells, start=1)
    ]
    return group_entries(found)[0]


NEW = (("Release", None, "1.5.0"), ("Entry Key", None, "pr-7"), ("Description", None, "dark mode"))


def row(**cells: object) -> CodaRow:
    return CodaRow("i-row1", {COLUMNS[name].id: value for name, value in cells.items()})


def test_a_created_row_is_deleted_only_while_nobody_changed_it():
    same = row(**{"Release": "1.5.0", "Entry Key": "pr-7", "Description": "dark mode", "Total": "3"})
    r = restorer({("1.5.0", "pr-7"): [same]})
    plan = r.plan(history(*NEW, created=True))
    assert plan.action is RecordAction.DELETE and r.row_ids[("Changelog", "1.5.0/pr-7")] == ["i-row1"]
    filled = row(**{"Release": "1.5.0", "Entry Key": "pr-7", "Description": "dark mode", "Reviewer": "Ada"})
    plan = restorer({("1.5.0", "pr-7"): [filled]}).plan(history(*NEW, created=True))
    assert plan.action is RecordAction.CREATED and "'Reviewer' filled in" in (plan.reason or "")
    gone = restorer({}).plan(history(*NEW, created=True))
    assert gone.action is RecordAction.ROLL_BACK and {f.action for f in gone.fields} == {FieldAction.ALREADY}


def test_old_journals_count_a_row_as_created_when_its_key_columns_were_written():
    same = row(**{"Release": "1.5.0", "Entry Key": "pr-7", "Description": "dark mode"})
    assert restorer({("1.5.0", "pr-7"): [same]}).plan(history(*NEW, created=None)).action is RecordAction.DELETE
    update = history(("Description", None, "dark mode"), created=None)  # an empty cell filled in: an update
    plan = restorer({("1.5.0", "pr-7"): [same]}).plan(update)
    assert plan.action is RecordAction.ROLL_BACK and plan.fields[0].action is FieldAction.RESTORE


def test_an_updated_row_gets_back_what_it_held_unless_it_changed_since():
    update = history(("Description", "Dark mode", "dark mode"), created=False)
    now = row(**{"Release": "1.5.0", "Entry Key": "pr-7", "Description": "Dark mode, by Ada"})
    assert restorer({("1.5.0", "pr-7"): [now]}).plan(update).fields[0].action is FieldAction.CHANGED_SINCE
    assert restorer({}).plan(update).action is RecordAction.MISSING


FIELDS = JournalFields()


def record(rid: str, **values: object) -> dict:
    base = {
        "Entry": "build #12 #00001 0123456789",
        "Run": "build #12",
        "Service": "airtable",
        "Table": "Work Items",
        "Record": "recWorkItem000108",
        "Field": "Status",
        "Before": "Planned",
        "After": "In Progress",
        "Time": "2026-03-01T12:00:04.000Z",
        "Change": "updated",
    }
    return {"id": rid, "fields": {k: v for k, v in {**base, **values}.items() if v is not None}}


def test_journal_records_are_read_in_the_order_they_were_written():
    records = [
        record("rec3", Entry="build #12 #00003 c", Field="Branch", Before=None, After="feature/x"),
        record("rec1", Entry="build #12 #00001 a", Time="2026-03-01T12:00:03.000Z"),
        record("rec2", Entry="build #12 #00002 b", Field="Last Run", After='"12"', Change=None, Unconfirmed=True),
    ]
    entries, problems = parse_records(records, FIELDS)
    assert problems == []
    assert [(e.field, e.before, e.after, e.created, e.unconfirmed) for e in entries] == [
        ("Status", "Planned", "In Progress", False, False),
        ("Last Run", "Planned", "12", None, True),
        ("Branch", None, "feature/x", False, False),
    ]


def test_a_record_that_is_not_an_entry_is_named():
    entries, problems = parse_records([record("recBad", Service=None, Field="")], FIELDS)
    assert entries == [] and problems == ["record recBad: 'Service', 'Field' empty"]
