"""The Bitbucket client's policy (what may be replayed) and its messages for refusals."""

from __future__ import annotations

import json

import pytest
import requests

from pipe.clients.bitbucket import bitbucket_policy, refusal_message, token_api_url


def answer(status: int, body: object) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    return response


def test_a_token_without_the_scope_is_told_which_scope_to_add():
    body = {
        "type": "error",
        "error": {
            "message": "Your credentials lack one or more required privilege scopes.",
            "detail": {"required": ["pullrequest"], "granted": ["repository"]},
        },
    }
    message = refusal_message(answer(403, body), "commenting on pull request #7", via_proxy=False, token=True)
    assert message == (
        "BITBUCKET_ACCESS_TOKEN lacks the scope pullrequest needed for commenting on pull request #7 "
        "(403: it has repository); create a repository access token with the `pullrequest` scope"
    )


def test_the_plain_text_429_and_other_refusals_read_clearly():
    limit = refusal_message(
        answer(429, "Rate limit for this resource has been exceeded"), "x", via_proxy=True, token=False
    )
    assert "1,000 requests per hour per token" in limit
    proxy = refusal_message(answer(403, {"error": {"message": "Forbidden"}}), "writing", via_proxy=True, token=False)
    assert proxy == "the Pipelines auth proxy refused writing (403: Forbidden)"
    anonymous = refusal_message(
        answer(401, {"error": {"message": "Authentication required"}}), "x", via_proxy=False, token=False
    )
    assert "set BITBUCKET_ACCESS_TOKEN" in anonymous


def test_a_token_goes_over_https_to_bitbucket_and_as_given_elsewhere():
    assert token_api_url("http://api.bitbucket.org/2.0") == "https://api.bitbucket.org/2.0"
    assert token_api_url("http://127.0.0.1:5000/2.0") == "http://127.0.0.1:5000/2.0"


@pytest.mark.parametrize(
    ("method", "path", "safe"),
    [
        ("GET", "/2.0/repositories/a/b/pullrequests/1/comments", True),
        ("PUT", "/2.0/repositories/a/b/commit/c/reports/r", True),
        ("POST", "/2.0/repositories/a/b/commit/c/reports/r/annotations", True),
        ("POST", "/2.0/repositories/a/b/pullrequests/1/comments", False),
        ("DELETE", "/2.0/repositories/a/b/pullrequests/1/comments/5", True),
    ],
)
def test_only_requests_that_cannot_duplicate_are_replayed(method, path, safe):
    request = requests.Request(method, "http://api.bitbucket.org" + path).prepare()
    assert bitbucket_policy().replay_safe(request) is safe
