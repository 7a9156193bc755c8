"""Keep CHANGELOG.md's "Unreleased" section equal to the pending changesets (.semversioner/next-release/).

    .venv/bin/python scripts/changelog_unreleased.py          # print the section
    .venv/bin/python scripts/changelog_unreleased.py --write  # replace it in CHANGELOG.md

Every user-visible change adds a changeset (`semversioner add-change`); the release step of
bitbucket-pipelines.yml turns them into the next version's section (`semversioner changelog`), which drops
this one. tests/unit/test_pipe_yml.py fails when the section and the changesets disagree.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PENDING = ROOT / ".semversioner" / "next-release"
CHANGELOG = ROOT / "CHANGELOG.md"
HEADING = "## Unreleased"
ORDER = {"major": 0, "minor": 1, "patch": 2}


def render() -> str:
    """The section, or "" when nothing is pending (changesets sorted by type, then by file name: by time)."""
    changes = []
    for path in sorted(PENDING.glob("*.json")) if PENDING.is_dir() else []:
        change = json.loads(path.read_text(encoding="utf-8"))
        changes.append((ORDER.get(change["type"], 3), path.name, f"- {change['type']}: {change['description']}"))
    if not changes:
        return ""
    return "\n".join([HEADING, "", *(line for *_key, line in sorted(changes))]) + "\n"


def replace_in(text: str) -> str:
    """`text` with its Unreleased section (if any) replaced by the rendered one, before the first release."""
    text = re.sub(rf"^{re.escape(HEADING)}\n.*?(?=^## )", "", text, flags=re.M | re.S)
    first = re.search(r"^## ", text, flags=re.M)
    at = first.start() if first else len(text)
    section = render()
    return text[:at] + (section + "\n" if section else "") + text[at:]


if __name__ == "__main__":
    if "--write" in sys.argv:
        CHANGELOG.write_text(replace_in(CHANGELOG.read_text(encoding="utf-8")), encoding="utf-8")
    else:
        print(render(), end="")
