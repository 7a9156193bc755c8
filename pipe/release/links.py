"""Web links to commits, pull requests, tags and comparisons, for Bitbucket (default), GitHub
and GitLab repository URLs."""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

_SCP = r"^(?:[\w.-]+@)?(?P<host>[\w.-]+):(?P<path>[^/].*)$"  # git@bitbucket.org:ws/repo.git (compiled when met)


class Links(NamedTuple):
    repo_url: str | None = None  # e.g. https://bitbucket.org/workspace/repo

    @classmethod
    def from_remote(cls, remote_url: str | None) -> Links:
        """Links for a git remote URL (https, ssh or scp-like); no links for local paths."""
        return cls(web_url(remote_url) if remote_url else None)

    @property
    def host(self) -> str:
        return _host(self.repo_url or "")

    def commit(self, sha: str) -> str | None:
        if not self.repo_url:
            return None
        return f"{self.repo_url}/{_COMMIT_PATHS[_host(self.repo_url)]}/{sha}"

    def pull_request(self, number: int | None) -> str | None:
        if not self.repo_url or number is None:
            return None
        return f"{self.repo_url}/{_PULL_REQUEST_PATHS[_host(self.repo_url)]}/{number}"

    def compare(self, from_ref: str | None, to_ref: str) -> str | None:
        if not self.repo_url or not from_ref:
            return None
        from urllib.parse import quote  # (lazy: urllib.parse costs more than the latest release's notes)

        a, b = quote(from_ref, safe=""), quote(to_ref, safe="")
        if self.host == "github":
            return f"{self.repo_url}/compare/{a}...{b}"
        if self.host == "gitlab":
            return f"{self.repo_url}/-/compare/{a}...{b}"
        return f"{self.repo_url}/branches/compare/{b}%0D{a}#diff"


_COMMIT_PATHS = {"github": "commit", "gitlab": "-/commit", "bitbucket": "commits"}
_PULL_REQUEST_PATHS = {"github": "pull", "gitlab": "-/merge_requests", "bitbucket": "pull-requests"}


@functools.cache  # a changelog asks ~20,000 times, for one or two URLs
def _host(url: str) -> str:
    if "github" in url:
        return "github"
    if "gitlab" in url:
        return "gitlab"
    return "bitbucket"


def web_url(remote_url: str) -> str | None:
    """`https://host/owner/repo` for a remote URL, without credentials or `.git`; None for paths."""
    url = remote_url.strip()
    if url.startswith(("http://", "https://", "ssh://", "git://")):
        rest = url.split("://", 1)[1]
        host_part, _, path = rest.partition("/")
        host = host_part.rsplit("@", 1)[-1].split(":", 1)[0]
    else:
        match = re.match(_SCP, url)
        if not match or "/" in match["host"]:
            return None
        host, path = match["host"], match["path"]
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[:-4]
    if not host or not path:
        return None
    return f"https://{host}/{path}"
