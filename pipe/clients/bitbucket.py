"""`BitbucketClient`: the few Bitbucket Cloud API 2.0 calls the pipe makes (Code Insights reports and annotations,
pull-request comments, a pull request), on a `requests` session with the shared HTTP policy mounted.

Two ways in (reference: bitbucket-api.md §10, bitbucket-pipes.md §5):

* **through the Pipelines auth proxy** (`proxy=`): plain `http://api.bitbucket.org/2.0/…` requests sent to the
  proxy at `host.docker.internal:29418`, which adds the credentials. It is only known to authorise Code Insights,
  so only the report goes this way, and no token is ever sent to it.
* **with an access token** (`token=`): `Authorization: Bearer …`, straight to the API. Plain http is only for
  the proxy, so `http://api.bitbucket.org` becomes `https://` here (`token_api_url`).

Refusals become a `BitbucketError` whose message says what to fix (a missing scope names the scope) and never
includes the token, which only lives in the session's headers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from pipe.clients.http import BudgetExceeded, HttpPolicy, SlidingWindowLimiter, session_with_policy
from pipe.errors import SyncError

log = logging.getLogger("pipe.bitbucket")

DEFAULT_API_URL = "http://api.bitbucket.org/2.0"
DEFAULT_PROXY = "http://host.docker.internal:29418"
REQUESTS_PER_HOUR = 1000  # per token (the proxy has a budget of its own): bitbucket-api.md §8
ANNOTATIONS_PER_REQUEST = 100  # bulk POST maxItems
ANNOTATIONS_PER_REPORT = 1000
PAGE_LEN = 100  # the largest page Bitbucket serves
LEAST_SCOPE = "pullrequest"  # reads pull requests and comments on them (implies `repository`)
BRANCH_SCOPE = "repository:write"  # creates branches (STAGE: start; implies `repository`, which reads them)


class BitbucketError(SyncError):
    """Bitbucket refused or failed a request after the policy's retries; `status` is None without an answer."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def bitbucket_policy(deadline: float | None = None, *, rate_limit_wait: float = 10.0) -> HttpPolicy:
    """The HTTP policy for Bitbucket: 1,000 requests per rolling hour (one limiter per client, i.e. per identity),
    few attempts (nothing Bitbucket does for the pipe is worth holding a step up), and replays only of requests
    that cannot duplicate anything.

    Bitbucket's 429 has no `Retry-After` and its window is an hour, so waiting longer than `rate_limit_wait`
    between the three attempts would only hold the step up. Replay-safe: GET, PUT and DELETE, and the
    annotations POST (a bulk upsert keyed by each annotation's external id). A comment POST is never replayed:
    it could post the comment twice.
    """
    limiter = SlidingWindowLimiter(REQUESTS_PER_HOUR, 3600.0)

    def replay_safe(request: requests.PreparedRequest) -> bool:
        method = (request.method or "").upper()
        if method == "POST":
            path = (request.path_url or "").split("?", 1)[0]
            # a branch is created once: a replay of a create that was applied is refused as "already exists"
            return path.endswith(("/annotations", "/refs/branches"))
        return method in ("GET", "HEAD", "PUT", "DELETE")

    return HttpPolicy(
        service="Bitbucket",
        limiters=lambda _request: (limiter,),
        connect_timeout=5.0,
        read_timeout=30.0,
        max_attempts=3,
        max_refusals=3,
        rate_limit_wait=rate_limit_wait,
        replay_safe=replay_safe,
        deadline=deadline,
    )


def token_api_url(api_url: str) -> str:
    """The API URL a token is sent to: https for api.bitbucket.org (the http default is for the auth proxy)."""
    parts = urlsplit(api_url)
    if parts.scheme == "http" and parts.hostname == "api.bitbucket.org":
        return urlunsplit(("https", parts.netloc, parts.path, parts.query, parts.fragment))
    return api_url


