"""Container tests: build the pipe's image once per session and run it the way Pipelines runs a pipe.

How Pipelines starts a pipe (../shared/reference/bitbucket-pipes.md §4): `docker run` of the image as
root, the step's clone bind-mounted at the same path (/opt/atlassian/pipelines/agent/build) and used
as the working directory, the clone owned by another user, the forwarded `BITBUCKET_*` variables plus
only the variables the step passed, and the two pipe storage directories under the clone's
`.bitbucket/pipelines/generated/`. Containers use the host's network (`network_mode="host"`), which is
how they reach the emulators the tests start on 127.0.0.1.

Environment (all optional):
  PIPE_TEST_START_DOCKER=1   may start a Docker engine with ../shared/tools/docker-sandbox when none
                             answers (also allowed when CI=true); otherwise the tests are skipped
  PIPE_TEST_BASE_IMAGE       base image to build FROM (default: the sandbox's image when the sandbox
                             runs here, else the Dockerfile's default python:3.11-slim-bookworm)
  PIPE_TEST_IMAGE            use this already built image instead of building one
  PIPE_TEST_TMPDIR           where test repositories are made (must be visible to the engine; in
                             Bitbucket's docker service only paths under $BITBUCKET_CLONE_DIR are)
  PIP_CERT                   CA bundle pip needs inside the build (copied to build/pip-ca.crt)
  AIRTABLE_CODA_SYNC_SHARED  the shared folder (default <repo>/../shared)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

from testkit.gitrepos import GitRepoFactory
from tests.container.harness import CLONE_DIR, ROOT, Checkout, Run

# The emulators' fixtures (airtable_emulator, coda_emulator) come from tests/conftest.py.

SANDBOX_IMAGE = "local/debian-python:bookworm"  # what ../shared/tools/docker-sandbox builds by default
TEST_IMAGE_TAG = "airtable-coda-sync:container-tests"


# -- engine and image ---------------------------------------------------------------------------


def _shared() -> Path:
    return Path(os.environ.get("AIRTABLE_CODA_SYNC_SHARED") or ROOT.parent / "shared")


def _may_start_engine() -> bool:
    return os.environ.get("PIPE_TEST_START_DOCKER") == "1" or os.environ.get("CI") == "true"


def _run_sandbox(sandbox: Path) -> str:
    proc = subprocess.run([str(sandbox)], capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        pytest.fail(f"{sandbox} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout.strip().splitlines()[-1]


@dataclass
class Engine:
    client: docker.DockerClient
    base_image: str | None  # None: the Dockerfile's default
    notes: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    sandbox = _shared() / "tools" / "docker-sandbox"
    base = os.environ.get("PIPE_TEST_BASE_IMAGE") or None
    notes = []
    try:
        client = docker.from_env(timeout=600)
        client.ping()
    except docker.errors.DockerException as exc:
        if not _may_start_engine():
            pytest.skip(
                f"no Docker engine answers ({type(exc).__name__}: {exc}); start one, or set "
                f"PIPE_TEST_START_DOCKER=1 to let the tests start one with {sandbox}"
            )
        if not sandbox.is_file():
            pytest.skip(f"no Docker engine answers and {sandbox} is missing (set AIRTABLE_CODA_SYNC_SHARED)")
        started = _run_sandbox(sandbox)
        base = base or started
        notes.append(f"engine started with {sandbox}")
        client = docker.from_env(timeout=600)
        client.ping()
    if base is None:
        try:
            client.images.get(SANDBOX_IMAGE)
            base = SANDBOX_IMAGE
        except docker.errors.ImageNotFound:
            if _may_start_engine() and sandbox.is_file() and not os.environ.get("BITBUCKET_BUILD_NUMBER"):
                base = _run_sandbox(sandbox)
    notes.append(f"base image: {base or 'the Dockerfile default'}")
    yield Engine(client, base, notes)
    client.close()


def _pip_ca_bundle(base_image: str | None) -> None:
    """Put pip's CA bundle where the Dockerfile's build stage looks for it (build/ is git-ignored)."""
    cert = os.environ.get("PIP_CERT") or ("/etc/ssl/certs/ca-certificates.crt" if base_image else "")
    target = ROOT / "build" / "pip-ca.crt"
    if cert and Path(cert).is_file():
        target.parent.mkdir(exist_ok=True)
        if not target.exists() or target.read_bytes() != Path(cert).read_bytes():
            shutil.copyfile(cert, target)


@dataclass
class Image:
    tag: str
    build_seconds: float | None
    size_bytes: int
    attrs: dict


@pytest.fixture(scope="session")
def pipe_image(engine: Engine, request) -> Image:
    client = engine.client
    given = os.environ.get("PIPE_TEST_IMAGE")
    if given:
        image = client.images.get(given)
        return Image(given, None, image.attrs["Size"], image.attrs)
    _pip_ca_bundle(engine.base_image)
    try:
        previous = client.images.get(TEST_IMAGE_TAG).id
    except docker.errors.ImageNotFound:
        previous = None
    buildargs = {"BASE_IMAGE": engine.base_image} if engine.base_image else {}
    started = time.monotonic()
    output: list[str] = []
    for chunk in client.api.build(
        path=str(ROOT),
        tag=TEST_IMAGE_TAG,
        buildargs=buildargs,
        network_mode="host",
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "stream" in chunk:
            output.append(chunk["stream"])
        if "error" in chunk:
            pytest.fail(f"docker build failed: {chunk['error']}\n{''.join(output)[-4000:]}")
    seconds = time.monotonic() - started
    image = client.images.get(TEST_IMAGE_TAG)
    if previous and previous != image.id:
        # the last session's image is now untagged; with the vfs driver each of its layers is a full
        # copy of the file system, so drop it (its layers still in use by the new image stay)
        with contextlib.suppress(docker.errors.APIError):
            client.images.remove(previous)
    request.config._container_summary = (  # shown by pytest_terminal_summary below
        f"image {TEST_IMAGE_TAG}: built in {seconds:.0f} s, {image.attrs['Size'] / 1e6:.0f} MB; "
        + "; ".join(engine.notes)
    )
    return Image(TEST_IMAGE_TAG, seconds, image.attrs["Size"], image.attrs)


def pytest_terminal_summary(terminalreporter, config):
    summary = getattr(config, "_container_summary", None)
    if summary:
        terminalreporter.write_line(f"container tests: {summary}")


# -- repositories as Pipelines clones them ---------------------------------------------------------


@pytest.fixture
def container_tmp(tmp_path: Path) -> Iterator[Path]:
    """A temporary folder the engine can bind-mount (see PIPE_TEST_TMPDIR)."""
    parent = os.environ.get("PIPE_TEST_TMPDIR")
    if not parent and os.environ.get("BITBUCKET_CLONE_DIR"):
        parent = os.path.join(os.environ["BITBUCKET_CLONE_DIR"], ".container-tests")
    if not parent:
        yield tmp_path
        return
    Path(parent).mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=parent))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def git_repo_builder(container_tmp: Path) -> GitRepoFactory:
    return GitRepoFactory(container_tmp)


# -- running the pipe --------------------------------------------------------------------------------


@pytest.fixture
def run_pipe(engine: Engine, pipe_image: Image):
    """run_pipe(checkout, pipelines_env, variables, *, image_args=None, timeout=180) -> Run.

    `variables` are what the step's `variables:` passes; `pipelines_env` what Pipelines forwards.
    """
    client = engine.client

    def run(
        checkout: Checkout | Path,
        pipelines_env: Mapping[str, str],
        variables: Mapping[str, str] | None = None,
        *,
        command: list[str] | None = None,
        entrypoint: str | list[str] | None = None,
        timeout: float = 180,
    ) -> Run:
        path = checkout.path if isinstance(checkout, Checkout) else checkout
        volumes = {str(path.resolve()): {"bind": CLONE_DIR, "mode": "rw"}}
        if isinstance(checkout, Checkout) and checkout.origin_reachable:
            origin = str(checkout.origin.path.resolve())
            volumes[origin] = {"bind": origin, "mode": "ro"}
        environment = {**pipelines_env, **(variables or {})}
        started = time.monotonic()
        container = client.containers.create(
            pipe_image.tag,
            command=command,
            entrypoint=entrypoint,
            environment=environment,
            volumes=volumes,
            working_dir=CLONE_DIR,
            network_mode="host",
            labels={"org.bitbucket.pipelines.system": "true"},
        )
        try:
            container.start()
            try:
                status = container.wait(timeout=timeout)
            except Exception as exc:  # requests' ReadTimeout: the pipe hung
                container.kill()
                raise AssertionError(f"the pipe did not finish within {timeout} s") from exc
            seconds = time.monotonic() - started
            stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
            stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
        finally:
            container.remove(force=True)
        return Run(status["StatusCode"], stdout, stderr, seconds, environment)

    return run
