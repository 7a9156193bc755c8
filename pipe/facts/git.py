"""Read git history fast: one `git log` call for commits, one `git for-each-ref` for tags.

GitPython gives us the repository handle and runs git for us. Walking `repo.iter_commits()` builds
one Python object per commit and reads each lazily, which is ten times slower on large histories
(measured: 1.2-1.6 s vs 0.17 s on 9,600 commits), so commits are parsed from a single formatted
`git log` stream instead.

Every git call made through a `GitRepo` (ours and GitPython's own) runs with:
- `safe.directory=*` in command scope: in Pipelines the pipe container runs as root on a clone
  owned by another user, and git refuses such "dubious ownership" repositories unless
  `safe.directory` is set in protected (system, global or command) configuration;
- `GIT_TERMINAL_PROMPT=0`: a fetch that needs credentials fails instead of waiting for a password.
Output is decoded as UTF-8 with replacement characters, so messages in other encodings never crash.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from pipe.errors import UserError
from pipe.model import Commit, Tag

# `git log -z` ends each commit with NUL, which git refuses in commit messages. Inside a record the
# fields are separated by \x1f; the message is the last field, so a \x1f inside it is harmless.
_FS = "\x1f"
_LOG_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%ct%x1f%B"
# for-each-ref takes %xx hex escapes, not %x1f.
_RS = "\x1e"
_REF_FORMAT = "%(refname:strip=2)%1f%(objectname)%1f%(*objectname)%1f%(creatordate:unix)%1e"

FETCH_TIMEOUT_SECONDS = 120.0


class GitError(UserError):
    """A git problem the user can act on (no repository, unknown revision, unreachable remote...)."""


def command_environment(base: Mapping[str, str]) -> dict[str, str]:
    """Variables that make every git call safe on a clone owned by someone else and never prompt.

    `safe.directory=*` is added as command-scope configuration (`GIT_CONFIG_COUNT`/`_KEY_n`/
    `_VALUE_n`, git >= 2.31) after any entries already present in `base` (the process environment).
    """
    try:
        count = int(base.get("GIT_CONFIG_COUNT", "0") or 0)
    except ValueError:
        count = 0
    return {
        "GIT_CONFIG_COUNT": str(count + 1),
        f"GIT_CONFIG_KEY_{count}": "safe.directory",
        f"GIT_CONFIG_VALUE_{count}": "*",
        "GIT_TERMINAL_PROMPT": "0",
    }


@dataclass
class GitRepo:
    """A git working copy. All reads go through `run()` so tests and callers share one code path."""

    repo: git.Repo

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> GitRepo:
        try:
            repo = git.Repo(Path(path), search_parent_directories=True)
        except git.NoSuchPathError as exc:
            raise GitError(f"{path} does not exist") from exc
        except git.InvalidGitRepositoryError as exc:
            raise GitError(f"{path} is not inside a git repository") from exc
        repo.git.update_environment(**command_environment(os.environ))
        return cls(repo)

    @property
    def root(self) -> Path:
        return Path(self.repo.working_tree_dir or self.repo.git_dir)

    def run(self, *args: str, timeout: float | None = None) -> str:
        """`git <args>`; stdout decoded as UTF-8 (invalid bytes replaced). Raises GitError on failure."""
        try:
            status, out, err = self.repo.git.execute(
                ["git", *args],
                with_extended_output=True,
                with_exceptions=False,
                stdout_as_string=False,
                strip_newline_in_stdout=False,
                kill_after_timeout=timeout,
            )
        except git.CommandError as exc:  # git itself could not be started
            raise GitError(f"git {' '.join(args)} could not run: {exc}") from exc
        if status != 0:
            reason = err.strip() or f"exit status {status}"
            raise GitError(f"git {' '.join(args)} failed: {reason}")
        return out.decode("utf-8", errors="replace")

    def log(self, *revisions: str, first_parent: bool = False, max_count: int | None = None) -> list[Commit]:
        """Commits reachable from the given revisions (git rev-list syntax), newest first."""
        args = ["log", "-z", f"--format={_LOG_FORMAT}", "--no-color", "--encoding=UTF-8"]
        if first_parent:
            args.append("--first-parent")
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        args.extend(revisions or ("HEAD",))
        args.append("--")
        return parse_log(self.run(*args))

    def tags(self) -> list[Tag]:
        """All tags with the commit each points at (annotated tags peeled)."""
        out = self.run("for-each-ref", f"--format={_REF_FORMAT}", "refs/tags")
        tags = []
        for record in out.split(_RS):
            record = record.strip("\n")
            if not record:
                continue
            name, obj, peeled, stamp = record.split(_FS)
            tags.append(Tag(name=name, sha=peeled or obj, timestamp=int(stamp or 0)))
        return tags

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").strip() == "true"

    def fetch(self, *args: str, timeout: float | None = FETCH_TIMEOUT_SECONDS) -> None:
        """`git fetch <args>`; callers bound what they fetch (depth, refspecs) and ask for tags explicitly."""
        tag_args = () if "--tags" in args else ("--no-tags",)
        self.run("fetch", "--quiet", *tag_args, *args, timeout=timeout)

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self.run("merge-base", a, b).strip() or None
        except GitError:
            return None

    def first_commit(self, candidates: Sequence[tuple[str | None, str]], warn: Callable[[str], None]) -> str:
        """The sha of the first of `candidates` (revision, what to say when the clone lacks it) that is in the
        clone, else HEAD's. Raises GitError when HEAD names no commit either (an empty repository)."""
        for revision, missing in candidates:
            if revision:
                sha = self.rev_parse(revision)
                if sha:
                    return sha
                warn(missing)
        sha = self.rev_parse("HEAD")
        if sha is None:
            raise GitError(
                f"HEAD of the repository at {self.root} does not point at a commit (the repository has no commits "
                "yet?). Run the pipe in a step that clones a repository with at least one commit."
            )
        return sha

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """True when `ancestor` is reachable from `descendant`; False too when it is not in the clone."""
        try:
            self.run("merge-base", "--is-ancestor", ancestor, descendant)
        except GitError:
            return False
        return True

    def current_branch(self) -> str | None:
        """The checked-out branch, or None on a detached HEAD (tag builds, PR merge checkouts)."""
        try:
            return self.run("symbolic-ref", "--quiet", "--short", "HEAD").strip() or None
        except GitError:
            return None

    def rev_parse(self, revision: str) -> str | None:
        """The full sha of a revision, or None when it does not exist here."""
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip() or None
        except GitError:
            return None

    def remote_url(self, remote: str) -> str | None:
        """The fetch URL of a configured remote, or None when there is no such remote."""
        try:
            return self.run("config", "--get", f"remote.{remote}.url").strip() or None
        except GitError:
            return None


def parse_log(output: str) -> list[Commit]:
    """Parse the output of `GitRepo.log`'s `git log -z --format=...` call."""
    commits = []
    for record in output.split("\0"):
        record = record.lstrip("\n")
        if not record:
            continue
        sha, parents, name, email, stamp, message = record.split(_FS, 5)
        commits.append(
            Commit(
                sha=sha,
                parents=tuple(parents.split()),
                author_name=name,
                author_email=email,
                timestamp=int(stamp),
                message=message.rstrip("\n"),
            )
        )
    return commits
