"""Build real git repositories in temporary folders for tests.

A `GitRepoBuilder` drives the `git` command line in one folder. Everything it makes is
deterministic: fixed author and committer identities, and commit dates that increase by one
minute per commit from a fixed instant, so the same calls always give the same shas. The user's
own git configuration (global and system) and any `GIT_*` variables of the calling process are
ignored.

    def test_something(git_repo_builder):
        origin = git_repo_builder("origin")                  # tmp_path/origin, branch main
        base = origin.commit("chore: start")                 # -> sha; touches a file of its own
        origin.branch("feature/recAbCdEfGhIjKlMn-login")     # create and check out
        origin.commit("feat: login", files={"login.py": "print('hi')\\n"})
        origin.checkout("main")
        merge = origin.merge("feature/recAbCdEfGhIjKlMn-login",
                             message=bitbucket_merge_message("feature/recAbCdEfGhIjKlMn-login", 5))
        origin.tag("v1.0.0", annotated=True)
        clone = origin.pipelines_branch_checkout(git_repo_builder.path("build"), "main")
        GitRepo.open(clone.path).log()

Large histories come from `fast_import` (10,000 commits and 1,000 tags take about a second):

        origin.fast_import(10_000, message=lambda i: f"feat: change {i}", tag_every=10)

Pipelines checkouts (see `../shared/reference/bitbucket-pipes.md` §4.3) are reproduced by
`pipelines_branch_checkout`, `pipelines_pr_checkout` (HEAD is a synthetic merge commit) and
`pipelines_tag_checkout` (detached HEAD); all clone through a `file://` URL so `--depth` applies.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

AUTHOR_NAME = "Ada Tester"
AUTHOR_EMAIL = "ada@example.com"
COMMITTER_NAME = "Build Bot"
COMMITTER_EMAIL = "bot@example.com"
EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z, the date of the first commit
TICK_SECONDS = 60

FileContent = str | bytes | None  # None deletes the file


def bitbucket_merge_message(branch: str, pr: int, title: str | None = None) -> str:
    """The message Bitbucket Cloud gives a merge commit when a pull request is merged."""
    message = f"Merged in {branch} (pull request #{pr})"
    return f"{message}\n\n{title}\n" if title else message


class GitCommandFailed(AssertionError):
    """A git command run by the builder failed; the message carries the command and its stderr."""


@dataclass
class Clock:
    """Hands out increasing timestamps and file numbers; shared by a repository and its clones
    (and by all repositories of one `git_repo_builder`), so their commits never collide."""

    now: int = EPOCH
    files: int = 0

    def tick(self) -> int:
        self.now += TICK_SECONDS
        return self.now

    def next_file(self) -> int:
        self.files += 1
        return self.files


def _clean_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME=AUTHOR_NAME,
        GIT_AUTHOR_EMAIL=AUTHOR_EMAIL,
        GIT_COMMITTER_NAME=COMMITTER_NAME,
        GIT_COMMITTER_EMAIL=COMMITTER_EMAIL,
        LC_ALL="C",
    )
    return env


@dataclass
class GitRepoBuilder:
    """One repository on disk, changed through the git CLI. Methods that make commits return shas."""

    path: Path
    clock: Clock = field(default_factory=Clock)

    # -- creating --------------------------------------------------------------------------

    @classmethod
    def init(
        cls, path: str | os.PathLike[str], default_branch: str = "main", *, clock: Clock | None = None
    ) -> GitRepoBuilder:
        """A new, empty repository at `path` (created if needed) whose first branch is `default_branch`."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        builder = cls(path=path, clock=clock or Clock())
        builder.git("init", "--quiet", f"--initial-branch={default_branch}")
        return builder

    @property
    def url(self) -> str:
        """A `file://` URL of this repository (clones through it honour `--depth`)."""
        return self.path.resolve().as_uri()

    # -- running git -----------------------------------------------------------------------

    def git(self, *args: str, input: str | bytes | None = None, tick: bool = False, check: bool = True) -> str:
        """Run `git <args>` here and return its stdout without the trailing newline.

        `tick=True` gives the command the next author/committer date (for commands making commits);
        `check=False` returns the output of a failing command instead of raising `GitCommandFailed`.
        """
        env = _clean_environment()
        if tick:
            stamp = f"@{self.clock.tick()} +0000"
            env.update(GIT_AUTHOR_DATE=stamp, GIT_COMMITTER_DATE=stamp)
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(["git", *args], cwd=self.path, env=env, input=data, capture_output=True, check=False)
        if check and proc.returncode != 0:
            output = (proc.stderr + proc.stdout).decode(errors="replace").strip()
            raise GitCommandFailed(f"git {' '.join(args)} (in {self.path}) failed with {proc.returncode}: {output}")
        return proc.stdout.decode(errors="replace").rstrip("\n")

    def rev_parse(self, revision: str = "HEAD") -> str:
        return self.git("rev-parse", "--verify", f"{revision}^{{commit}}")

    def head(self) -> str:
        """The sha HEAD points at."""
        return self.rev_parse("HEAD")

    def current_branch(self) -> str | None:
        """The checked-out branch, None on a detached HEAD."""
        return self.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False) or None

    def is_shallow(self) -> bool:
        return self.git("rev-parse", "--is-shallow-repository") == "true"

    def count(self, revision: str = "HEAD") -> int:
        """How many commits are reachable from `revision` here (stops at a shallow boundary)."""
        return int(self.git("rev-list", "--count", revision))

    # -- changing history ------------------------------------------------------------------

    def write(self, files: Mapping[str, FileContent]) -> None:
        """Write (or, for None, delete) files in the working tree and stage them."""
        for name, content in files.items():
            target = self.path / name
            if content is None:
                self.git("rm", "--quiet", "--cached", "--ignore-unmatch", "--", name)
                target.unlink(missing_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
        written = [name for name, content in files.items() if content is not None]
        if written:
            self.git("add", "--", *written)

    def commit(self, message: str | bytes, files: Mapping[str, FileContent] | None = None) -> str:
        """Commit `files` (default: a new file of its own, so squashes and reverts always have content).

        The message is stored verbatim (CRLF, trailing spaces, bytes in any encoding).
        """
        if files is None:
            number = self.clock.next_file()
            files = {f"changes/{number:05d}.txt": f"change {number}\n"}
        self.write(files)
        self._commit_staged(message, "--allow-empty")
        return self.head()

    def commit_raw(self, message: bytes) -> str:
        """A commit whose message is stored byte for byte, e.g. invalid UTF-8 (`git commit` would
        re-encode it as Latin-1). Same tree as HEAD; moves the current branch (or detached HEAD)."""
        stamp = self.clock.tick()
        header = (
            f"tree {self.git('rev-parse', 'HEAD^{tree}')}\nparent {self.head()}\n"
            f"author {AUTHOR_NAME} <{AUTHOR_EMAIL}> {stamp} +0000\n"
            f"committer {COMMITTER_NAME} <{COMMITTER_EMAIL}> {stamp} +0000\n\n"
        )
        sha = self.git("hash-object", "-t", "commit", "-w", "--stdin", input=header.encode() + message)
        self.git("update-ref", "HEAD", sha)
        return sha

    def commits(self, count: int, message: str | Callable[[int], str] = "chore: change {i}") -> list[str]:
        """`count` commits through `commit()`; `message` is a format string with `{i}` or a callable of i."""
        make = message if callable(message) else (lambda i: message.format(i=i))
        return [self.commit(make(i)) for i in range(1, count + 1)]

    def branch(self, name: str, start: str | None = None, *, checkout: bool = True) -> GitRepoBuilder:
        """Create branch `name` at `start` (default HEAD) and, unless `checkout=False`, switch to it."""
        if checkout:
            self.git("checkout", "--quiet", "-b", name, *([start] if start else []))
        else:
            self.git("branch", name, *([start] if start else []))
        return self

    def checkout(self, revision: str) -> GitRepoBuilder:
        """Switch to a branch (or detach at any other revision)."""
        self.git("checkout", "--quiet", revision)
        return self

    def detach(self, revision: str = "HEAD") -> GitRepoBuilder:
        """Detach HEAD at `revision`."""
        self.git("checkout", "--quiet", "--detach", revision)
        return self

    def merge(self, branch: str, message: str | None = None, *, no_ff: bool = True) -> str:
        """Merge `branch` into the current branch (a merge commit unless `no_ff=False`); returns HEAD."""
        args = ["merge", "--quiet", "--no-edit", "--no-ff" if no_ff else "--ff"]
        if message is not None:
            args += ["-m", message]
        self.git(*args, branch, tick=True)
        return self.head()

    def squash_merge(self, branch: str, message: str) -> str:
        """Squash `branch` into one new commit on the current branch; returns its sha."""
        self.git("merge", "--quiet", "--squash", branch)
        self._commit_staged(message)
        return self.head()

    def _commit_staged(self, message: str | bytes, *options: str) -> None:
        options = ("--quiet", "--no-verify", "--cleanup=verbatim", *options)
        self.git("commit", *options, "-F", "-", input=message, tick=True)

    def revert(self, sha: str) -> str:
        """`git revert` a commit (message `Revert "<subject>"` ... `This reverts commit <sha>.`)."""
        self.git("revert", "--no-edit", sha, tick=True)
        return self.head()

    def tag(self, name: str, revision: str = "HEAD", *, annotated: bool = False, message: str | None = None) -> str:
        """Tag `revision` (lightweight unless `annotated`); returns the sha of the tagged commit."""
        if annotated:
            self.git("tag", "--annotate", "--message", message or f"Release {name}", name, revision, tick=True)
        else:
            self.git("tag", name, revision)
        return self.rev_parse(revision)

    def fast_import(
        self,
        count: int,
        message: Callable[[int], str] = "chore: change {}".format,
        *,
        branch: str | None = None,
        start: str | None = None,
        tag_every: int | None = None,
        tag_name: Callable[[int], str] = "v0.{}.0".format,
        annotated: bool = False,
    ) -> list[str]:
        """Append `count` commits to `branch` (default: the current one) in one `git fast-import` run.

        Commit i (1-based) gets `message(i)` and rewrites `bulk/<branch>.txt`, so bulk histories of
        different branches merge without conflicts. With `tag_every=K` every Kth commit is tagged
        `tag_name(i)` (annotated when asked). The first commit's parent is `start` when given, else
        the branch's current tip (none for a new branch). Returns the new shas, oldest first. The
        working tree is refreshed when the current branch moved.
        """
        current = self.current_branch()
        branch = branch or current
        if branch is None:
            raise ValueError("fast_import needs a branch when HEAD is detached")
        parent = self.rev_parse(start) if start else self._tip(branch)
        marks = self.path / ".git" / "fast-import-marks"
        stream = b"".join(self._fast_import_records(count, message, branch, parent, tag_every, tag_name, annotated))
        self.git("fast-import", "--quiet", "--force", f"--export-marks={marks}", input=stream)
        by_mark = dict(line.split(" ", 1) for line in marks.read_text().splitlines())
        marks.unlink()
        if branch == current:
            self.git("reset", "--quiet", "--hard", "HEAD")
        return [by_mark[f":{i}"] for i in range(1, count + 1)]

    def _tip(self, branch: str) -> str | None:
        out = self.git("for-each-ref", "--format=%(objectname)", f"refs/heads/{branch}")
        return out or None

    def _fast_import_records(
        self,
        count: int,
        message: Callable[[int], str],
        branch: str,
        parent: str | None,
        tag_every: int | None,
        tag_name: Callable[[int], str],
        annotated: bool,
    ) -> Iterator[bytes]:
        def data(text: str) -> bytes:
            raw = text.encode()
            return b"data %d\n%s\n" % (len(raw), raw)

        bulk_file = f"bulk/{branch.replace('/', '--')}.txt"
        yield f"reset refs/heads/{branch}\n".encode()
        if parent:
            yield f"from {parent}\n\n".encode()
        for i in range(1, count + 1):
            stamp = self.clock.tick()
            yield (
                f"commit refs/heads/{branch}\nmark :{i}\n"
                f"author {AUTHOR_NAME} <{AUTHOR_EMAIL}> {stamp} +0000\n"
                f"committer {COMMITTER_NAME} <{COMMITTER_EMAIL}> {stamp} +0000\n"
            ).encode()
            yield data(message(i))
            yield f"M 100644 inline {bulk_file}\n".encode() + data(f"{i}\n")
            if tag_every and i % tag_every == 0:
                name = tag_name(i)
                if annotated:
                    yield f"tag {name}\nfrom :{i}\ntagger {COMMITTER_NAME} <{COMMITTER_EMAIL}> {stamp} +0000\n".encode()
                    yield data(f"Release {name}")
                else:
                    yield f"reset refs/tags/{name}\nfrom :{i}\n\n".encode()

    # -- clones and Pipelines checkouts -----------------------------------------------------

    def clone(
        self,
        dest: str | os.PathLike[str],
        *,
        depth: int | None = None,
        branch: str | None = None,
        single_branch: bool | None = None,
        tags: bool = True,
    ) -> GitRepoBuilder:
        """`git clone file://<this repo> dest` (remote `origin`); the clone shares this repository's clock."""
        args = ["clone", "--quiet"]
        if depth is not None:
            args.append(f"--depth={depth}")
        if branch is not None:
            args.append(f"--branch={branch}")
        if single_branch is not None:
            args.append("--single-branch" if single_branch else "--no-single-branch")
        if not tags:
            args.append("--no-tags")
        dest = Path(dest)
        self.git(*args, self.url, str(dest.resolve()))
        return GitRepoBuilder(path=dest, clock=self.clock)

    def pipelines_branch_checkout(
        self, dest: str | os.PathLike[str], branch: str, *, depth: int = 50
    ) -> GitRepoBuilder:
        """What Pipelines does for a branch build: a single-branch clone `depth` commits deep."""
        return self._pipelines_clone(dest, branch, depth)

    def pipelines_tag_checkout(self, dest: str | os.PathLike[str], tag: str, *, depth: int = 50) -> GitRepoBuilder:
        """What Pipelines does for a tag build: a shallow clone of the tag, HEAD detached on it."""
        return self._pipelines_clone(dest, tag, depth)

    def pipelines_pr_checkout(
        self,
        dest: str | os.PathLike[str],
        source: str,
        destination: str,
        *,
        depth: int | None = 50,
        destination_depth: int | None = None,
    ) -> GitRepoBuilder:
        """What Pipelines does for a pull request: clone `source`, fetch the `destination` commit and
        `git merge <sha> --no-edit`, leaving HEAD on a synthetic merge commit that exists nowhere else.

        The clone has no ref for the destination branch (only its commits, fetched by sha, without
        depth limit unless `destination_depth` is given). `BITBUCKET_COMMIT` is `self.rev_parse(source)`.
        """
        clone = self._pipelines_clone(dest, source, depth)
        destination_sha = self.rev_parse(destination)
        depth_args = [f"--depth={destination_depth}"] if destination_depth else []
        clone.git("fetch", "--quiet", "--no-tags", *depth_args, "origin", destination_sha)
        try:
            clone.git("merge", "--no-edit", destination_sha, tick=True)
        except GitCommandFailed as exc:
            raise GitCommandFailed(
                f"{exc}\n(a conflict fails the build in Pipelines too; for 'unrelated histories' the merge base of"
                f" {source} and {destination} must lie within the clone: Pipelines ignores the clone depth"
                " for pull requests, so pass depth=None)"
            ) from exc
        return clone

    def _pipelines_clone(self, dest: str | os.PathLike[str], branch_or_tag: str, depth: int | None) -> GitRepoBuilder:
        sha = self.rev_parse(branch_or_tag)
        clone = self.clone(dest, depth=depth, branch=branch_or_tag, single_branch=True)
        clone.git("reset", "--quiet", "--hard", sha)
        clone.git("config", "user.name", "bitbucket-pipelines")
        clone.git("config", "user.email", "commits-noreply@bitbucket.org")
        return clone


class GitRepoFactory:
    """The `git_repo_builder` fixture: makes repositories under one temporary folder."""

    def __init__(self, root: Path):
        self.root = root
        self.clock = Clock()

    def __call__(self, name: str = "origin", default_branch: str = "main") -> GitRepoBuilder:
        """A new repository at `<tmp>/<name>`; all repositories of one test share a clock."""
        return GitRepoBuilder.init(self.root / name, default_branch, clock=self.clock)

    def path(self, name: str) -> Path:
        """A not-yet-existing folder under the test's temporary folder (for clones)."""
        return self.root / name


@pytest.fixture
def git_repo_builder(tmp_path: Path) -> GitRepoFactory:
    """Factory of `GitRepoBuilder`s in the test's `tmp_path`: `git_repo_builder("origin")`."""
    return GitRepoFactory(tmp_path)
