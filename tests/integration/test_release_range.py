"""The release range and version on real repositories: previous tag by SemVer, floating tags,
tag builds, shallow clones with missing tags, and the number of git calls."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipe.clients.git import GitRepo
from pipe.release.compose import latest_release
from pipe.release.config import ReleaseConfig
from pipe.release.range import release_range
from testkit.gitrepos import GitRepoBuilder, GitRepoFactory


def subjects(found) -> list[str]:
    return [c.subject for c in found.commit_range.commits]


class CountingRepo(GitRepo):
    """A GitRepo that records every git command it runs."""

    calls: list[tuple[str, ...]]

    def run(self, *args: str, timeout: float | None = None) -> str:
        self.calls.append(args)
        return super().run(*args, timeout=timeout)


def counting(path: Path) -> CountingRepo:
    repo = GitRepo.open(path)
    counted = CountingRepo(repo.repo)
    counted.calls = []
    return counted


@pytest.fixture
def origin(git_repo_builder: GitRepoFactory) -> GitRepoBuilder:
    """main: 1.2.0 - 1.10.0 (tagged before 1.9.0's annotated tag, which sits on an older commit) - HEAD."""
    repo = git_repo_builder("origin")
    repo.commit("feat: start")
    repo.tag("v1.2.0")
    repo.commit("fix: old fix")
    nine = repo.head()
    repo.commit("feat: newer feature")
    repo.tag("v1.10.0")
    repo.tag("v1.9.0", nine, annotated=True)  # created later, on an older commit
    repo.tag("v1")  # floating tags next to v1.10.0
    repo.tag("v1.10")
    repo.commit("fix: after release")
    repo.commit("feat(ui): unreleased feature")
    return repo


def test_previous_release_is_the_highest_version_not_the_newest_tag(origin: GitRepoBuilder) -> None:
    found = release_range(GitRepo.open(origin.path))
    assert found.previous_tag is not None and found.previous_tag.name == "v1.10.0"
    assert found.tag is None
    assert subjects(found) == ["feat(ui): unreleased feature", "fix: after release"]
    assert found.commit_range.description == f"v1.10.0..{origin.head()[:7]}"
    assert found.commit_range.base == origin.rev_parse("v1.10.0")


def test_floating_tags_and_tags_off_the_branch_are_ignored(origin: GitRepoBuilder) -> None:
    origin.git("tag", "-f", "v1", "HEAD")  # floating major tag moved to HEAD
    origin.branch("maintenance", "v1.9.0")
    origin.commit("fix: backport")
    origin.tag("v1.9.1")
    origin.tag("v99.0.0")  # not an ancestor of main
    origin.checkout("main")
    _, notes = latest_release(GitRepo.open(origin.path))
    assert (notes.previous_tag, notes.tag, notes.version, notes.tag_name) == ("v1.10.0", None, "1.11.0", "v1.11.0")


def test_user_tag_pattern(origin: GitRepoBuilder) -> None:
    origin.tag("api-v3.0.0", "v1.2.0")
    config = ReleaseConfig.from_dict({"tag_pattern": r"^api-v\d+\.\d+\.\d+$"})
    found, notes = latest_release(GitRepo.open(origin.path), config=config)
    assert found.previous_tag.name == "api-v3.0.0"
    assert notes.tag_name == "api-v3.1.0"  # prefix kept, feat -> minor


def test_tag_build_at_head(origin: GitRepoBuilder) -> None:
    origin.tag("v1.11.0-rc.1")
    origin.tag("v1.11.0")  # rc and final on the same commit: the final is the release
    found, notes = latest_release(GitRepo.open(origin.path))
    assert (found.tag.name, found.previous_tag.name) == ("v1.11.0", "v1.10.0")
    assert (notes.version, notes.tag, notes.released, notes.previous_version) == ("1.11.0", "v1.11.0", True, "1.10.0")
    assert notes.date == "2023-11-14"


def test_tag_build_of_an_older_tag_with_bitbucket_tag(origin: GitRepoBuilder, tmp_path: Path) -> None:
    clone = origin.pipelines_tag_checkout(tmp_path / "build", "v1.10.0", depth=50)
    found, notes = latest_release(GitRepo.open(clone.path), tag="v1.10.0")
    assert (found.tag.name, found.previous_tag.name) == ("v1.10.0", "v1.9.0")
    assert subjects(found) == ["feat: newer feature"]
    assert notes.version == "1.10.0"


def test_not_a_release_tag_warns_and_covers_unreleased_commits(origin: GitRepoBuilder) -> None:
    origin.tag("deploy-prod")
    found = release_range(GitRepo.open(origin.path), tag="deploy-prod")
    assert found.tag is None and found.previous_tag.name == "v1.10.0"
    assert "deploy-prod is not a release tag" in found.commit_range.warnings[0]


def test_no_release_tag_means_the_whole_history_and_the_first_version(git_repo_builder: GitRepoFactory) -> None:
    repo = git_repo_builder("origin")
    repo.commits(3, "feat: change {i}")
    repo.tag("v1")  # floating only
    found, notes = latest_release(GitRepo.open(repo.path))
    assert found.previous_tag is None and len(found.commit_range.commits) == 3
    assert found.commit_range.base is None
    assert (notes.version, notes.tag_name, notes.previous_version) == ("0.1.0", "v0.1.0", None)
    _, notes = latest_release(GitRepo.open(repo.path), version="1.0.0")
    assert notes.tag_name == "v1.0.0"


def test_zero_x_bumps(git_repo_builder: GitRepoFactory) -> None:
    repo = git_repo_builder("origin")
    repo.commit("feat: start")
    repo.tag("0.3.1")
    repo.commit("feat!: break everything")
    _, notes = latest_release(GitRepo.open(repo.path))
    assert notes.tag_name == "0.4.0"


def test_shallow_clone_without_tags_fetches_tags_and_deepens(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.fast_import(30, lambda i: f"feat: old {i}")
    origin.tag("v2.0.0", annotated=True)
    origin.fast_import(40, lambda i: f"fix: new {i}")
    clone = origin.clone(git_repo_builder.path("build"), depth=5, tags=False)
    assert clone.git("tag") == "" and clone.count() == 5

    found = release_range(GitRepo.open(clone.path), deepen_step=10)

    assert found.previous_tag is not None and found.previous_tag.name == "v2.0.0"
    assert subjects(found) == [f"fix: new {i}" for i in range(40, 0, -1)]
    assert found.commit_range.fetched[0] == "git fetch --tags origin"
    assert all(f == "git fetch --deepen=10 origin" for f in found.commit_range.fetched[1:])
    assert 1 <= len(found.commit_range.fetched) - 1 <= 4
    assert found.commit_range.warnings == ()


def test_shallow_clone_gives_up_with_a_warning(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.fast_import(10, lambda i: f"feat: old {i}")
    origin.tag("v1.0.0")
    origin.fast_import(60, lambda i: f"fix: new {i}")
    clone = origin.clone(git_repo_builder.path("build"), depth=5, tags=False)
    found = release_range(GitRepo.open(clone.path), deepen_step=10, max_deepen_steps=2)
    assert found.previous_tag is None
    assert len(found.commit_range.commits) == 25
    assert "no previous release tag within the 20 commits" in found.commit_range.warnings[-1]
    assert "clone: depth: full" in found.commit_range.warnings[-1]


def test_shallow_clone_of_a_repository_without_releases_ends_with_the_whole_history(
    git_repo_builder: GitRepoFactory,
) -> None:
    origin = git_repo_builder("origin")
    origin.fast_import(25, lambda i: f"feat: {i}")
    clone = origin.clone(git_repo_builder.path("build"), depth=5)
    found = release_range(GitRepo.open(clone.path), deepen_step=10)
    assert found.previous_tag is None and len(found.commit_range.commits) == 25
    assert found.commit_range.warnings == ()
    assert not clone.is_shallow()


def test_shallow_clone_without_a_remote_warns(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.fast_import(20, lambda i: f"feat: {i}")
    clone = origin.clone(git_repo_builder.path("build"), depth=5)
    clone.git("remote", "remove", "origin")
    found = release_range(GitRepo.open(clone.path))
    assert len(found.commit_range.commits) == 5
    assert "without a git remote 'origin'" in found.commit_range.warnings[0]


def test_a_thousand_tags_cost_a_constant_number_of_git_calls(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.fast_import(2000, lambda i: f"feat: change {i}", tag_every=2, tag_name=lambda i: f"v1.{i}.0")
    origin.fast_import(3, lambda i: f"fix: after {i}")
    repo = counting(origin.path)
    found = release_range(repo)
    assert found.previous_tag.name == "v1.2000.0" and len(found.commit_range.commits) == 3
    assert [c[0] for c in repo.calls] == ["rev-parse", "show-ref", "for-each-ref", "log"]
    assert len(repo.calls[2]) == 3 + 16  # ancestry asked for the 16 highest versions only


def test_previous_release_behind_many_higher_tags_elsewhere(git_repo_builder: GitRepoFactory) -> None:
    origin = git_repo_builder("origin")
    origin.fast_import(5, lambda i: f"feat: main {i}", tag_every=1, tag_name=lambda i: f"v1.{i}.0")
    origin.branch("experiments")
    origin.fast_import(20, lambda i: f"feat: experiment {i}", tag_every=1, tag_name=lambda i: f"v9.{i}.0")
    origin.checkout("main")
    origin.commit("fix: on main")
    repo = counting(origin.path)
    found = release_range(repo)
    assert found.previous_tag.name == "v1.5.0"  # the 20 higher tags are not ancestors of main
    assert [c[0] for c in repo.calls].count("for-each-ref") == 2  # the 16 highest, then all
