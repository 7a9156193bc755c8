"""Who is calling, and may they: Bearer access tokens with scopes, and the auth proxy's allow-list.

Scopes follow Bitbucket's OAuth scope names (reference §9). A scope grants the scopes it implies, as
Atlassian's scope page says (quoted in gitpod-io/gitpod#12853: "pullrequest:write … implies
repository:write"; getsentry/sentry#11087: "The repository scope is included in the pullrequest
scope"); the rest follow its ":write implies read" pattern. `repository:admin` implies nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .config import ProxyConfig
from .errors import INVALID_TOKEN, MISSING_SCOPES, NO_CREDENTIALS, ApiError, forbidden
from .state import Account, Token, World

IMPLIES: Mapping[str, tuple[str, ...]] = {
    "repository:write": ("repository",),
    "pullrequest": ("repository",),
    "pullrequest:write": ("pullrequest", "repository:write"),
    "pipeline:write": ("pipeline",),
    "pipeline:variable": ("pipeline",),
    "runner:write": ("runner",),
    "issue:write": ("issue",),
    "snippet:write": ("snippet",),
    "account:write": ("account",),
    "team:write": ("team",),
    "project:admin": ("project",),
}
REPOSITORY_TOKEN_SCOPES = frozenset(
    {
        "repository",
        "repository:write",
        "repository:admin",
        "repository:delete",
        "pullrequest",
        "pullrequest:write",
        "webhook",
        "pipeline",
        "pipeline:write",
        "pipeline:variable",
        "runner",
        "runner:write",
    }
)
WORKSPACE_TOKEN_SCOPES = REPOSITORY_TOKEN_SCOPES | {"project", "project:admin", "account"}


def granted(scopes: frozenset[str]) -> frozenset[str]:
    """The scopes a token has, with everything they imply."""
    out, todo = set(scopes), list(scopes)
    while todo:
        for implied in IMPLIES.get(todo.pop(), ()):
            if implied not in out:
                out.add(implied)
                todo.append(implied)
    return frozenset(out)


@dataclass(frozen=True)
class Principal:
    """The caller of one request: a token, or the auth proxy acting for the pipeline's repository."""

    key: str  # rate-limit identity
    name: str  # shown in the request log
    account: Account
    token: Token | None  # None: the auth proxy
    proxy: ProxyConfig | None = None

    def reaches(self, workspace: str, repo_slug: str) -> bool:
        if self.token is not None:
            return self.token.reaches(workspace, repo_slug)
        assert self.proxy is not None
        return (workspace, repo_slug) == (self.proxy.workspace, self.proxy.repo_slug)


def authenticate(world: World, authorization: str | None) -> Principal:
    """A token from `Authorization: Bearer …`, else 401 (the only credential the emulator accepts)."""
    if not authorization:
        raise ApiError(401, NO_CREDENTIALS, undeclared_ok=True)
    scheme, _, value = authorization.partition(" ")
    token = world.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiError(401, INVALID_TOKEN, undeclared_ok=True)
    return Principal(f"token:{token.value}", token.name, token.account, token)


def proxy_principal(proxy: ProxyConfig, account: Account) -> Principal:
    return Principal(f"proxy:{proxy.workspace}/{proxy.repo_slug}", proxy.identity, account, None, proxy)


def check_scopes(principal: Principal, required: tuple[str, ...]) -> None:
    """403 with the live body when a token lacks any required scope (the proxy is checked elsewhere)."""
    if principal.token is None or not required:
        return
    have = granted(principal.token.scopes)
    if not set(required) <= have:
        detail = {"required": list(required), "granted": sorted(principal.token.scopes)}
        raise ApiError(403, MISSING_SCOPES, detail=detail, undeclared_ok=True)


def check_proxy(principal: Principal, family: str, params: Mapping[str, str]) -> None:
    """The proxy's allow-list: an allowed route family, on the pipeline's own repository."""
    proxy = principal.proxy
    if proxy is None:
        return
    own_repo = params.get("workspace") == proxy.workspace and params.get("repo_slug") == proxy.repo_slug
    if family in proxy.allow and own_repo:
        return
    what = "this repository" if not own_repo else f"{family.replace('_', ' ')} requests"
    raise ApiError(
        proxy.refusal_status,
        "Forbidden",
        detail=f"The Pipelines auth proxy (emulated) does not authorise {what}; "
        f"it allows {', '.join(sorted(proxy.allow))} of {proxy.workspace}/{proxy.repo_slug}.",
        undeclared_ok=True,
    )


def check_repository(principal: Principal, workspace: str, repo_slug: str) -> None:
    if not principal.reaches(workspace, repo_slug):
        raise forbidden()
