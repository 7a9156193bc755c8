"""GitRepo against real repositories (pipe.clients.git), and the test repository builder itself."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from pipe.clients.git import GitError, GitRepo, command_environment
from pipe.errors import UserError
from testkit.gitrepos import (
    AUTHOR_EMAIL,
    AUTHOR_NAME,
    EPOCH,
    TICK_SECONDS,
    GitRepoBuilder,
    GitRepoFactory,
    bitbucket_merge_message,
)


def test_log_reads_every_field(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    first = origin.commit("feat: one\n\nBody line\n\nRefs: recAbCdEfGhIjKlMn")
    second = origin.commit("fix: two")
    commits = GitRepo.open(origin.path).log()
    assert [c.sha for c in commits] == [second, first]
    newest, oldest = commits
    assert oldest.parents == () and newest.parents == (first,)
    assert (newest.author_name, newest.author_email) == (AUTHOR_NAME, AUTHOR_EMAIL)
    assert (oldest.timestamp, newest.timestamp) == (EPOCH + TICK_SECONDS, EPOCH + 2 * TICK_SECONDS)
    assert oldest.message == "feat: one\n\nBody line\n\nRefs: recAbCdEfGhIjKlMn"
    assert oldest.subject == "feat: one"


def test_builder_is_deterministic(tmp_path: Path) -> None:
    shas = []
    for name in ("a", "b"):
        repo = GitRepoBuilder.init(tmp_path / name)  # a clock of its own
        repo.commit("one")
        repo.branch("x").commit("two", files={"x.txt": "x\n"})
        shas.append(repo.checkout("main").merge("x"))
    assert shas[0] == shas[1]


def test_clones_share_the_clock_so_their_commits_differ(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.commit("one")
    clone = origin.clone(git_repo_builder.path("clone"))
    assert clone.commit("same") != origin.commit("same")
    changed = [repo.git("show", "--name-only", "--format=", "HEAD") for repo in (origin, clone)]
    assert changed == ["changes/00003.txt", "changes/00002.txt"]  # never the same file


def test_log_options_and_ranges(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    base = origin.commit("chore: base")
    origin.branch("feature/x")
    inner = origin.commits(2, "feat: inner {i}")
    origin.checkout("main")
    main_only = origin.commit("chore: on main")
    merge = origin.merge("feature/x", message=bitbucket_merge_message("feature/x", 5, title="Feature X"))
    repo = GitRepo.open(origin.path)
    assert [c.sha for c in repo.log(first_parent=True)] == [merge, main_only, base]
    assert [c.sha for c in repo.log(max_count=2)] == [merge, main_only]  # newest first by date
    assert [c.sha for c in repo.log("feature/x", "^main~1")] == inner[::-1]
    top = repo.log(max_count=1)[0]
    assert top.is_merge and top.subject == "Merged in feature/x (pull request #5)" and top.body == "Feature X"


def test_messages_are_kept_verbatim_and_never_break_the_parser(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    messages = [
        "fix: crlf\r\n\r\nRefs: recAbCdEfGhIjKlMn\r\n",
        "feat: separators \x1e in \x1f the \x1e\x1f middle\n\nand \x1e body",
        "feat: 🚀 émoji \u05e9\u05dc\u05d5\u05dd \u202eRTL\u202c",
        "x" * 200_000,
    ]
    for message in messages:
        origin.commit(message)
    assert [c.message for c in GitRepo.open(origin.path).log()][::-1] == [m.rstrip("\n") for m in messages]


def test_invalid_utf8_is_replaced_not_fatal(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.commit("chore: first")
    origin.commit_raw(b"fix: caf\xe9 \xff\xfe recAbCdEfGhIjKlMn\n")  # Latin-1 bytes, no encoding header
    commit = GitRepo.open(origin.path).log()[0]
    assert commit.message == "fix: caf\ufffd \ufffd\ufffd recAbCdEfGhIjKlMn"
    commit.message.encode("utf-8")  # no lone surrogates left behind


def test_declared_legacy_encoding_is_converted(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.write({"a.txt": "a\n"})
    origin.git("-c", "i18n.commitEncoding=ISO-8859-1", "commit", "-q", "-F", "-", input=b"fix: caf\xe9\n", tick=True)
    assert GitRepo.open(origin.path).log()[0].message == "fix: café"


def test_tags_lightweight_and_annotated_are_peeled(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    first = origin.commit("feat: one")
    origin.tag("v1.0.0")
    second = origin.commit("feat: two")
    origin.tag("v1.1.0", annotated=True)
    tags = {t.name: t for t in GitRepo.open(origin.path).tags()}
    assert (tags["v1.0.0"].sha, tags["v1.1.0"].sha) == (first, second)
    assert tags["v1.0.0"].timestamp == EPOCH + TICK_SECONDS  # committer date
    assert tags["v1.1.0"].timestamp == EPOCH + 3 * TICK_SECONDS  # tagger date


def test_fast_import_bulk_history_with_tags(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    start = origin.commit("chore: start")
    shas = origin.fast_import(25, lambda i: f"feat: change {i}", tag_every=10, annotated=True)
    repo = GitRepo.open(origin.path)
    commits = repo.log()
    assert [c.sha for c in commits] == [*shas[::-1], start]
    assert commits[0].subject == "feat: change 25"
    assert {t.name: t.sha for t in repo.tags()} == {"v0.10.0": shas[9], "v0.20.0": shas[19]}
    assert (origin.path / "bulk" / "main.txt").read_text() == "25\n"  # working tree follows the branch
    assert origin.git("status", "--porcelain") == ""


def test_fast_import_new_branch_from_a_start(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    base = origin.commit("chore: base")
    origin.commit("chore: main moves on")
    shas = origin.fast_import(3, branch="feature/bulk", start=base)
    assert origin.current_branch() == "main"
    assert GitRepo.open(origin.path).log("feature/bulk")[-1].sha == base
    assert origin.rev_parse("feature/bulk") == shas[-1]


def test_squash_merge_and_revert(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.commit("chore: base")
    origin.branch("feature/x")
    origin.commits(3, "wip {i}")
    origin.checkout("main")
    squash = origin.squash_merge("feature/x", "feat: x (pull request #6)")
    revert = origin.revert(squash)
    log = GitRepo.open(origin.path).log(max_count=2)
    assert [c.sha for c in log] == [revert, squash]
    assert not log[1].is_merge and log[1].subject == "feat: x (pull request #6)"
    assert log[0].subject == 'Revert "feat: x (pull request #6)"'
    assert f"This reverts commit {squash}." in log[0].body


def test_shallow_detached_and_lookups(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.fast_import(60)
    origin.tag("v2.0.0", annotated=True)
    checkout = origin.pipelines_tag_checkout(git_repo_builder.path("tag-build"), "v2.0.0")
    repo = GitRepo.open(checkout.path)
    assert repo.is_shallow() and not GitRepo.open(origin.path).is_shallow()
    assert repo.current_branch() is None
    assert repo.rev_parse("HEAD") == origin.rev_parse("v2.0.0")
    assert repo.rev_parse("v2.0.0") == origin.rev_parse("v2.0.0")  # peeled to the commit
    assert repo.rev_parse("no-such-branch") is None
    assert len(repo.log()) == 50
    assert repo.remote_url("origin") == origin.url and repo.remote_url("upstream") is None
    assert repo.merge_base("HEAD", "HEAD~3") == origin.rev_parse("HEAD~3")
    assert repo.merge_base("HEAD", "no-such-branch") is None
    assert GitRepo.open(origin.path).current_branch() == "main"


def test_open_from_a_subfolder_and_errors(git_repo_builder: GitRepoFactory, tmp_path: Path) -> None:
    origin = git_repo_builder("origin")
    origin.commit("chore: x", files={"sub/dir/a.txt": "a"})
    assert GitRepo.open(origin.path / "sub" / "dir").root == origin.path
    with pytest.raises(GitError, match="does not exist"):
        GitRepo.open(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitError, match="not inside a git repository"):
        GitRepo.open(tmp_path / "plain")
    with pytest.raises(GitError, match="unknown revision") as caught:
        GitRepo.open(origin.path).run("log", "no-such-rev")
    assert isinstance(caught.value, UserError)


def test_open_plain_finds_the_top_and_head_as_gitpython_does(git_repo_builder: GitRepoFactory, tmp_path: Path) -> None:
    """`open_plain` (the release CLI's, without GitPython): from a subfolder, bare, empty, or not a
    repository at all, the same answers and errors as `open`."""
    origin = git_repo_builder("origin")
    head = origin.commit("chore: x", files={"sub/dir/a.txt": "a"})
    plain = GitRepo.open_plain(origin.path / "sub" / "dir")
    assert plain.root == origin.path and plain.rev_parse("HEAD") == head
    assert plain.current_branch() == "main"
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(origin.path), str(bare)], check=True)
    assert GitRepo.open_plain(bare).rev_parse("HEAD") == head
    empty = git_repo_builder("empty")
    assert GitRepo.open_plain(empty.path).rev_parse("HEAD") is None
    (tmp_path / "plain").mkdir()
    with pytest.raises(GitError, match="not inside a git repository"):
        GitRepo.open_plain(tmp_path / "plain", expect_tag_targets=True, expect_remote_url="origin")
    with pytest.raises(GitError, match="does not exist"):
        GitRepo.open_plain(tmp_path / "missing")


def test_expected_answers_are_those_asked_later_and_a_fetch_drops_them(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.commit("feat: one")
    origin.tag("v1.0.0")
    clone = origin.clone(git_repo_builder.path("clone"))
    origin.commit("feat: two")
    origin.tag("v1.1.0", annotated=True)
    expected = GitRepo.open_plain(clone.path, expect_tag_targets=True, expect_remote_url="origin")
    assert expected.remote_url("origin") == origin.url
    assert [t.name for t in expected.tag_targets()] == ["v1.0.0"]
    assert [t.name for t in GitRepo.open_plain(clone.path, expect_tags=True).tags()] == ["v1.0.0"]
    again = GitRepo.open_plain(clone.path, expect_tags=True, expect_tag_targets=True)
    again.fetch("--tags", "origin")  # the tags listed before the fetch are out of date
    assert sorted(t.name for t in again.tag_targets()) == ["v1.0.0", "v1.1.0"]
    assert sorted(t.name for t in again.tags()) == ["v1.0.0", "v1.1.0"]


def test_fetch_from_a_missing_remote_fails_cleanly(git_repo_builder: GitRepoFactory, tmp_path: Path) -> None:
    origin = git_repo_builder("origin")
    origin.commit("chore: x")
    clone = origin.clone(git_repo_builder.path("clone"))
    shutil.rmtree(origin.path)
    with pytest.raises(GitError, match="git fetch"):
        GitRepo.open(clone.path).fetch("origin", "+refs/heads/main:refs/remotes/origin/main")


def test_command_environment_appends_to_existing_command_config() -> None:
    assert command_environment({}) == {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "safe.directory",
        "GIT_CONFIG_VALUE_0": "*",
        "GIT_TERMINAL_PROMPT": "0",
    }
    env = command_environment({"GIT_CONFIG_COUNT": "2"})
    assert (env["GIT_CONFIG_COUNT"], env["GIT_CONFIG_KEY_2"], env["GIT_CONFIG_VALUE_2"]) == ("3", "safe.directory", "*")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root to give the clone to another user")
def test_clone_owned_by_another_user_is_readable(git_repo_builder: GitRepoFactory) -> None:
    """Pipelines runs the pipe as root on a clone it does not own: git calls that dubious ownership."""
    origin = git_repo_builder("origin")
    sha = origin.commit("feat: owned by someone else")
    origin.tag("v1.0.0")
    for path in [origin.path, *origin.path.rglob("*")]:
        os.chown(path, 4321, 4321, follow_symlinks=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {"GIT_CONFIG_GLOBAL": os.devnull}
    plain = subprocess.run(["git", "log", "-1"], cwd=origin.path, env=env, capture_output=True, text=True)
    assert plain.returncode != 0 and "dubious ownership" in plain.stderr  # the test means something

    repo = GitRepo.open(origin.path)
    assert [c.sha for c in repo.log()] == [sha]
    assert [t.name for t in repo.tags()] == ["v1.0.0"]
    assert repo.current_branch() == "main" and not repo.is_shallow()
    assert repo.repo.head.commit.hexsha == sha  # GitPython's own git calls get the setting too
