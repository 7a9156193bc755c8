"""README.md must describe exactly the variables the code accepts."""

import re
from pathlib import Path

from pipe.config.variables import variable_names
from scripts.variables_table import BEGIN, END, render

README = Path(__file__).resolve().parents[2] / "README.md"


def test_variables_table_matches_the_schema():
    text = README.read_text()
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == render(), "README's Variables table is stale: run scripts/variables_table.py --write"


def test_every_variable_in_the_table_exists_in_code():
    text = README.read_text()
    table = text.split(BEGIN, 1)[1].split(END, 1)[0]
    named = re.findall(r"^\| ([A-Z][A-Z0-9_]+)", table, flags=re.M)
    assert named == variable_names()


def test_readme_names_the_two_newcomer_commands_and_dev_knows_them():
    text = README.read_text()
    assert "./dev demo" in text and "./dev test" in text
    dev = (README.parent / "dev").read_text()
    assert re.search(r"^  demo\)", dev, flags=re.M) and re.search(r"^  test\)", dev, flags=re.M)


def test_configuration_file_block_in_readme_is_exactly_the_defaults():
    import yaml

    from pipe.config.file import FileConfig
    from pipe.release.config import ReleaseConfig

    text = README.read_text()
    block = text[text.index("airtable:\n  fields:") :]
    data = yaml.safe_load(block[: block.index("```")])
    parsed = FileConfig.model_validate(data)
    assert parsed.model_copy(update={"release": {}}) == FileConfig()
    assert ReleaseConfig.from_dict(parsed.release) == ReleaseConfig()
