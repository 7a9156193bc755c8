"""Every record ID the documentation shows is one the pipe accepts (`rec` + exactly 14 letters or digits):
a reader who copies an example must get a working reference. docs/bad-input.md is left out on purpose:
it lists mistyped IDs as the bad input they are; so are lines quoting the pipe's message about one."""

from pathlib import Path

import pytest

from pipe.references import RECORD_ID, near_miss_record_ids

ROOT = Path(__file__).resolve().parents[2]
NOT_AN_ID = "is not an Airtable record ID"  # the pipe's own message, quoted with the mistyped ID it names
DOCS = [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").rglob("*.md") if p.name != "bad-input.md")]


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_every_record_id_in_the_docs_is_accepted_by_the_pipe(path: Path) -> None:
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if NOT_AN_ID not in line]
    assert near_miss_record_ids(lines) == []


def test_the_readme_shows_record_ids_and_they_are_found() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(RECORD_ID.findall(text)) >= 2  # the examples are there, and the pipe finds them
