"""Mirror a local git repository (testkit.gitrepos) into the Bitbucket emulator, so the commits the pipe reports
on exist there (a report on an unknown commit is 404), with the same hashes, parents and branches.

    emu = bitbucket_emulator_factory(seed=None, proxy=pipe_proxy("acme", "product"))
    mirror(emu, repo, "acme", "product")          # again after new commits: only the new ones are added
    emu.add_pull_request("acme", "product", id=42, source="feature/x")
"""

from __future__ import annotations

from typing import Any

from testkit.emulators.bitbucket import ApiError, BitbucketEmulator, ProxyConfig
from testkit.gitrepos import GitRepoBuilder

_SEP = "\x1f"


def pipe_proxy(workspace: str, repo: str, **options: Any) -> ProxyConfig:
    """An auth proxy for the pipeline's repository that also forwards to the emulator's own address (127.0.0.1),
    so a test can point BITBUCKET_API_URL at the emulator and still send Code Insights through the proxy.
    What it authorises stays the default: Code Insights only."""
    return ProxyConfig(workspace, repo, upstream_hosts=("api.bitbucket.org", "127.0.0.1"), **options)


def mirror(
    emu: BitbucketEmulator, repo: GitRepoBuilder, workspace: str, slug: str, *, custom_pipelines: tuple[str, ...] = ()
) -> None:
    """Add the repository (first call) and every commit of every local branch it lacks; point the branches.
    `custom_pipelines`: the names under `pipelines: custom:` of its bitbucket-pipelines.yml (first call)."""
    log = repo.git("log", "--branches", "--reverse", "--topo-order", f"--format=%H{_SEP}%P{_SEP}%an <%ae>{_SEP}%s")
    commits: list[dict[str, Any]] = []
    for line in log.splitlines():
        sha, parents, author, subject = line.split(_SEP, 3)
        commits.append({"hash": sha, "parents": parents.split(), "author": author, "message": subject or "(empty)"})
    branches = {}
    for line in repo.git("for-each-ref", "refs/heads", "--format=%(refname:short) %(objectname)").splitlines():
        name, target = line.rsplit(" ", 1)
        branches[name] = target
    known = _known(emu, workspace, slug)
    if known is None:
        main = "main" if "main" in branches else next(iter(branches))
        pipelines = {"custom": list(custom_pipelines)}
        emu.add_repository(workspace, slug, commits=commits, branches=branches, mainbranch=main, pipelines=pipelines)
        return
    for commit in commits:
        if commit["hash"] not in known:
            emu.add_commit(workspace, slug, commit["message"], **{k: v for k, v in commit.items() if k != "message"})
    for name, target in branches.items():
        emu.add_branch(workspace, slug, name, target)


def _known(emu: BitbucketEmulator, workspace: str, slug: str) -> set[str] | None:
    try:
        stored = emu.repository(workspace, slug)
    except ApiError:  # 404: not mirrored yet
        return None
    return set(stored.commits)