class BitbucketClient:
    """Calls on one repository (`workspace/repo_slug`), through the auth proxy or with a token."""

    def __init__(
        self,
        api_url: str,
        repo_full_name: str,
        policy: HttpPolicy,
        *,
        token: str | None = None,
        proxy: str | None = None,
    ):
        if token and proxy:
            raise ValueError("a Bitbucket client goes through the auth proxy or sends a token, not both")
        self.base = (token_api_url(api_url) if token else api_url).rstrip("/")
        workspace, _, slug = repo_full_name.partition("/")
        self.repo_path = f"/repositories/{quote(workspace, safe='')}/{quote(slug, safe='')}"
        self.repo_full_name = repo_full_name
        self.policy = policy
        self.proxy = proxy
        self.has_token = bool(token)
        self.session = session_with_policy(policy)
        self.session.headers["Accept"] = "application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"
        if proxy:
            self.session.proxies = {"http": proxy, "https": proxy}
            self.session.trust_env = False  # the proxy named here, not one from HTTP_PROXY

    @property
    def via(self) -> str:
        return f"the Pipelines auth proxy {self.proxy}" if self.proxy else self.base

    # -- Code Insights ---------------------------------------------------------------------------------

    def report(self, commit: str, report_id: str) -> dict[str, Any] | None:
        """The report, or None when the commit has none with this id."""
        found = self._request(
            "GET", self._report_path(commit, report_id), "reading the Code Insights report", ok404=True
        )
        return found if isinstance(found, dict) else None

    def put_report(self, commit: str, report_id: str, body: Mapping[str, Any]) -> None:
        self._request("PUT", self._report_path(commit, report_id), "writing the Code Insights report", json=body)

    def annotations(self, commit: str, report_id: str) -> list[dict[str, Any]]:
        path = self._report_path(commit, report_id) + "/annotations"
        return self._pages(path, {"pagelen": PAGE_LEN}, "reading the report's annotations", ok404=True) or []

    def upsert_annotations(self, commit: str, report_id: str, items: Sequence[Mapping[str, Any]]) -> int:
        """Create or update annotations by external id, 100 per request; returns the requests sent."""
        path = self._report_path(commit, report_id) + "/annotations"
        sent = 0
        for start in range(0, len(items), ANNOTATIONS_PER_REQUEST):
            chunk = list(items[start : start + ANNOTATIONS_PER_REQUEST])
            self._request("POST", path, "writing the report's annotations", json=chunk)
            sent += 1
        return sent

    def delete_annotation(self, commit: str, report_id: str, annotation_id: str) -> None:
        path = f"{self._report_path(commit, report_id)}/annotations/{quote(annotation_id, safe='')}"
        self._request("DELETE", path, "removing an outdated annotation", ok404=True)

    def _report_path(self, commit: str, report_id: str) -> str:
        return f"{self.repo_path}/commit/{quote(commit, safe='')}/reports/{quote(report_id, safe='')}"

    # -- pull requests and their comments --------------------------------------------------------------

    def pull_request(self, number: int) -> dict[str, Any] | None:
        """The pull request, or None when there is none with this number (never made, or deleted)."""
        found = self._request(
            "GET", f"{self.repo_path}/pullrequests/{number}", f"reading pull request #{number}", ok404=True
        )
        return found if isinstance(found, dict) else None

    def comments_containing(self, number: int, text: str) -> list[dict[str, Any]] | None:
        """The pull request's live comments whose raw content contains `text`, oldest first; None when the pull
        request does not exist. Filters on Bitbucket's side when it can (whether `content.raw` may be filtered
        on is not documented) and always again here, so an ignored filter costs pages, not correctness."""
        path = f"{self.repo_path}/pullrequests/{number}/comments"
        doing = f"reading the comments of pull request #{number}"
        query = {"q": f'content.raw ~ "{text}" AND deleted = false', "pagelen": PAGE_LEN}
        try:
            found = self._pages(path, query, doing, ok404=True)
        except BitbucketError as exc:
            if exc.status != 400:
                raise
            log.debug("Bitbucket refused the comment filter (%s); reading every comment instead", exc)
            found = self._pages(path, {"pagelen": PAGE_LEN}, doing, ok404=True)
        if found is None:
            return None
        return [c for c in found if not c.get("deleted") and text in ((c.get("content") or {}).get("raw") or "")]

    def create_comment(self, number: int, raw: str) -> dict[str, Any]:
        path = f"{self.repo_path}/pullrequests/{number}/comments"
        created = self._request("POST", path, f"commenting on pull request #{number}", json={"content": {"raw": raw}})
        return created if isinstance(created, dict) else {}

    def update_comment(self, number: int, comment_id: int, raw: str) -> None:
        path = f"{self.repo_path}/pullrequests/{number}/comments/{comment_id}"
        self._request("PUT", path, f"updating the comment on pull request #{number}", json={"content": {"raw": raw}})

    def delete_comment(self, number: int, comment_id: int) -> None:
        """Delete a comment; one already gone (another run deleted it) is fine."""
        path = f"{self.repo_path}/pullrequests/{number}/comments/{comment_id}"
        self._request("DELETE", path, f"removing a second comment from pull request #{number}", ok404=True)

    # -- branches (STAGE: start) -----------------------------------------------------------------------

    def branch(self, name: str) -> dict[str, Any] | None:
        """The branch, or None when the repository has none with this name."""
        path = f"{self.repo_path}/refs/branches/{quote(name, safe='')}"
        found = self._request("GET", path, f"reading branch {name!r}", ok404=True, scope=BRANCH_SCOPE)
        return found if isinstance(found, dict) else None

    def branches_starting(self, prefixes: Sequence[str]) -> list[dict[str, Any]]:
        """The branches whose name starts with one of `prefixes`, in one paged listing. Bitbucket filters with
        `name ~ "…"` (contains, any case); the prefix is checked again here, exactly."""
        if not prefixes:
            return []
        query = " OR ".join(f'name ~ "{_quoted(p)}"' for p in prefixes)
        path = f"{self.repo_path}/refs/branches"
        try:
            found = self._pages(path, {"q": query, "pagelen": PAGE_LEN}, "listing branches", scope=BRANCH_SCOPE)
        except BitbucketError as exc:
            if exc.status != 400:
                raise
            log.debug("Bitbucket refused the branch filter (%s); reading every branch instead", exc)
            found = self._pages(path, {"pagelen": PAGE_LEN}, "listing branches", scope=BRANCH_SCOPE)
        return [b for b in found or [] if str(b.get("name") or "").startswith(tuple(prefixes))]

    def create_branch(self, name: str, commit: str) -> dict[str, Any]:
        """Create `name` at `commit` (a full hash); returns the branch."""
        body = {"name": name, "target": {"hash": commit}}
        path = f"{self.repo_path}/refs/branches"
        created = self._request("POST", path, f"creating branch {name!r}", json=body, scope=BRANCH_SCOPE)
        return created if isinstance(created, dict) else {}

    # -- transport -------------------------------------------------------------------------------------

    def _pages(
        self, path: str, params: Mapping[str, Any], doing: str, *, ok404: bool = False, scope: str = LEAST_SCOPE
    ) -> list[dict[str, Any]] | None:
        """Every value of a paged list, following `next` (opaque: never built by hand); None when the list does
        not exist (404, with `ok404`)."""
        values: list[dict[str, Any]] = []
        url: str | None = self.base + path
        query: Mapping[str, Any] | None = params
        while url:
            page = self._request("GET", url, doing, params=query, ok404=ok404, absolute=True, scope=scope)
            if page is None and ok404:
                return None
            page = page if isinstance(page, dict) else {}
            values.extend(page.get("values", []))
            url, query = page.get("next"), None
        return values

    def _request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        ok404: bool = False,
        absolute: bool = False,
        scope: str = LEAST_SCOPE,
    ) -> Any:
        url = path if absolute else self.base + path
        try:
            response = self.session.request(
                method, url, params=params, json=json, timeout=(self.policy.connect_timeout, self.policy.read_timeout)
            )
        except BudgetExceeded:
            raise
        except requests.RequestException as exc:
            raise BitbucketError(
                f"Bitbucket could not be reached through {self.via} while {doing} ({type(exc).__name__})"
            ) from None
        if response.status_code == 404 and ok404:
            return None
        if response.status_code >= 400:
            raise BitbucketError(
                refusal_message(response, doing, via_proxy=bool(self.proxy), token=self.has_token, scope=scope),
                response.status_code,
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise BitbucketError(
                f"Bitbucket answered {response.status_code} with a body that is not JSON while {doing}"
            ) from None


def refusal_message(
    response: requests.Response, doing: str, *, via_proxy: bool, token: bool, scope: str = LEAST_SCOPE
) -> str:
    """What a Bitbucket refusal means for the user, in one sentence that says what to fix; `scope`: the least
    scope a token needs for the request."""
    status = response.status_code
    message, detail = _error_parts(response)
    said = f": {message}" if message else ""
    if status == 429:
        return (
            f"Bitbucket's rate limit ({REQUESTS_PER_HOUR:,} requests per hour per token) is used up while {doing}; "
            "it frees up within the hour and the next run catches up"
        )
    if status == 401:
        if not token:
            return f"Bitbucket asked for credentials while {doing} (401{said}): set BITBUCKET_ACCESS_TOKEN"
        return f"Bitbucket did not accept BITBUCKET_ACCESS_TOKEN while {doing} (401{said}): it is invalid or expired"
    if status == 403 and via_proxy:
        return f"the Pipelines auth proxy refused {doing} (403{said})"
    if status == 403 and isinstance(detail, Mapping) and detail.get("required"):
        required = ", ".join(map(str, detail.get("required") or []))
        granted = ", ".join(map(str, detail.get("granted") or [])) or "none"
        return (
            f"BITBUCKET_ACCESS_TOKEN lacks the scope {required} needed for {doing} (403: it has {granted}); "
            f"create a repository access token with the `{scope}` scope"
        )
    if status == 403:
        return (
            f"Bitbucket refused {doing} (403{said}): BITBUCKET_ACCESS_TOKEN needs the `{scope}` scope on "
            "this repository"
        )
    if status == 404:
        return f"Bitbucket found nothing while {doing} (404{said})"
    return f"Bitbucket answered {status} while {doing}{said}"


def _quoted(text: str) -> str:
    """`text` inside a double-quoted string of Bitbucket's query language."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _error_parts(response: requests.Response) -> tuple[str, Any]:
    """`error.message` and `error.detail` of Bitbucket's error shape; plain-text bodies (its 429) as the message."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:200], None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", None
    return str(error.get("message") or ""), error.get("detail")
