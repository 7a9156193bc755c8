"""Figures of the pipe's Docker image: size, installed size per Python distribution, cold start.

    python benchmarks/image.py [--image TAG] [--runs N] [--build]

Prints:
  * the image size, the base image size and what our layers add;
  * the installed size of each Python distribution inside the image (files listed in its RECORD);
  * cold-start times, median (min-max) of N runs of a fresh container, the way Pipelines starts a
    pipe (small repository mounted at /opt/atlassian/pipelines/agent/build, owned by uid 1000):
      - create+start -> the pipe's first log line,
      - start -> first log line (without the engine's container creation),
      - a full dry run (DRY_RUN=true, no token, no network) from create to exit.

The image is `--image` (default airtable-coda-sync:dev); `--build` (or a missing image) builds it with
scripts/docker-env.sh. Without a reachable Docker engine it prints why and exits 0 (start one with
`source scripts/docker-env.sh`). Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLONE_DIR = "/opt/atlassian/pipelines/agent/build"

SIZES = r"""
import importlib.metadata as md, json, os
rows = []
for dist in md.distributions():
    total = 0
    for f in dist.files or []:
        path = dist.locate_file(f)
        try:
            total += os.path.getsize(path)
        except OSError:
            pass
    rows.append((dist.metadata["Name"], dist.version, total))
print(json.dumps(rows))
"""


def sh(*cmd: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)


def ensure_image(client, tag: str, build: bool) -> None:
    import docker

    try:
        client.images.get(tag)
        if not build:
            return
    except docker.errors.ImageNotFound:
        pass
    print(f"building {tag} with scripts/docker-env.sh ...", flush=True)
    started = time.monotonic()
    proc = sh("bash", str(ROOT / "scripts" / "docker-env.sh"), "build", tag)
    if proc.returncode != 0:
        sys.exit(f"build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    print(f"built in {time.monotonic() - started:.0f} s (with the layer cache as it was)")


def small_repository(root: Path, commits: int = 30) -> Path:
    repo = root / "repo"
    repo.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "Bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, env=env, check=True)
    for i in range(commits):
        (repo / f"f{i}.txt").write_text(f"{i}\n")
        subprocess.run(["git", "add", "."], cwd=repo, env=env, check=True)
        message = f"feat: change {i} (FEAT-{100 + i % 8}) recWorkItem00010{1 + i % 8}"
        subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo, env=env, check=True)
    subprocess.run(["git", "checkout", "-q", "-b", "feature/FEAT-107-bench"], cwd=repo, env=env, check=True)
    (repo / "bench.txt").write_text("bench\n")
    subprocess.run(["git", "add", "."], cwd=repo, env=env, check=True)
    subprocess.run(["git", "commit", "-q", "-m", "docs: FEAT-107 bench"], cwd=repo, env=env, check=True)
    for dirpath, _dirs, files in os.walk(repo):
        os.chown(dirpath, 1000, 1000)
        for name in files:
            os.lchown(os.path.join(dirpath, name), 1000, 1000)
    head = subprocess.run(
        ["git", "-c", "safe.directory=*", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    return repo, head


def one_run(client, tag: str, repo: Path, head: str) -> tuple[float, float, float]:
    env = {
        "CI": "true",
        "BITBUCKET_CLONE_DIR": CLONE_DIR,
        "BITBUCKET_BRANCH": "feature/FEAT-107-bench",
        "BITBUCKET_COMMIT": head,
        "BITBUCKET_BUILD_NUMBER": "1",
        "BITBUCKET_WORKSPACE": "acme",
        "BITBUCKET_REPO_SLUG": "product",
        "DRY_RUN": "true",
        "KEY_PATTERN": r"FEAT-\d+",
        "KEY_FIELD": "Key",
    }
    t0 = time.monotonic()
    container = client.containers.create(
        tag,
        environment=env,
        volumes={str(repo): {"bind": CLONE_DIR, "mode": "rw"}},
        working_dir=CLONE_DIR,
        network_mode="host",
    )
    try:
        stream = container.attach(stdout=True, stderr=True, stream=True, logs=True)
        t1 = time.monotonic()
        container.start()
        first = None
        for _chunk in stream:
            first = time.monotonic()
            break
        status = container.wait(timeout=300)
        t_end = time.monotonic()
        if status["StatusCode"] != 0:
            raise SystemExit(container.logs().decode(errors="replace"))
    finally:
        container.remove(force=True)
    if first is None:
        first = t_end
    return first - t0, first - t1, t_end - t0


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):6.2f} s  ({min(values):.2f}-{max(values):.2f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", default=os.environ.get("PIPE_TEST_IMAGE") or "airtable-coda-sync:dev")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--build", action="store_true", help="rebuild the image first")
    args = parser.parse_args()

    try:
        import docker

        client = docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no engine to measure
        print(f"image benchmark skipped: no Docker engine answers ({exc}); run `source scripts/docker-env.sh` first")
        return 0

    ensure_image(client, args.image, args.build)
    image = client.images.get(args.image)
    size = image.attrs["Size"]
    layers = image.history()
    # the first layer rows belong to the base image: find where our Dockerfile's final stage starts
    ours = 0
    for layer in layers:  # newest first
        ours += layer.get("Size", 0)
        if "ENV PYTHONDONTWRITEBYTECODE" in (layer.get("CreatedBy") or ""):
            break
    print(f"== image {args.image}")
    print(f"image size        {size / 1e6:8.1f} MB")
    print(f"base image        {(size - ours) / 1e6:8.1f} MB")
    print(f"our layers        {ours / 1e6:8.1f} MB")

    out = client.containers.run(args.image, entrypoint=["python3", "-c", SIZES], remove=True, network_mode="host")
    rows = sorted(json.loads(out), key=lambda r: -r[2])
    print("\n== installed size per Python distribution (inside the image)")
    for name, version, total in rows:
        print(f"{name:28} {version:14} {total / 1e6:7.2f} MB")
    print(f"{'total':43} {sum(r[2] for r in rows) / 1e6:7.2f} MB")

    tmp = Path(tempfile.mkdtemp(prefix="acs-bench-"))
    try:
        repo, head = small_repository(tmp)
        one_run(client, args.image, repo, head)  # warm the page cache; not counted
        runs = [one_run(client, args.image, repo, head) for _ in range(args.runs)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n== cold start, median (min-max) of {args.runs} fresh containers, 31-commit repository, dry run")
    print(f"create+start -> first log line  {summary([r[0] for r in runs])}")
    print(f"start -> first log line         {summary([r[1] for r in runs])}")
    print(f"full dry run (create -> exit)   {summary([r[2] for r in runs])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
