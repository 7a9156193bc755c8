"""Which commits a stage looks at (pipe.facts.history), on real clones shaped like Pipelines makes them."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from pipe.clients.git import GitError, GitRepo
from pipe.facts.history import branch_name, change_range
from pipe.model import CommitRange, Reference, ReferenceKind, ReferenceSource
from pipe.references import compile_key_pattern, find_references, parse_squash_pr_number
from testkit.gitrepos import GitRepoBuilder, GitRepoFactory, bitbucket_merge_message

ID = "recAbCdEfGhIjKlMn"
LOGIN = f"feature/{ID}-login"


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> GitRepoBuilder:
    """The remote every test clones (never changed by tests).

    main: 30 commits | feature/deep: 120 commits off main@30 | main: 10 more (main@40)
    LOGIN: 3 commits off main@40 | feature/empty: at main@40 | tags v1.0.0 (main), v1.1.0-rc.1 (LOGIN)
    """
    repo = GitRepoBuilder.init(tmp_path_factory.mktemp("history") / "origin")
    repo.fast_import(30, lambda i: f"chore: main {i}")
    repo.branch("feature/deep")
    repo.fast_import(120, lambda i: f"feat: deep {i}")
    repo.checkout("main")
    repo.fast_import(10, lambda i: f"chore: main later {i}")
    repo.tag("v1.0.0", annotated=True)
    repo.branch("feature/empty", checkout=False)
    repo.branch(LOGIN)
    repo.commit("feat: login form")
    repo.commit("feat: login check\n\nRefs FEAT-7")
    repo.commit("fix: login typo")
    repo.tag("v1.1.0-rc.1")
    repo.checkout("main")
    return repo


def subjects(commit_range: CommitRange) -> list[str]:
    return [c.subject for c in commit_range.commits]


def test_shallow_branch_build_deepens_until_the_merge_base(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", "feature/deep")
    assert clone.count() == 50

    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main")

    assert subjects(result) == [f"feat: deep {i}" for i in range(120, 0, -1)]
    assert result.base == origin.git("merge-base", "main", "feature/deep")
    assert result.head == origin.rev_parse("feature/deep")
    assert result.warnings == ()
    assert result.fetched == (
        "git fetch --depth=50 origin +refs/heads/main:refs/remotes/origin/main",
        "git fetch --deepen=50 origin +refs/heads/main:refs/remotes/origin/main",
        "git fetch --deepen=50 origin +refs/heads/main:refs/remotes/origin/main",
    )
    assert result.description == f"merge-base(origin/main)..{result.head[:7]}"


@pytest.mark.parametrize(("max_steps", "available"), [(1, 100), (0, 50)])
def test_giving_up_deepening_returns_what_is_there_with_a_warning(
    origin: GitRepoBuilder, tmp_path: Path, max_steps: int, available: int
) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", "feature/deep")

    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main", max_deepen_steps=max_steps)

    assert len(result.commits) == available
    assert subjects(result)[0] == "feat: deep 120"
    assert result.base is None
    (warning,) = result.warnings
    assert "clone: depth: full" in warning and f"where {result.head[:7]} branched off main" in warning
    assert f"deepened {max_steps} time(s) by 50 commits" in warning


def test_smaller_deepen_steps(origin: GitRepoBuilder, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", "feature/deep", depth=10)
    logger = logging.getLogger("test.history")
    with caplog.at_level(logging.DEBUG, logger="test.history"):
        result = change_range(GitRepo.open(clone.path), head=None, base_branch="main", deepen_step=40, logger=logger)
    assert caplog.text.count("running git fetch") == 4 and "merge base of" in caplog.text
    assert len(result.commits) == 120 and not result.warnings
    assert [f.split()[2] for f in result.fetched] == ["--depth=40", "--deepen=40", "--deepen=40", "--deepen=40"]


def test_pr_range_comes_from_bitbucket_commit_not_the_synthetic_merge(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_pr_checkout(tmp_path / "pr", source=LOGIN, destination="feature/deep")
    source_sha = origin.rev_parse(LOGIN)
    repo = GitRepo.open(clone.path)
    assert repo.rev_parse("HEAD") != source_sha and len(repo.log(max_count=1)[0].parents) == 2
    clone.git("remote", "set-url", "origin", str(tmp_path / "unreachable"))  # needs no network

    result = change_range(repo, head=source_sha, base_branch="feature/deep")

    assert subjects(result) == [
        "fix: login typo",
        "feat: login check",
        "feat: login form",
        *[f"chore: main later {i}" for i in range(10, 0, -1)],  # on LOGIN, not on feature/deep
    ]
    assert result.head == source_sha and result.fetched == () and result.warnings == ()
    assert "merged into HEAD" in result.description


def test_pr_range_against_its_destination(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_pr_checkout(tmp_path / "pr", source="feature/deep", destination=LOGIN, depth=None)
    result = change_range(GitRepo.open(clone.path), head=origin.rev_parse("feature/deep"), base_branch=LOGIN)
    assert subjects(result) == [f"feat: deep {i}" for i in range(120, 0, -1)]


def test_trusting_head_in_a_pr_build_would_add_the_synthetic_merge(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_pr_checkout(tmp_path / "pr", source=LOGIN, destination="feature/deep")
    repo = GitRepo.open(clone.path)
    from_head = change_range(repo, head=None, base_branch="feature/deep")
    from_commit = change_range(repo, head=origin.rev_parse(LOGIN), base_branch="feature/deep")
    assert len(from_commit.commits) == 13
    assert subjects(from_head)[0].startswith("Merge commit ") and from_head.commits[1:] == from_commit.commits


def test_tag_build_on_a_detached_head(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_tag_checkout(tmp_path / "tag", "v1.1.0-rc.1")
    repo = GitRepo.open(clone.path)
    assert repo.current_branch() is None and branch_name(repo, None) is None

    result = change_range(repo, head=origin.rev_parse("v1.1.0-rc.1"), base_branch="main")

    assert subjects(result) == ["fix: login typo", "feat: login check", "feat: login form"]
    assert result.fetched == ("git fetch origin +refs/heads/main:refs/remotes/origin/main",)  # 43 commits: not shallow


def test_tag_build_of_a_commit_on_main_is_empty(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_tag_checkout(tmp_path / "tag", "v1.0.0")
    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main")
    assert result.commits == () and "already on main" in result.description and not result.warnings


def test_build_of_main_itself_is_empty_without_fetching(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", "main")
    result = change_range(GitRepo.open(clone.path), head=origin.rev_parse("main"), base_branch="main")
    assert result.commits == () and result.base == result.head == origin.rev_parse("main")
    assert result.fetched == () and result.warnings == ()
    assert result.description.endswith("(empty: " + result.head[:7] + " is already on main)")


def test_build_of_a_branch_with_no_commits_of_its_own(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", "feature/empty")
    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main")
    assert result.commits == () and result.base == origin.rev_parse("main") and not result.warnings


def test_full_clone_uses_the_remote_tracking_branch(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.clone(tmp_path / "full", branch=LOGIN)
    repo = GitRepo.open(clone.path)
    assert repo.rev_parse("refs/heads/main") is None
    result = change_range(repo, head=None, base_branch="main")
    assert len(result.commits) == 3 and result.fetched == ()
    assert result.description.startswith("merge-base(origin/main)..")


def test_local_branch_is_preferred_and_other_remotes_work(git_repo_builder: GitRepoFactory) -> None:
    upstream = git_repo_builder("upstream")
    upstream.commits(3)
    upstream.branch("develop")
    upstream.commits(2, "feat: d{i}")
    clone = upstream.clone(git_repo_builder.path("clone"), branch="develop", single_branch=True)
    clone.git("remote", "rename", "origin", "upstream")
    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main", remote="upstream")
    assert subjects(result) == ["feat: d2", "feat: d1"]
    assert result.fetched == ("git fetch upstream +refs/heads/main:refs/remotes/upstream/main",)
    assert change_range(GitRepo.open(upstream.path), head=None, base_branch="main").description.startswith(
        "merge-base(main).."
    )


def test_missing_remote_warns_and_uses_what_is_there(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", "feature/deep")
    clone.git("remote", "remove", "origin")
    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main")
    assert len(result.commits) == 50 and result.base is None and result.fetched == ()
    assert any("no git remote 'origin'" in w for w in result.warnings)
    assert any("branch 'main' is not in this clone" in w for w in result.warnings)


def test_unreachable_remote_warns_and_uses_what_is_there(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", "feature/deep")
    clone.git("remote", "set-url", "origin", str(tmp_path / "gone"))
    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main")
    assert len(result.commits) == 50 and result.fetched == ()
    assert any("could not fetch from the git remote 'origin'" in w for w in result.warnings)


def test_remote_lost_while_deepening(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", "feature/deep")
    clone.git("fetch", "--quiet", "--depth=50", "origin", "+refs/heads/main:refs/remotes/origin/main")
    clone.git("remote", "set-url", "origin", str(tmp_path / "gone"))
    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main")
    assert len(result.commits) == 50 and result.base is None
    lost, gave_up = result.warnings
    assert lost.startswith("could not fetch from the git remote 'origin': git fetch")
    assert "deepened 0 time(s)" in gave_up and "clone: depth: full" in gave_up


def test_unknown_bitbucket_commit_falls_back_to_head(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", LOGIN)
    result = change_range(GitRepo.open(clone.path), head="0" * 40, base_branch="main")
    assert len(result.commits) == 3
    assert result.warnings == (f"commit {'0' * 40} is not in this clone; using HEAD instead",)


def test_unrelated_history_uses_all_of_head(git_repo_builder: GitRepoFactory) -> None:
    repo = git_repo_builder("repo")
    repo.commits(2)
    repo.git("checkout", "--quiet", "--orphan", "pages")
    repo.commit("docs: orphan")
    result = change_range(GitRepo.open(repo.path), head=None, base_branch="main")
    assert subjects(result) == ["docs: orphan"] and result.base is None
    assert result.warnings == (f"{result.head[:7]} shares no history with main; using all of its commits",)


def test_empty_repository_is_a_user_error(git_repo_builder: GitRepoFactory) -> None:
    repo = git_repo_builder("empty")
    with pytest.raises(GitError, match="does not point at a commit"):
        change_range(GitRepo.open(repo.path), head=None, base_branch="main")


def test_branch_name(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_branch_checkout(tmp_path / "build", LOGIN)
    repo = GitRepo.open(clone.path)
    assert branch_name(repo, None) == LOGIN
    assert branch_name(repo, "from-bitbucket") == "from-bitbucket"
    clone.detach()
    assert branch_name(repo, None) is None


# -- merges and squashes, end to end with references -----------------------------------------


def test_bitbucket_merge_and_squash_commits_in_a_range(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.commit("chore: start")
    origin.branch("develop")
    origin.branch(LOGIN)
    origin.commit("feat: login form")  # the ID is only in the branch name
    origin.checkout("develop")
    merge = origin.merge(LOGIN, message=bitbucket_merge_message(LOGIN, 5, title="Login"))
    origin.branch("feature/FEAT-8-search")
    origin.commits(2, "wip: search {i}")
    origin.checkout("develop")
    squash = origin.squash_merge("feature/FEAT-8-search", "feat: search FEAT-8 (pull request #6)")
    clone = origin.pipelines_branch_checkout(git_repo_builder.path("build"), "develop")

    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main")

    assert subjects(result) == [
        "feat: search FEAT-8 (pull request #6)",
        f"Merged in {LOGIN} (pull request #5)",
        "feat: login form",
    ]
    assert parse_squash_pr_number(result.commits[0].subject) == 6
    refs = find_references("develop", result.commits, compile_key_pattern(r"FEAT-\d+"))
    assert refs == [
        Reference(ReferenceKind.RECORD_ID, ID, ReferenceSource.MERGE_COMMIT, merge),
        Reference(ReferenceKind.KEY, "FEAT-8", ReferenceSource.COMMIT, squash),
    ]


def test_back_merge_of_main_into_the_branch_is_excluded(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.commit("chore: start")
    origin.branch("feature/x")
    origin.commit("feat: x1")
    origin.checkout("main")
    origin.commits(2, "chore: main {i}")
    origin.checkout("feature/x")
    origin.merge("main")
    origin.commit("feat: x2")
    clone = origin.pipelines_branch_checkout(git_repo_builder.path("build"), "feature/x")
    result = change_range(GitRepo.open(clone.path), head=None, base_branch="main")
    assert subjects(result) == ["feat: x2", "Merge branch 'main' into feature/x", "feat: x1"]
    assert result.base == origin.rev_parse("main")
