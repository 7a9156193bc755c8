"""Issue 13: release notes that are right on real histories. Each test builds the history shape
seen in a public repository (vite, rolldown, a Bitbucket monorepo...) with real git commands."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipe.clients.git import GitRepo
from pipe.config import load_settings
from pipe.errors import ConfigError
from pipe.release.compose import latest_release, release_history
from pipe.release.config import ReleaseConfig
from pipe.release.links import Links
from pipe.release.render import render_notes
from pipe.release.version import parse_prerelease_variable
from testkit.gitrepos import GitRepoBuilder, GitRepoFactory, bitbucket_merge_message
from tests.integration.test_release_notes import cli

GITHUB = Links("https://github.com/vitejs/vite")


def described(notes) -> list[str]:
    return [e.description for e in notes.entries]


@pytest.fixture
def released(git_repo_builder: GitRepoFactory) -> GitRepoBuilder:
    repo = git_repo_builder("origin")
    repo.commit("feat: first")
    repo.tag("v1.0.0")
    return repo


# 1 -------------------------------------------------------------------------------------------


def test_a_merge_commit_with_a_conventional_header_is_an_entry(released: GitRepoBuilder) -> None:
    released.branch("rolldown-vite")
    released.commit("feat: rolldown bundler core")
    released.checkout("main")
    released.commit("fix: meanwhile on main")
    released.merge("rolldown-vite", message="feat!: the epic rolldown-vite merge (#21189)")
    released.branch("feature/docs")
    released.commit("docs: guide")
    released.checkout("main")
    released.merge("feature/docs", message=bitbucket_merge_message("feature/docs", 7, "Docs"))

    _, notes = latest_release(GitRepo.open(released.path))

    by_description = {e.description: e for e in notes.entries}
    epic = by_description["the epic rolldown-vite merge"]
    assert epic.breaking and epic.type == "feat" and epic.pr_number == 21189
    assert [e.description for e in notes.breaking] == ["the epic rolldown-vite merge"]
    assert by_description["rolldown bundler core"].pr_number == 21189  # brought in by the merge
    assert by_description["guide"].pr_number == 7
    assert not any("Merged in" in e.subject for e in notes.entries)  # Bitbucket's merge is still deduped
    assert notes.version == "2.0.0" and notes.stats.merges == 2


# 2 -------------------------------------------------------------------------------------------


def test_a_squash_quoting_this_reverts_commit_is_not_a_revert(released: GitRepoBuilder) -> None:
    base = released.commit("feat: node 10 base support")
    squash = (
        "Fix/node10 support (#2595)\n\n"
        "* fix: support node 10\n\n"
        '* Revert "feat: node 10 base support"\n\n'
        f"This reverts commit {base}.\n\n"
        "* fix: support node 10 again\n"
    )
    released.commit(squash)
    dropped = released.commit("feat: dropped idea")
    released.revert(dropped)  # a real git revert: the pair cancels
    gone = released.commit("feat: gone too")
    released.commit(f"revert: remove gone too\n\nRefs: {gone[:10]}")

    _, notes = latest_release(GitRepo.open(released.path))

    assert described(notes) == ["node 10 base support", "Fix/node10 support"]
    squashed = next(e for e in notes.entries if e.pr_number == 2595)
    assert squashed.reverts == () and squashed.type is None and squashed.key == "pr-2595"
    assert notes.stats.cancelled == 2


# 3 -------------------------------------------------------------------------------------------


def test_nested_annotated_tags_are_peeled_to_their_commit(released: GitRepoBuilder) -> None:
    released.commit("feat: second")
    released.tag("release-candidate", annotated=True)
    released.git("tag", "--annotate", "--message", "Release v1.1.0", "v1.1.0", "release-candidate")  # tag -> tag
    released.commit("fix: after the release")
    repo = GitRepo.open(released.path)

    assert {t.name: t.sha for t in repo.tags()}["v1.1.0"] == released.rev_parse("v1.1.0")

    found, notes = latest_release(repo)
    assert found.previous_tag.name == "v1.1.0" and described(notes) == ["after the release"]
    assert [(r.tag, r.version) for r in release_history(repo)] == [
        (None, "1.1.1"),
        ("v1.1.0", "1.1.0"),
        ("v1.0.0", "1.0.0"),
    ]
    tag_build, tagged = latest_release(repo, tag="v1.1.0")
    assert tag_build.tag.name == "v1.1.0" and described(tagged) == ["second"]


def test_a_tag_of_a_tree_is_reported_as_such(released: GitRepoBuilder) -> None:
    released.commit("fix: after the release")
    released.git("tag", "--annotate", "--message", "a tree", "v2.0.0", "HEAD^{tree}")
    released.git("tag", "v3.0.0", "HEAD:" + released.git("ls-tree", "-r", "--name-only", "HEAD").splitlines()[0])
    repo = GitRepo.open(released.path)

    found, _ = latest_release(repo, tag="v2.0.0")
    assert found.commit_range.warnings[0] == "tag v2.0.0 points at a tree, not a commit; using HEAD instead"
    blob, _ = latest_release(repo, tag="v3.0.0")
    assert blob.commit_range.warnings[0] == "tag v3.0.0 points at a blob, not a commit; using HEAD instead"
    assert found.previous_tag.name == "v1.0.0"  # the tree tag is not a release either
    assert "v2.0.0" not in {t.name for t in repo.tags()}


# 4 -------------------------------------------------------------------------------------------


def test_github_pull_request_numbers(released: GitRepoBuilder) -> None:
    released.commit("fix(ssr): keep the module graph (#23302)")
    released.branch("feature-y")
    released.commit("feat: y part one")
    released.checkout("main")
    released.merge("feature-y", message="Merge pull request #77 from someone/feature-y\n\nAdd y")
    released.commit("Plain squash title (#80)")

    _, notes = latest_release(GitRepo.open(released.path))

    assert [(e.description, e.pr_number, e.key) for e in notes.entries] == [
        ("y part one", 77, notes.entries[0].sha[:12]),  # Features, Bug Fixes, Other
        ("keep the module graph", 23302, "pr-23302"),
        ("Plain squash title", 80, "pr-80"),
    ]
    assert notes.stats.merges == 1 and len(notes.entries) == 3  # the GitHub merge commit is no entry
    text = render_notes([notes], links=GITHUB)
    assert "([#23302](https://github.com/vitejs/vite/pull/23302))" in text
    assert "Plain squash title (" in text and "(#80) (" not in text


# 5 -------------------------------------------------------------------------------------------


def test_an_empty_commit_message_makes_no_bullet(released: GitRepoBuilder) -> None:
    released.commit("feat: real change")
    released.commit_raw(b"")
    released.commit_raw(b"   \n\n  \n")

    _, notes = latest_release(GitRepo.open(released.path))

    assert described(notes) == ["real change"]
    assert notes.stats.hidden == 2 and notes.stats.commits == 3
    text = render_notes([notes])
    assert [line for line in text.splitlines() if line.startswith("-")] == [
        line for line in text.splitlines() if "real change" in line
    ]


# 6 -------------------------------------------------------------------------------------------


@pytest.fixture
def monorepo(git_repo_builder: GitRepoFactory) -> GitRepoBuilder:
    """vite-like: `v*` tags for vite, `create-vite@*` and `plugin-legacy@*` for two packages."""
    repo = git_repo_builder("origin")
    repo.commit("feat: vite core", files={"packages/vite/index.js": "1\n"})
    repo.commit("feat(create-vite): templates", files={"packages/create-vite/index.js": "1\n"})
    repo.tag("create-vite@9.1.1")
    repo.tag("v7.0.0")
    repo.commit("feat(legacy): polyfills", files={"packages/plugin-legacy/index.js": "1\n"})
    repo.tag("plugin-legacy@7.2.0")
    repo.commit("fix(create-vite): vue template", files={"packages/create-vite/vue.js": "1\n"})
    repo.commit("feat: vite dev server", files={"packages/vite/server.js": "1\n"})
    repo.commit("docs: both", files={"packages/vite/README.md": "1\n", "packages/create-vite/README.md": "1\n"})
    repo.tag("create-vite@9.1.2")
    repo.tag("v7.1.0")
    repo.commit("feat(create-vite): svelte template", files={"packages/create-vite/svelte.js": "1\n"})
    repo.commit("fix: vite only", files={"packages/vite/fix.js": "1\n"})
    return repo


def test_monorepo_tag_asked_for_by_name_is_its_own_package_release(monorepo: GitRepoBuilder) -> None:
    config = ReleaseConfig.from_dict({"include_paths": ["packages/create-vite/**"]})

    found, notes = latest_release(GitRepo.open(monorepo.path), config=config, tag="create-vite@9.1.2")

    assert (found.tag.name, found.previous_tag.name) == ("create-vite@9.1.2", "create-vite@9.1.1")
    assert (notes.version, notes.tag_name, notes.previous_version) == ("9.1.2", "create-vite@9.1.2", "9.1.1")
    assert described(notes) == ["vue template", "both"]
    assert found.commit_range.warnings == ()


def test_monorepo_unreleased_package_notes_with_a_path_filter(monorepo: GitRepoBuilder) -> None:
    config = ReleaseConfig.from_dict(
        {"tag_pattern": r"^create-vite@\d+\.\d+\.\d+$", "include_paths": ["packages/create-vite/**"]}
    )
    repo = GitRepo.open(monorepo.path)

    _, notes = latest_release(repo, config=config)
    assert (notes.tag_name, notes.previous_tag) == ("create-vite@9.2.0", "create-vite@9.1.2")
    assert described(notes) == ["svelte template"]

    history = release_history(repo, config=config)
    assert [(r.tag_name, described(r)) for r in history] == [
        ("create-vite@9.2.0", ["svelte template"]),
        ("create-vite@9.1.2", ["vue template", "both"]),
        ("create-vite@9.1.1", ["templates"]),
    ]
    vite_only = ReleaseConfig.from_dict({"exclude_paths": ["packages/create-vite/**", "packages/plugin-legacy/**"]})
    _, vite = latest_release(repo, config=vite_only)
    assert (vite.previous_tag, described(vite)) == ("v7.1.0", ["vite only"])


def test_monorepo_path_filter_on_the_command_line(monorepo: GitRepoBuilder) -> None:
    result = cli(
        "--repo",
        str(monorepo.path),
        "--latest",
        "--tag",
        "create-vite@9.1.2",
        "--include-path",
        "packages/create-vite/**",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("## 9.1.2 (") and "vue template" in result.stdout
    assert "dev server" not in result.stdout


# 7 -------------------------------------------------------------------------------------------


def test_a_header_wrapped_onto_a_second_line_keeps_the_whole_description(released: GitRepoBuilder) -> None:
    released.commit(
        "feat(api): accept a list of record IDs in the sync request so that several work\n"
        "items are updated in one call (#412)\n\nThe body stays the body."
    )
    released.commit("fix: short\nCloses: recAbCdEfGhIjKlMn")
    released.commit("chore: squash of three\n* feat: one\n* fix: two")

    _, notes = latest_release(GitRepo.open(released.path))

    wrapped = next(e for e in notes.entries if e.scope == "api")
    assert wrapped.description == (
        "accept a list of record IDs in the sync request so that several work items are updated in one call"
    )
    assert wrapped.body == "The body stays the body." and wrapped.pr_number == 412
    short = next(e for e in notes.entries if e.type == "fix")
    assert short.description == "short" and [f.token for f in short.footers] == ["Closes"]
    _, all_notes = latest_release(GitRepo.open(released.path), config=ReleaseConfig.from_dict({"hidden_types": []}))
    chore = next(e for e in all_notes.entries if e.type == "chore")
    assert chore.description == "squash of three" and chore.body == "* feat: one\n* fix: two"


# 8 -------------------------------------------------------------------------------------------


@pytest.fixture
def quiet_release(released: GitRepoBuilder) -> GitRepoBuilder:
    released.commit("chore: bump dependencies")
    released.tag("v1.0.1")
    released.commit("feat: loud")
    released.tag("v1.1.0")
    released.commit("ci: nothing to show")
    return released


def test_releases_with_nothing_to_show_are_left_out_by_default(quiet_release: GitRepoBuilder) -> None:
    repo = GitRepo.open(quiet_release.path)
    history = release_history(repo)
    assert [(r.version, r.has_entries) for r in history] == [
        ("1.1.1", False),
        ("1.1.0", True),
        ("1.0.1", False),
        ("1.0.0", True),
    ]
    default = render_notes(history, full_history=True, config=ReleaseConfig())
    assert "## 1.1.0 (" in default and "## 1.0.0 (" in default
    assert "1.0.1" not in default and "1.1.1" not in default and "No notable changes." not in default

    shown = render_notes(history, full_history=True, config=ReleaseConfig.from_dict({"show_empty_releases": True}))
    assert "## 1.0.1 (" in shown and shown.count("No notable changes.") == 2

    latest = cli("--repo", str(quiet_release.path), "--latest")
    assert latest.returncode == 0 and latest.stdout == ""
    assert "release 1.1.1 has no notable changes" in latest.stderr


# 9 -------------------------------------------------------------------------------------------


def test_pre_releases(git_repo_builder: GitRepoFactory) -> None:
    repo = git_repo_builder("origin")
    repo.commit("feat: start")
    repo.tag("v1.4.0")
    repo.commit("feat: candidate feature")
    git = GitRepo.open(repo.path)

    _, notes = latest_release(git, prerelease="rc")
    assert (notes.version, notes.tag_name) == ("1.5.0-rc.1", "v1.5.0-rc.1")
    repo.tag("v1.5.0-rc.1")

    repo.commit("fix: found in rc.1")
    _, notes = latest_release(git)  # the previous release is a pre-release: the line goes on
    assert notes.tag_name == "v1.5.0-rc.2"
    repo.tag("v1.5.0-rc.2")

    repo.commit("feat!: change of plan")
    _, notes = latest_release(git, prerelease="rc")
    assert notes.tag_name == "v2.0.0-rc.1"  # a bigger change than 1.5.0 starts a new line
    _, beta = latest_release(git, prerelease="beta")
    assert beta.tag_name == "v2.0.0-beta.1"
    _, final = latest_release(git, version="2.0.0")
    assert final.tag_name == "v2.0.0"

    history = release_history(git, prerelease="rc")
    assert [r.tag_name for r in history] == ["v2.0.0-rc.1", "v1.5.0-rc.2", "v1.5.0-rc.1", "v1.4.0"]


def test_prerelease_variable_is_validated(tmp_path: Path) -> None:
    env = {"DRY_RUN": "true"}
    assert load_settings({**env, "PRERELEASE": "rc"}, tmp_path).variables.PRERELEASE == "rc"
    assert load_settings(env, tmp_path).variables.PRERELEASE is None
    for bad in ("rc.1", "r c", "-rc", "01"):
        with pytest.raises(ConfigError) as caught:
            load_settings({**env, "PRERELEASE": bad}, tmp_path)
        assert caught.value.problems[0].startswith("PRERELEASE: got"), caught.value.problems
        assert "pre-release identifier" in caught.value.problems[0]
        with pytest.raises(ConfigError, match="PRERELEASE"):
            parse_prerelease_variable(bad)


def test_prerelease_on_the_command_line(released: GitRepoBuilder, tmp_path: Path) -> None:
    released.commit("fix: x")
    result = cli("--repo", str(released.path), "--latest", "--prerelease", "rc", "--context")
    assert result.returncode == 0, result.stderr
    assert '"tag_name": "v1.0.1-rc.1"' in result.stdout
