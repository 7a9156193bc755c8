"""Read git history fast: one `git log` call for commits, one `git for-each-ref` for tags.

GitPython gives us the repository handle and runs git for us. Walking `repo.iter_commits()` builds
one Python object per commit and reads each lazily, which is ten times slower on large histories
(measured: 1.2-1.6 s vs 0.17 s on 9,600 commits), so commits are parsed from a single formatted
`git log` stream instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import git

from pipe.model import Commit, Tag

# Field and record separators that cannot occur in the fields we ask for, except the message;
# the message is the last field and a record ends at \x1e, which git messages do not contain in practice.
_FS = "\x1f"
_RS = "\x1e"
_LOG_FORMAT = f"%H{_FS}%P{_FS}%an{_FS}%ae{_FS}%ct{_FS}%B{_RS}"
# for-each-ref takes %xx hex escapes, not %x1f.
_REF_FORMAT = "%(refname:strip=2)%1f%(objectname)%1f%(*objectname)%1f%(creatordate:unix)%1e"


class GitError(Exception):
    """A git problem the user can act on (no repository, unknown revision...)."""


@dataclass
class GitRepo:
    """A git working copy. All reads go through `run()` so tests and callers share one code path."""

    repo: git.Repo

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> GitRepo:
        try:
            return cls(git.Repo(Path(path), search_parent_directories=True))
        except git.NoSuchPathError as exc:
            raise GitError(f"{path} does not exist") from exc
        except git.InvalidGitRepositoryError as exc:
            raise GitError(f"{path} is not inside a git repository") from exc

    @property
    def root(self) -> Path:
        return Path(self.repo.working_tree_dir or self.repo.git_dir)

    def run(self, *args: str) -> str:
        try:
            return self.repo.git.execute(["git", *args], strip_newline_in_stdout=False)
        except git.GitCommandError as exc:
            raise GitError(f"git {' '.join(args)} failed: {exc.stderr.strip()}") from exc

    def log(self, *revisions: str, first_parent: bool = False, max_count: int | None = None) -> list[Commit]:
        """Commits reachable from the given revisions (git rev-list syntax), newest first."""
        args = ["log", f"--format={_LOG_FORMAT}", "--no-color", "--encoding=UTF-8"]
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

    def fetch(self, *args: str) -> None:
        """`git fetch <args>`; callers bound what they fetch (depth, refspecs) and ask for tags explicitly."""
        tag_args = () if "--tags" in args else ("--no-tags",)
        self.run("fetch", "--quiet", *tag_args, *args)

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self.run("merge-base", a, b).strip() or None
        except GitError:
            return None

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


def parse_log(output: str) -> list[Commit]:
    commits = []
    for record in output.split(_RS):
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
