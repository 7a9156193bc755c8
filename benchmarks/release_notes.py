"""Benchmark: release notes of a 10,000-commit / 1,000-tag repository, ours vs git-cliff vs the git floor.

    .venv/bin/python benchmarks/release_notes.py [--runs 7] [--cliff-runs 3] [--rebuild] [--no-cliff]

1. Builds (once, cached in .bench/release-notes-repo) a repository with `git fast-import` through
   `testkit/release_history.py` (the tests build 4 rounds of it): 100 rounds of 90 mainline commits,
   a 9-commit feature branch and a Bitbucket merge commit (`Merged in feature/... (pull request #N)`);
   a realistic mix of Conventional Commits (scopes, bodies, footers, breaking changes, squash
   suffixes, record IDs) and plain messages; git reverts of commits in the same release (they
   cancel) and of older releases; a release tag every 9 mainline commits (1,000 tags, written by
   one `git update-ref --stdin`).
2. Installs git-cliff (pinned in benchmarks/requirements.txt) into .bench/venv; when that fails the
   git-cliff column is skipped and the reason printed.
3. Runs our CLI as the pipe's image runs Python: a virtual environment (.bench/pipe-venv) whose only
   addition is a `.pth` file naming this checkout (the image's layout; no dependencies, so a run that
   imported GitPython, Jinja2 or pydantic would fail), sources byte-compiled once, then
   PYTHONDONTWRITEBYTECODE=1. (The project's .venv adds an editable-install finder to every start-up.)
4. Times, as subprocesses including interpreter start-up, the median of several runs of
   `python -m pipe.release --all|--latest`, `git-cliff --offline --no-exec [--latest]` and the floor:
   `git log` with our format over the same commits (the whole history; the latest release's range).
   The three commands take turns (ours, git-cliff, floor, ours, ...): on a shared machine whose speed
   drifts, timing them one after the other gave ratios that moved by a fifth between two runs.
5. Prints the pipe's own start-up: `python -m pipe` with DRY_RUN=true in a one-commit repository, time to
   its first log line (the project's .venv, which has the pipe's dependencies).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.gitrepos import GitRepoBuilder  # noqa: E402
from testkit.release_history import GENERATOR_VERSION, build_repository  # noqa: E402

BENCH = ROOT / ".bench"
REPO = BENCH / "release-notes-repo"
SMALL_REPO = BENCH / "startup-repo"
VENV = BENCH / "venv"
PIPE_VENV = BENCH / "pipe-venv"
LOG_FORMAT = "--format=%H%x1f%P%x1f%an%x1f%ae%x1f%ct%x1f%B"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")


def ensure_repository(rebuild: bool) -> Path:
    marker = REPO / ".git" / "bench-generator"
    if rebuild or not marker.exists() or marker.read_text() != GENERATOR_VERSION:
        print(f"building {REPO} ...", flush=True)
        started = time.perf_counter()
        build_repository(REPO)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return REPO


def ensure_git_cliff() -> tuple[Path | None, str]:
    """(the git-cliff binary, "") or (None, why it is not available)."""
    binary = VENV / "bin" / "git-cliff"
    if binary.exists():
        return binary, ""
    print(f"installing {REQUIREMENTS.read_text().split()[-1]} into {VENV} ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        return None, f"pip could not install it ({exc})"
    return (binary, "") if binary.exists() else (None, "the package installed no git-cliff binary")


def ensure_pipe_venv() -> Path:
    """A virtual environment laid out like the image's: the checkout on sys.path through a .pth file."""
    python = PIPE_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(PIPE_VENV)], check=True)
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        Path(site, "airtable-coda-sync.pth").write_text(f"{ROOT}\n")
    # the image byte-compiles once at build time (its runs then set PYTHONDONTWRITEBYTECODE=1)
    subprocess.run([str(python), "-m", "compileall", "-q", str(ROOT / "pipe")], check=True)
    return python


