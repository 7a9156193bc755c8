"""The API descriptions in testkit/specs are the unmodified public files their README names."""

import hashlib
import re

from testkit.specs import SPECS_DIR


def test_every_shipped_spec_matches_the_digest_its_readme_gives() -> None:
    rows = re.findall(r"^\| `([\w.-]+\.json)` \|.*\| `([0-9a-f]{64})` \|$", (SPECS_DIR / "README.md").read_text(), re.M)
    assert {name for name, _ in rows} == {p.name for p in SPECS_DIR.glob("*.json")}
    for name, digest in rows:
        assert hashlib.sha256((SPECS_DIR / name).read_bytes()).hexdigest() == digest, name
