"""Helpers of the container tests: Pipelines' clone layout, its variables, and a run's result.

See conftest.py for the fixtures and the environment variables of these tests.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from testkit.gitrepos import GitRepoBuilder

ROOT = Path(__file__).resolve().parents[2]


# Paths inside the container, as Pipelines lays them out.
CLONE_DIR = "/opt/atlassian/pipelines/agent/build"
GENERATED = ".bitbucket/pipelines/generated"
# The shared storage dir is the one later steps read as .../pipes/<owner>/<pipe> (cyberark's
# conjur-bitbucket-pipe writes secrets.env into BITBUCKET_PIPE_SHARED_STORAGE_DIR and its README
# sources it from that path). The private BITBUCKET_PIPE_STORAGE_DIR's real value is not known.
SHARED_STORAGE_REL = f"{GENERATED}/pipeline/pipes/airtable-coda-sync/airtable-coda-sync"
PIPE_STORAGE_REL = f"{GENERATED}/pipeline/pipes/.storage/airtable-coda-sync/airtable-coda-sync"
CLONE_OWNER = (1000, 1000)  # the clone belongs to another user than the container's root

WORKSPACE = "acme"
REPO_SLUG = "product"


@dataclass
class Checkout:
    """A clone made like Pipelines' build setup, ready to be mounted at CLONE_DIR."""

    repo: GitRepoBuilder  # host-side git refuses it after the chown ("dubious ownership")
    origin: GitRepoBuilder
    origin_reachable: bool
    head: str  # HEAD of the clone, read before it changed hands

    @property
    def path(self) -> Path:
        return self.repo.path

    @property
    def shared_storage(self) -> Path:
        return self.path / SHARED_STORAGE_REL

    @property
    def pipe_storage(self) -> Path:
        return self.path / PIPE_STORAGE_REL


def pipelines_setup(repo: GitRepoBuilder, origin: GitRepoBuilder, *, origin_reachable: bool = True) -> Checkout:
    """The rest of Pipelines' clone script (reference §4.3) and the storage dirs, then the clone is
    handed to another user. With `origin_reachable=False` origin is Bitbucket's plain-http URL behind
    the build container's auth proxy on localhost:29418, which a pipe container cannot use; with True
    it stays the file:// URL of `origin`, which the run mounts read-only at the same path."""
    if not origin_reachable:
        url = f"http://bitbucket.org/{WORKSPACE}/{REPO_SLUG}"
        repo.git("remote", "set-url", "origin", url)
        repo.git("config", f"http.{url}.proxy", "http://localhost:29418/")
    repo.git("config", "push.default", "current")
    repo.git("reflog", "expire", "--expire=all", "--all")
    exclude = repo.path / ".git" / "info" / "exclude"
    exclude.parent.mkdir(exist_ok=True)
    with exclude.open("a") as handle:
        handle.write(f"{GENERATED}\n")
    head = repo.head()
    for dirpath, _dirnames, filenames in os.walk(repo.path):
        os.chown(dirpath, *CLONE_OWNER)
        for name in filenames:
            os.lchown(os.path.join(dirpath, name), *CLONE_OWNER)
    checkout = Checkout(repo, origin, origin_reachable, head)
    for storage in (checkout.shared_storage, checkout.pipe_storage):
        storage.mkdir(parents=True, mode=0o755)  # made by Pipelines, owned by root
    return checkout


def pipelines_variables(
    checkout: Checkout,
    *,
    commit: str,
    branch: str | None = None,
    tag: str | None = None,
    pr_id: int | None = None,
    pr_destination: str | None = None,
    deployment: str | None = None,
    build_number: int = 42,
) -> dict[str, str]:
    """The default variables Pipelines forwards into a pipe container, for one kind of build."""
    full = f"{WORKSPACE}/{REPO_SLUG}"
    env = {
        "CI": "true",
        "BITBUCKET_BUILD_NUMBER": str(build_number),
        "BITBUCKET_CLONE_DIR": CLONE_DIR,
        "BITBUCKET_COMMIT": commit,
        "BITBUCKET_WORKSPACE": WORKSPACE,
        "BITBUCKET_REPO_OWNER": WORKSPACE,
        "BITBUCKET_REPO_OWNER_UUID": "{6a1d1a9b-0000-4000-8000-000000000001}",
        "BITBUCKET_REPO_SLUG": REPO_SLUG,
        "BITBUCKET_REPO_UUID": "{6a1d1a9b-0000-4000-8000-000000000002}",
        "BITBUCKET_REPO_FULL_NAME": full,
        "BITBUCKET_REPO_IS_PRIVATE": "true",
        "BITBUCKET_GIT_HTTP_ORIGIN": f"http://bitbucket.org/{full}",
        "BITBUCKET_GIT_SSH_ORIGIN": f"git@bitbucket.org:{full}.git",
        "BITBUCKET_PROJECT_KEY": "PROD",
        "BITBUCKET_PROJECT_UUID": "{6a1d1a9b-0000-4000-8000-000000000003}",
        "BITBUCKET_PIPELINE_UUID": "{6a1d1a9b-0000-4000-8000-000000000004}",
        "BITBUCKET_STEP_UUID": "{6a1d1a9b-0000-4000-8000-000000000005}",
        "BITBUCKET_STEP_RUN_NUMBER": "1",
        "BITBUCKET_STEP_TRIGGERER_UUID": "{6a1d1a9b-0000-4000-8000-000000000006}",
        "BITBUCKET_SSH_KEY_FILE": "/opt/atlassian/pipelines/agent/ssh/id_rsa",
        "BITBUCKET_DOCKER_HOST_INTERNAL": "127.0.0.1",
        "BITBUCKET_PIPELINES_VARIABLES_PATH": "/opt/atlassian/pipelines/agent/tmp/variables",
        "DOCKER_HOST": "tcp://host.docker.internal:2375",
        "PIPELINES_JWT_TOKEN": FAKE_JWT,
        "BITBUCKET_PIPE_STORAGE_DIR": f"{CLONE_DIR}/{PIPE_STORAGE_REL}",
        "BITBUCKET_PIPE_SHARED_STORAGE_DIR": f"{CLONE_DIR}/{SHARED_STORAGE_REL}",
    }
    if branch:  # "not available for builds against tags"
        env["BITBUCKET_BRANCH"] = branch
    if tag:
        env["BITBUCKET_TAG"] = tag
    if pr_id is not None:
        env["BITBUCKET_PR_ID"] = str(pr_id)
        env["BITBUCKET_PR_DESTINATION_BRANCH"] = pr_destination or "main"
    if deployment:
        env["BITBUCKET_DEPLOYMENT_ENVIRONMENT"] = deployment
        env["BITBUCKET_DEPLOYMENT_ENVIRONMENT_UUID"] = "{6a1d1a9b-0000-4000-8000-000000000007}"
    return env


FAKE_JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJwaXBlbGluZXMtdGVzdCJ9.c2lnbmF0dXJlLW9mLWEtZmFrZS1qd3Q"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    environment: dict[str, str]

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    def assert_no_secret(self, *secrets: str) -> None:
        """No secret appears in the log, plain or in the encodings a masker would miss."""
        for secret in secrets:
            for variant in secret_variants(secret):
                assert variant not in self.log, f"a form of a secret appears in the log: {variant[:6]}…"


def secret_variants(secret: str) -> set[str]:
    variants = {secret, quote(secret, safe="")}
    for text in (secret, f"Bearer {secret}", f":{secret}"):
        variants.add(base64.b64encode(text.encode()).decode().rstrip("="))
    return variants