def run_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def time_command(command: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    """Median wall time of `runs` runs (after one warm-up) and the output size in lines."""
    return time_side_by_side({"command": (command, cwd, runs)})["command"]


def time_side_by_side(commands: dict[str, tuple[list[str], Path, int]]) -> dict[str, tuple[float, int]]:
    """For each label, (median wall time, output lines) of its (command, cwd, runs), after one warm-up
    each. The runs are interleaved (ours, git-cliff, floor, ours, ...), so that a machine whose speed
    drifts during the benchmark (a shared VM) weighs on every command alike."""
    env = run_env()
    lines = {}
    for label, (command, cwd, _) in commands.items():
        warm = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
        if warm.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {warm.stderr.decode(errors='replace')[-2000:]}")
        lines[label] = warm.stdout.count(b"\n")
    times: dict[str, list[float]] = {label: [] for label in commands}
    for index in range(max(runs for _, _, runs in commands.values())):
        for label, (command, cwd, runs) in commands.items():
            if index < runs:
                started = time.perf_counter()
                subprocess.run(
                    command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
                )
                times[label].append(time.perf_counter() - started)
    return {label: (statistics.median(times[label]), lines[label]) for label in commands}


def previous_tag(repo: Path) -> str:
    """The latest release's previous tag, as our CLI finds it (for the floor of the latest release)."""
    out = subprocess.run(
        [sys.executable, "-m", "pipe.release", "--repo", str(repo), "--latest", "--context"],
        cwd=ROOT,
        env=run_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out)["release"]["previous_tag"]


def startup_to_first_log_line(runs: int) -> float:
    """Median seconds from starting `python -m pipe` (DRY_RUN=true, one-commit repository) to its first line."""
    if not (SMALL_REPO / ".git").exists():
        builder = GitRepoBuilder.init(SMALL_REPO)
        builder.commit("feat: first")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=SMALL_REPO, capture_output=True, text=True).stdout.strip()
    env = run_env() | {"DRY_RUN": "true", "BITBUCKET_BRANCH": "main", "BITBUCKET_COMMIT": head}
    env.pop("PYTHONDONTWRITEBYTECODE")  # the project's venv: let the warm-up write bytecode
    command = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pipe"]
    times = []
    for index in range(runs + 1):
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=SMALL_REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert proc.stdout is not None
        first = proc.stdout.readline()
        elapsed = time.perf_counter() - started
        proc.communicate()
        if not first:
            raise RuntimeError("python -m pipe printed nothing")
        if index:  # the first run is the warm-up
            times.append(elapsed)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs",
        type=int,
        default=7,
        help="timed runs per case of our CLI, the floor and git-cliff on the latest release (median)",
    )
    parser.add_argument(
        "--cliff-runs", type=int, default=3, help="timed runs of git-cliff on the full history (median)"
    )
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached repository")
    parser.add_argument("--no-cliff", action="store_true", help="skip git-cliff")
    args = parser.parse_args()

    repo = ensure_repository(args.rebuild)
    commits = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True)
    tags = subprocess.run(["git", "tag"], cwd=repo, capture_output=True, text=True).stdout.split()
    print(f"repository: {repo} ({commits.stdout.strip()} commits, {len(tags)} tags)")
    cliff, why = (None, "--no-cliff given") if args.no_cliff else ensure_git_cliff()
    if cliff is None:
        print(f"git-cliff column skipped: {why}")
    python = ensure_pipe_venv()

    ours = [str(python), "-m", "pipe.release", "--repo", str(repo)]
    floors = {"--all": ["HEAD"], "--latest": ["HEAD", f"^{previous_tag(repo)}"]}
    rows = []
    for label, flag in (("full history", "--all"), ("latest release", "--latest")):
        commands = {
            "ours": ([*ours, flag], ROOT, args.runs),
            "floor": (["git", "log", "-z", LOG_FORMAT, *floors[flag], "--"], repo, args.runs),
        }
        if cliff is not None:
            command = [str(cliff), "--offline", "--no-exec", *(["--latest"] if flag == "--latest" else [])]
            # git-cliff takes ~50 s for the full history: its runs there are few; the latest release is cheap
            commands["git-cliff"] = (command, repo, args.cliff_runs if flag == "--all" else args.runs)
        timed = time_side_by_side(commands)
        cliff_time = timed["git-cliff"][0] if "git-cliff" in timed else None
        rows.append((label, timed["ours"][0], timed["ours"][1], cliff_time, timed["floor"][0]))

    print()
    header = f"{'case':<16} {'ours (s)':>9} {'lines':>6} {'git-cliff (s)':>14} {'floor (s)':>10}"
    print(header + f" {'ours/git-cliff':>15} {'ours/floor':>11}")
    for label, our_time, our_lines, cliff_time, floor in rows:
        cliff_text = "n/a" if cliff_time is None else f"{cliff_time:.3f}"
        ratio = "n/a" if cliff_time is None else f"{our_time / cliff_time:.2f}x"
        print(
            f"{label:<16} {our_time:>9.3f} {our_lines:>6} {cliff_text:>14} {floor:>10.3f} {ratio:>15}"
            f" {our_time / floor:>10.2f}x"
        )
    print(
        f"\nmedian of {args.runs} runs (ours, floor, git-cliff on the latest release) / {args.cliff_runs} runs"
        " (git-cliff on the full history), after one warm-up each, the commands' runs interleaved;"
    )
    print("wall time of a subprocess, interpreter start-up included; floor: `git log` of the same commits.")
    bare, _ = time_command([str(python), "-c", "pass"], ROOT, args.runs)
    print(f"Python start-up alone (`python -c pass`, same environment): {bare:.3f} s")
    print(f"pipe start-up to its first log line (`python -m pipe`, DRY_RUN=true): {startup_to_first_log_line(5):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
