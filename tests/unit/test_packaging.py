"""The project installs the pipe (pyproject.toml) with the same pinned dependencies the image installs."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = re.fullmatch(r"([A-Za-z0-9_.-]+)==(\S+)", line).groups()
            pins[name.lower()] = version
    return pins


def test_pyproject_dependencies_are_the_image_requirements() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert _pins(project["dependencies"]) == _pins(requirements)


def test_pyproject_version_is_the_released_pipe_version() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    image = re.search(r"^image: .*:(\S+)$", (ROOT / "pipe.yml").read_text(), re.M).group(1)
    assert version == image
    assert re.search(r"^version = \"(\S+)\"$", (ROOT / "pyproject.toml").read_text(), re.M)


def test_product_code_never_imports_test_infrastructure() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "pipe").rglob("*.py")
        if re.search(r"^\s*(from|import) (tests|testkit)\b", path.read_text(), re.M)
    ]
    assert offenders == []
