"""Read git history fast: one `git log` call for commits, one `git for-each-ref` for tags.

GitPython is the pipe's git layer: `GitRepo.open` finds the repository with it and every git call
of the pipe runs through `repo.git.execute`. Walking `repo.iter_commits()` builds one Python object
per commit and reads each lazily, which is ten times slower on large histories (measured: 1.2-1.6 s
vs 0.17 s on 9,600 commits), so commits are parsed from a single formatted `git log` stream instead.

The one place that avoids GitPython is `GitRepo.open_plain`, used by `python -m pipe.release`
(which every merge step's latest-release notes and the benchmark run): importing GitPython alone
takes 50-110 ms, longer than git-cliff takes for the whole latest release, while the CLI only needs
`git` run a handful of times. Such a repository runs git directly (`pipe.clients.process`), in the same
environment, and still opens a GitPython `Repo` if anything asks for `.repo`.

Every git call made through a `GitRepo` (ours and GitPython's own) runs with:
- `safe.directory=*` in command scope: in Pipelines the pipe container runs as root on a clone
  owned by another user, and git refuses such "dubious ownership" repositories unless
  `safe.directory` is set in protected (system, global or command) configuration;
- `GIT_TERMINAL_PROMPT=0`: a fetch that needs credentials fails instead of waiting for a password.
Output is decoded as UTF-8 with replacement characters, so messages in other encodings never crash.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence

from pipe.clients.process import Process
from pipe.commits import Commit, Tag
from pipe.errors import UserError

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at start-up (python -m pipe.release)

if TYPE_CHECKING:
    from pathlib import Path

    import git

# `git log -z` ends each commit with NUL, which git refuses in commit messages. Inside a record the
# fields are separated by \x1f; the message is the last field, so a \x1f inside it is harmless.
_FS = "\x1f"
_LOG_FORMAT = "%H%x1f%P%x1f%an%x1f%ae%x1f%ct%x1f%B"
# for-each-ref takes %xx hex escapes, not %x1f. `*` fields describe the object an annotated tag
# points at (one level: a tag of a tag needs `_peel`).
_RS = "\x1e"
_REF_FORMAT = (
    "%(refname:strip=2)%1f%(objecttype)%1f%(objectname)%1f%(*objecttype)%1f%(*objectname)%1f%(creatordate:unix)%1e"
)

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


def pathspecs(include: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[str]:
    """git pathspecs for glob patterns relative to the repository root (`packages/app/**`); with
    only `exclude`, everything else (git reads exclusions alone as "all but these")."""
    return [f":(top,glob){pattern}" for pattern in include] + [f":(top,glob,exclude){p}" for p in exclude]


class GitRepo:
    """A git working copy. All reads go through `run()` so tests and callers share one code path.

    `GitRepo(repo)` wraps a GitPython `Repo`; `GitRepo(root=path)` (what `open_plain` makes) runs
    git without GitPython until `.repo` is asked for.
    """

    def __init__(self, repo: git.Repo | None = None, *, root: str | os.PathLike[str] | None = None) -> None:
        if repo is None and root is None:
            raise ValueError("GitRepo needs a GitPython Repo or a root folder")
        self._repo = repo
        # a str, so that a plain repository runs git without importing pathlib (~4 ms of the CLI's start-up)
        self._root = os.fspath(root) if root is not None else None
        self._environment: dict[str, str] | None = None
        # HEAD's commit as `open_plain` found it: the release CLI, the one user of plain repositories,
        # never moves HEAD (fetching tags and deepening do not), so `rev_parse("HEAD")` need not ask again
        self._opened_head: str | None = None
        self._started: dict[tuple[str, ...], Process] = {}  # see `_start`

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> GitRepo:
        """The repository at or above `path`, through GitPython."""
        from pathlib import Path

        import git

        try:
            repo = git.Repo(Path(path), search_parent_directories=True)
        except git.NoSuchPathError as exc:
            raise GitError(f"{path} does not exist") from exc
        except git.InvalidGitRepositoryError as exc:
            raise GitError(f"{path} is not inside a git repository") from exc
        repo.git.update_environment(**command_environment(os.environ))
        return cls(repo)

    @classmethod
    def open_plain(
        cls,
        path: str | os.PathLike[str],
        *,
        expect_tags: bool = False,
        expect_tag_targets: bool = False,
        expect_remote_url: str | None = None,
    ) -> GitRepo:
        """The repository at or above `path`, found by `git rev-parse`, without importing GitPython
        (see the module docstring: the release CLI's start-up). With the `expect_` flags, `tags()`,
        `tag_targets()` and `remote_url(remote)` are asked for at once too, beside the rest."""
        folder = os.path.abspath(path)
        if not os.path.exists(folder):
            raise GitError(f"{path} does not exist")
        probe = cls(root=folder if os.path.isdir(folder) else os.path.dirname(folder))
        # (git finds the repository from any folder inside it)
        if expect_tags:
            probe._start(_tags_args(None))
        if expect_tag_targets:
            probe._start(_TAG_TARGETS)
        if expect_remote_url:
            probe._start(_remote_url_args(expect_remote_url))
        try:
            top, head = probe._top_and_head(path)
        except GitError:
            probe._forget_started()
            raise
        repo = cls(root=top)
        repo._opened_head, repo._started = head, probe._started
        return repo

    def _top_and_head(self, path: str | os.PathLike[str]) -> tuple[str, str | None]:
        """(the repository's top folder, HEAD's commit or None when unknown) from one git call, or,
        for a bare or empty repository, a few."""
        status, out, _ = self._run_plain(["rev-parse", "--show-toplevel", "--verify", "--quiet", "HEAD^{commit}"])
        lines = out.decode("utf-8", errors="replace").splitlines()
        if status == 0 and len(lines) == 2:
            return lines[0], lines[1]
        try:
            top = self.run("rev-parse", "--show-toplevel").strip()
        except GitError:
            top = ""
        if not top:
            try:
                bare, git_dir = self.run("rev-parse", "--is-bare-repository", "--absolute-git-dir").split()
            except (GitError, ValueError):
                raise GitError(f"{path} is not inside a git repository") from None
            top = git_dir if bare == "true" else ""
        if not top:
            raise GitError(f"{path} is not inside a git repository")
        return top, None

    @property
    def repo(self) -> git.Repo:
        """The GitPython repository (opened on first use for a plain repository)."""
        if self._repo is None:
            self._repo = GitRepo.open(self.root)._repo
        assert self._repo is not None
        return self._repo

    @property
    def root(self) -> Path:
        from pathlib import Path

        if self._repo is not None:
            return Path(self._repo.working_tree_dir or self._repo.git_dir)
        assert self._root is not None
        return Path(self._root)

    def run(self, *args: str, timeout: float | None = None, input: str | None = None) -> str:
        """`git <args>` (with `input` on stdin); stdout decoded as UTF-8 (invalid bytes replaced).
        Raises GitError on failure."""
        if self._repo is None:
            status, out, err = self._run_plain(args, timeout, input)
        else:
            status, out, err = self._run_gitpython(args, timeout, input)
        if status != 0:
            raise _failed(args, status, err)
        return out.decode("utf-8", errors="replace")

    def _run_gitpython(self, args: Sequence[str], timeout: float | None, input: str | None) -> tuple[int, bytes, bytes]:
        import tempfile

        import git

        assert self._repo is not None
        stdin = None
        try:
            if input is not None:
                stdin = tempfile.TemporaryFile()  # noqa: SIM115 (closed below, after git has read it)
                stdin.write(input.encode())
                stdin.seek(0)
            status, out, err = self._repo.git.execute(
                ["git", *args],
                istream=stdin,
                with_extended_output=True,
                with_exceptions=False,
                stdout_as_string=False,
                strip_newline_in_stdout=False,
                kill_after_timeout=timeout,
            )
        except git.CommandError as exc:  # git itself could not be started
            raise GitError(f"git {' '.join(args)} could not run: {exc}") from exc
        finally:
            if stdin is not None:
                stdin.close()
        return status, out, err if isinstance(err, bytes) else str(err).encode()

    def _env(self) -> dict[str, str]:
        if self._environment is None:
            self._environment = {**os.environ, **command_environment(os.environ)}
        return self._environment

    def _run_plain(
        self, args: Sequence[str], timeout: float | None = None, input: str | None = None
    ) -> tuple[int, bytes, bytes]:
        proc = self._started.pop(tuple(args), None) if input is None else None
        proc = proc or self._spawn(args, input)
        try:
            status, out = proc.output(timeout)
        except TimeoutError as exc:
            raise GitError(f"git {' '.join(args)} could not run: {exc}") from exc
        return status, out, bytes(proc.stderr)

    def _spawn(self, args: Sequence[str], input: str | None = None) -> Process:
        """`git <args>` started in the repository (`-C`: posix_spawn has no working directory)."""
        assert self._root is not None
        try:
            return Process(
                ["git", "-C", self._root, *args],
                env=self._env(),
                input=input.encode("utf-8") if input is not None else None,
            )
        except OSError as exc:
            raise GitError(f"git {' '.join(args)} could not run: {exc}") from exc

    def _start(self, args: Sequence[str]) -> None:
        """Start `git <args>` now, beside what comes next; the next `run` of the same arguments takes
        its answer instead of running git again."""
        if tuple(args) not in self._started:
            self._started[tuple(args)] = self._spawn(args)

    def _forget_started(self) -> None:
        """Drop answers started before the repository changed (a fetch), reaping their processes."""
        for proc in self._started.values():
            proc.output()
        self._started.clear()

    def log(
        self,
        *revisions: str,
        first_parent: bool = False,
        max_count: int | None = None,
        since: int | None = None,
    ) -> list[Commit]:
        """Commits reachable from the given revisions (git rev-list syntax), newest first; with `since` (seconds
        since the epoch) only those committed then or later."""
        args = ["log", "-z", f"--format={_LOG_FORMAT}", "--no-color", "--encoding=UTF-8"]
        if first_parent:
            args.append("--first-parent")
        if max_count is not None:
            args.append(f"--max-count={max_count}")
        if since is not None:
            args.append(f"--since=@{since}")
        args.extend(revisions or ("HEAD",))
        args.append("--")
        if self._repo is not None:
            return parse_log(self.run(*args))
        proc = self._spawn(args)  # a plain repository parses the commits while git lists them
        commits = parse_records(proc.records("\0"))
        if proc.status != 0:
            raise _failed(args, proc.status or 0, bytes(proc.stderr))
        return commits

    def touching(self, revisions: Sequence[str], paths: Sequence[str]) -> set[str]:
        """Shas of the commits of `revisions` that change something in `paths` (git pathspecs, see
        `pathspecs`), merges included when they differ from a parent there (`--full-history`)."""
        out = self.run("log", "--format=%H", "--full-history", *(revisions or ("HEAD",)), "--", *paths)
        return set(out.split())

    def tags(self, merged: str | None = None) -> list[Tag]:
        """Tags with the commit each points at: annotated tags peeled, tags of tags too. Tags that
        point at a tree or a blob are left out (`object_type` says what they are). With `merged`,
        only the tags whose commit is `merged` or one of its ancestors."""
        out = self.run(*_tags_args(merged))
        tags: list[Tag] = []
        nested: list[tuple[str, int]] = []
        for record in out.split(_RS):
            record = record.strip("\n")
            if not record:
                continue
            name, kind, obj, peeled_kind, peeled, stamp = record.split(_FS)
            target_kind, target = (peeled_kind, peeled) if kind == "tag" else (kind, obj)
            if target_kind == "commit":
                tags.append(Tag(name=name, sha=target, timestamp=int(stamp or 0)))
            elif target_kind == "tag":
                nested.append((name, int(stamp or 0)))
        if nested:
            tags.extend(self._peel(nested))
        return tags

    def merged_tag_names(self, head: str, names: Sequence[str] | None = None) -> dict[str, int]:
        """Tags (of `names`, default all) whose commit is `head` or an ancestor of it, with their
        dates (tagger date, else commit date)."""
        patterns = [f"refs/tags/{name}" for name in names] if names is not None else ["refs/tags"]
        fields = "--format=%(refname:strip=2)%1f%(creatordate:unix)"
        out = self.run("for-each-ref", f"--merged={head}", fields, *patterns)
        found = {}
        for line in out.splitlines():
            name, _, stamp = line.partition(_FS)
            found[name] = int(stamp or 0)
        return found

    def tag_targets(self) -> list[Tag]:
        """Every tag with the object it finally points at (tags of tags peeled), timestamps 0, from
        the ref store alone (`git show-ref -d`, three times faster than `tags()` on 1,000 tags, which
        reads every tag object). A target may be a tree or a blob: callers keep only the tags
        `merged_tag_names` confirms, which are commits."""
        try:
            out = self.run(*_TAG_TARGETS)
        except GitError:  # no tags at all: show-ref exits 1
            return []
        targets: dict[str, str] = {}
        for line in out.splitlines():
            sha, _, ref = line.partition(" ")
            name = ref.removeprefix("refs/tags/").removesuffix("^{}")
            targets[name] = sha  # a `^{}` line (the peeled object) follows its tag's own line
        return [Tag(name=name, sha=sha, timestamp=0) for name, sha in targets.items()]

    def _peel(self, nested: Sequence[tuple[str, int]]) -> list[Tag]:
        """The commit tags of tags point at, in one `git cat-file --batch-check` call."""
        lines = "".join(f"refs/tags/{name}^{{}}\n" for name, _ in nested)
        out = self.run("cat-file", "--batch-check=%(objectname) %(objecttype)", input=lines)
        tags = []
        for (name, stamp), line in zip(nested, out.splitlines(), strict=False):
            sha, _, kind = line.partition(" ")
            if kind == "commit":
                tags.append(Tag(name=name, sha=sha, timestamp=stamp))
        return tags

    def object_type(self, revision: str) -> str | None:
        """What `revision` finally names (`commit`, `tree`, `blob`), tags peeled; None when unknown."""
        try:
            return self.run("cat-file", "-t", f"{revision}^{{}}").strip() or None
        except GitError:
            return None

    def is_shallow(self) -> bool:
        return self.run("rev-parse", "--is-shallow-repository").strip() == "true"

    def fetch(self, *args: str, timeout: float | None = FETCH_TIMEOUT_SECONDS) -> None:
        """`git fetch <args>`; callers bound what they fetch (depth, refspecs) and ask for tags explicitly."""
        tag_args = () if "--tags" in args else ("--no-tags",)
        self._forget_started()
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
        if revision == "HEAD" and self._opened_head is not None:
            return self._opened_head
        try:
            return self.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}").strip() or None
        except GitError:
            return None

    def remote_url(self, remote: str) -> str | None:
        """The fetch URL of a configured remote, or None when there is no such remote."""
        try:
            return self.run(*_remote_url_args(remote)).strip() or None
        except GitError:
            return None


_TAG_TARGETS = ("show-ref", "--tags", "--dereference")


def _tags_args(merged: str | None) -> tuple[str, ...]:
    return ("for-each-ref", f"--format={_REF_FORMAT}", *((f"--merged={merged}",) if merged else ()), "refs/tags")


def _remote_url_args(remote: str) -> tuple[str, ...]:
    return ("config", "--get", f"remote.{remote}.url")


def _failed(args: Sequence[str], status: int, err: bytes) -> GitError:
    reason = err.decode("utf-8", errors="replace").strip() or f"exit status {status}"
    return GitError(f"git {' '.join(args)} failed: {reason}")


def parse_log(output: str) -> list[Commit]:
    """Parse the output of `GitRepo.log`'s `git log -z --format=...` call."""
    return parse_records(output.split("\0"))


def parse_records(records: Iterable[str]) -> list[Commit]:
    """Parse the NUL-separated records of that output."""
    commits = []
    for record in records:
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
