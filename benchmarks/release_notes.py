"""Benchmark: release notes of a 10,000-commit / 1,000-tag repository, ours vs git-cliff.

    .venv/bin/python benchmarks/release_notes.py [--runs 7] [--cliff-runs 3] [--rebuild]

1. Builds (once, cached in .bench/release-notes-repo) a repository with `git fast-import` through
   `testkit/gitrepos.py`: 100 rounds of 90 mainline commits, a 9-commit feature branch and a Bitbucket
   merge commit (`Merged in feature/... (pull request #N)`); a realistic mix of Conventional
   Commits (scopes, bodies, footers, breaking changes, squash suffixes, record IDs) and plain
   messages; git reverts of commits in the same release (they cancel) and of older releases; a
   release tag every 9 mainline commits (1,000 tags, written by one `git update-ref --stdin`).
2. Installs git-cliff (pinned in benchmarks/requirements.txt) into .bench/venv.
3. Times, as subprocesses including interpreter start-up, the median of several runs of
   `python -m pipe.release --all|--latest` and `git-cliff --offline --no-exec [--latest]`, and prints
   a table of seconds and ratios. Without git-cliff our figures are still printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from testkit.gitrepos import GitRepoBuilder, bitbucket_merge_message  # noqa: E402

BENCH = ROOT / ".bench"
REPO = BENCH / "release-notes-repo"
VENV = BENCH / "venv"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
GENERATOR_VERSION = "3"  # bump to rebuild cached repositories after changing the generator
ROUNDS = 100
MAIN_FIRST, MAIN_SECOND, FEATURE = 40, 50, 9  # commits per round: 90 mainline + 9 branch + 1 merge
TAG_EVERY = 9

SCOPES = ["api", "ui", "auth", "db", "cli", "sync", "docs", "build", None, None]
WORDS = ["parser", "cache", "token", "retry", "status", "field", "record", "table", "page", "link", "column"]
WORDS += ["filter", "export", "import"]
RECORD_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def record_id(n: int) -> str:
    body = "".join(RECORD_ALPHABET[(n * 7 + k * 13) % len(RECORD_ALPHABET)] for k in range(14))
    return "rec" + body


def message(n: int) -> str:
    """A deterministic, realistic commit message for global commit number n."""
    pick = (n * 2654435761) % 100
    scope = SCOPES[n % len(SCOPES)]
    head_scope = f"({scope})" if scope else ""
    what = f"{WORDS[n % len(WORDS)]} {WORDS[(n // 3) % len(WORDS)]} handling #{n}"
    body = ""
    if n % 4 == 0:
        body = f"\n\nThe {WORDS[n % len(WORDS)]} code path now checks its input first.\nSecond line of the body."
    footer = ""
    if n % 5 == 0:
        footer = f"\n\nCloses: {record_id(n)}"
    elif n % 7 == 0:
        footer = f"\n\nRefs #{n % 500}"
    if pick < 33:
        return f"feat{head_scope}: add {what}{body}{footer}"
    if pick < 56:
        return f"fix{head_scope}: correct {what}{body}{footer}"
    if pick < 60:
        return f"perf{head_scope}: speed up {what}{body}"
    if pick < 65:
        return f"docs: document {what}"
    if pick < 70:
        return f"refactor{head_scope}: simplify {what}{body}"
    if pick < 78:
        kind = ("chore", "ci", "test", "build", "style")[n % 5]
        return f"{kind}: update {what}"
    if pick < 80:
        gone = f"BREAKING CHANGE: the old {WORDS[n % len(WORDS)]} option is gone"
        return f"feat{head_scope}!: replace {what}\n\n{gone}{footer}"
    if pick < 84:
        return f"fix{head_scope}: {what} (pull request #{1000 + n})"
    if pick < 86:
        return f"Feat({scope or 'core'}): capitalised type for {what}"
    return ("Update README", "WIP", "Fix typo", f"Bump dependencies for {what}", "Merge fixes from review")[n % 5]


def revert_message(subject: str, sha: str) -> str:
    return f'Revert "{subject}"\n\nThis reverts commit {sha}.'


def second_batch_message(
    i: int, *, start: int, first: list[tuple[str, str]], previous_round: list[tuple[str, str]]
) -> str:
    """Message i of a round's second batch; `first` is the round's first batch (sha, message)."""
    if i in (1, 2):  # revert commits 38 and 39 of this round: same release, they cancel
        sha, text = first[36 + i]
        return revert_message(text.splitlines()[0], sha)
    if i == 20 and previous_round:  # revert a commit of an older release: stays
        sha, subject = previous_round[5]
        return revert_message(subject, sha)
    return message(start + i)


def tag_name(k: int) -> str:
    return f"v{k // 100}.{(k // 10) % 10}.{k % 10}"


def build_repository(path: Path) -> None:
    """The benchmark repository (about 15 s on 2 cores)."""
    if path.exists():
        subprocess.run(["rm", "-rf", str(path)], check=True)
    repo = GitRepoBuilder.init(path)
    counter = 0
    mainline: list[str] = []
    previous_round: list[tuple[str, str]] = []  # (sha, subject) of the last round's first batch
    for r in range(1, ROUNDS + 1):
        start = counter
        first_messages = [message(start + i) for i in range(1, MAIN_FIRST + 1)]
        first = repo.fast_import(MAIN_FIRST, lambda i, m=first_messages: m[i - 1])
        counter += MAIN_FIRST

        batch = partial(second_batch_message, start=counter, first=list(zip(first, first_messages, strict=True)))
        second = repo.fast_import(MAIN_SECOND, partial(batch, previous_round=previous_round))
        counter += MAIN_SECOND
        mainline += first + second
        previous_round = [(sha, m.splitlines()[0]) for sha, m in zip(first, first_messages, strict=True)]

        branch = f"feature/{record_id(r)}-round-{r}"
        repo.fast_import(FEATURE, lambda i, s=counter: message(s + i), branch=branch, start="main")
        counter += FEATURE
        repo.merge(branch, message=bitbucket_merge_message(branch, r, f"Round {r} feature"))
        counter += 1
    tags = "".join(
        f"create refs/tags/{tag_name(k)} {mainline[k * TAG_EVERY - 1]}\n"
        for k in range(1, len(mainline) // TAG_EVERY + 1)
    )
    repo.git("update-ref", "--stdin", input=tags)
    repo.git("gc", "--quiet")
    (path / ".git" / "bench-generator").write_text(GENERATOR_VERSION)


def ensure_repository(rebuild: bool) -> Path:
    marker = REPO / ".git" / "bench-generator"
    if rebuild or not marker.exists() or marker.read_text() != GENERATOR_VERSION:
        print(f"building {REPO} ...", flush=True)
        started = time.perf_counter()
        build_repository(REPO)
        print(f"  built in {time.perf_counter() - started:.1f} s", flush=True)
    return REPO


def ensure_git_cliff() -> Path | None:
    binary = VENV / "bin" / "git-cliff"
    if binary.exists():
        return binary
    print(f"installing {REQUIREMENTS.read_text().split()[-1]} into {VENV} ...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", "-r", str(REQUIREMENTS)],
            check=True,
        )
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"  could not install git-cliff: {exc}", flush=True)
        return None
    return binary if binary.exists() else None


def time_command(command: list[str], cwd: Path, runs: int) -> tuple[float, int]:
    """Median wall time of `runs` runs (after one warm-up) and the output size in lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    warm = subprocess.run(command, cwd=cwd, env=env, capture_output=True, check=False)
    if warm.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {warm.stderr.decode(errors='replace')[-2000:]}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times), warm.stdout.count(b"\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of our CLI per case (median)")
    parser.add_argument("--cliff-runs", type=int, default=3, help="timed runs of git-cliff per case (median)")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached repository")
    parser.add_argument("--no-cliff", action="store_true", help="skip git-cliff")
    args = parser.parse_args()

    repo = ensure_repository(args.rebuild)
    commits = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True, text=True)
    tags = subprocess.run(["git", "tag"], cwd=repo, capture_output=True, text=True).stdout.split()
    print(f"repository: {repo} ({commits.stdout.strip()} commits, {len(tags)} tags)")
    cliff = None if args.no_cliff else ensure_git_cliff()
    if cliff is None and not args.no_cliff:
        print("git-cliff is NOT available (installation failed): only our figures are shown")

    ours = [sys.executable, "-m", "pipe.release", "--repo", str(repo)]
    rows = []
    for label, flag in (("full history", "--all"), ("latest release", "--latest")):
        our_time, our_lines = time_command([*ours, flag], ROOT, args.runs)
        row = [label, our_time, our_lines, None, None]
        if cliff is not None:
            command = [str(cliff), "--offline", "--no-exec", *(["--latest"] if flag == "--latest" else [])]
            cliff_time, cliff_lines = time_command(command, repo, args.cliff_runs)
            row[3:] = [cliff_time, cliff_lines]
        rows.append(row)

    print()
    print(f"{'case':<16} {'ours (s)':>9} {'lines':>7} {'git-cliff (s)':>14} {'lines':>7} {'git-cliff / ours':>17}")
    for label, our_time, our_lines, cliff_time, cliff_lines in rows:
        if cliff_time is None:
            print(f"{label:<16} {our_time:>9.3f} {our_lines:>7} {'n/a':>14} {'':>7} {'n/a':>17}")
        else:
            ratio = cliff_time / our_time
            print(f"{label:<16} {our_time:>9.3f} {our_lines:>7} {cliff_time:>14.3f} {cliff_lines:>7} {ratio:>16.1f}x")
    print(f"\nmedian of {args.runs} runs (ours) / {args.cliff_runs} runs (git-cliff), after one warm-up each;")
    print("wall time of a subprocess, interpreter start-up included. Targets: full < 1 s, latest < 0.7 s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
