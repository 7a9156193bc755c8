"""Bitbucket's error shapes and the messages seen on the live API (docs/emulators/bitbucket.md, "Errors").

The spec's `definitions.error` is `{"type": "error", "error": {"message", "detail"?, "data"?}}`. The
live 403 for a missing scope carries an *object* in `detail` (`{"required": [...], "granted": [...]}`),
which the spec's `detail: string` does not allow; `spec_fixes` widens it. A 429 is not JSON at all.
"""

from __future__ import annotations

from typing import Any

# Observed live: a 403 for a token without the operation's scope (backstage/backstage#22383).
MISSING_SCOPES = "Your credentials lack one or more required privilege scopes."
# Observed live: a 401 for a token that is not valid for the endpoint (avivsinai/bitbucket-cli#30).
INVALID_TOKEN = "Token is invalid, expired, or not supported for this endpoint."
# Observed live: a bare 403 (avivsinai/bitbucket-cli#30).
FORBIDDEN = "Forbidden"
# Observed live: the 429 body is this plain text (SharpBucket#108, renovate#3024, Atlassian KB).
RATE_LIMITED_TEXT = "Rate limit for this resource has been exceeded"
# Chosen wording (no live sample in the reference): see the docs' "Errors" table.
NO_CREDENTIALS = "Authentication required: send Authorization: Bearer <access token>."


def error_body(message: str, detail: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    inner: dict[str, Any] = {"message": message}
    if detail is not None:
        inner["detail"] = detail
    if data is not None:
        inner["data"] = data
    return {"type": "error", "error": inner}


class ApiError(Exception):
    """Raised anywhere below the server; becomes a response.

    `undeclared_ok` marks answers the real API gives although the operation does not declare the status
    (401/403/429 on most operations, 400 for a body the spec rejects), so response validation accepts them.
    `text` replaces the JSON body with a plain-text one (the 429).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        detail: Any = None,
        data: dict[str, Any] | None = None,
        undeclared_ok: bool = False,
        headers: dict[str, str] | None = None,
        text: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.data = data
        self.undeclared_ok = undeclared_ok
        self.headers = dict(headers or {})
        self.text = text

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.detail, self.data)


def bad_request(message: str, detail: Any = None) -> ApiError:
    return ApiError(400, message, detail=detail, undeclared_ok=True)


def not_found(message: str, detail: Any = None) -> ApiError:
    return ApiError(404, message, detail=detail, undeclared_ok=True)


def forbidden(message: str = FORBIDDEN, detail: Any = None) -> ApiError:
    return ApiError(403, message, detail=detail, undeclared_ok=True)
