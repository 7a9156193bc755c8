"""The image itself: how it starts, what it holds, and its answer to bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.container.harness import CLONE_DIR, pipelines_setup, pipelines_variables

pytestmark = pytest.mark.container

ROOT = Path(__file__).resolve().parents[2]

# Runs inside the image (python3 = the image's venv python) and prints one JSON object of facts.
PROBE = r"""
import importlib.metadata as md, json, os, subprocess, sys
def out(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None
facts = {
    "uid": os.getuid(),
    "cwd": os.getcwd(),
    "python": sys.executable,
    "version": sys.version_info[:2],
    "safe_path": sys.flags.safe_path,
    "git": out("git", "--version"),
    "safe_directory": out("git", "config", "--system", "--get-all", "safe.directory"),
    "distributions": sorted(d.metadata["Name"].lower() for d in md.distributions()),
    "files": {p: os.path.isfile(p) for p in ("/pipe.yml", "/README.md", "/LICENSE")},
    "pipe_yml": open("/pipe.yml").read(),
    "build_leftovers": [p for p in ("/tmp/build", "/opt/venv/bin/pip") if os.path.exists(p)],
    "pipe_package": __import__("pipe").__file__,
}
print(json.dumps(facts))
"""


def test_image_config_matches_pipe_conventions(pipe_image):
    config = pipe_image.attrs["Config"]
    assert config["Entrypoint"] == ["python3", "-m", "pipe"]
    assert not config.get("Cmd")
    assert config.get("User", "") in ("", "root", "0"), "pipes run as root: no USER"
    assert config.get("WorkingDir", "") in ("", "/"), "the working directory is left to Pipelines"
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/opt/venv/bin:")


def test_image_contents(run_pipe, container_tmp):
    run = run_pipe(container_tmp, {}, entrypoint=["python3", "-c", PROBE])
    assert run.exit_code == 0, run.log
    facts = json.loads(run.stdout)
    assert facts["uid"] == 0
    assert facts["cwd"] == CLONE_DIR
    assert facts["python"].startswith("/opt/venv/")
    assert tuple(facts["version"]) >= (3, 11)
    assert facts["safe_path"] == 1
    assert facts["git"].startswith("git version")
    assert facts["safe_directory"] == "*"
    assert facts["files"] == {"/pipe.yml": True, "/README.md": True, "/LICENSE": True}
    assert yaml.safe_load(facts["pipe_yml"]) == yaml.safe_load((ROOT / "pipe.yml").read_text())
    assert facts["build_leftovers"] == []
    assert facts["pipe_package"].startswith("/opt/airtable-coda-sync/pipe/")
    # runtime dependencies only: nothing from requirements-dev.txt, no pip in the final image
    installed = set(facts["distributions"])
    for name in ("pyairtable", "requests", "jinja2", "gitpython", "pyyaml", "pydantic"):
        assert name in installed
    for name in ("pip", "setuptools", "pytest", "docker", "jsonschema", "ruff"):
        assert name not in installed, f"{name} should not be in the image"


def test_config_error_exits_2_with_a_clear_message(run_pipe, git_repo_builder):
    origin = git_repo_builder("origin")
    origin.commits(2)
    checkout = pipelines_setup(origin.pipelines_branch_checkout(git_repo_builder.path("build"), "main"), origin)
    token = "acs-config-error-token-5b0c9e"
    run = run_pipe(
        checkout,
        pipelines_variables(checkout, commit=checkout.head, branch="main"),
        {"AIRTABLE_TOKEN": token, "STAGE": "sideways"},
    )
    assert run.exit_code == 2, run.log
    for expected in ("AIRTABLE_BASE_ID", "AIRTABLE_TABLE", "STAGE", "sideways", "nothing was done"):
        assert expected in run.log
    assert "Traceback" not in run.log
    run.assert_no_secret(token)


def test_outside_a_git_repository_exits_2(run_pipe, container_tmp):
    run = run_pipe(container_tmp, {"CI": "true"}, {"DRY_RUN": "true"})
    assert run.exit_code == 2, run.log
    assert "No git repository" in run.log
    assert "Traceback" not in run.log
