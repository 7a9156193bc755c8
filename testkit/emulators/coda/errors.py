"""The one error shape Coda uses for every failure: `{statusCode, statusMessage, message}`."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

# Messages observed on the live API (see the reference, section 5.3).
UNAUTHORIZED = "Unauthorized"
ROW_NOT_FOUND = "Could not find a row with the specified ID or name."
DOC_NOT_UP_TO_DATE = "Doc is not yet up to date."
ENTITY_TOO_LARGE = "request entity too large"
INVALID_PAGE_TOKEN = "Invalid pageToken."
# Webhook-invoked automations: the real messages are unknown (nobody has recorded them); these say what happened.
RULE_NOT_FOUND = "Could not find an automation rule with the specified ID."
RULE_OFF = "The automation rule is turned off; turn it on to trigger it with a webhook."
NATURAL_SORT = (
    "Natural sorting is only available for visible rows. When using sortBy=natural, pass visibleOnly=true "
    "or omit the visibleOnly param which has the same effect.(The natural ordering of a table is only "
    "meaningfully defined for visible rows.)"
)


def status_message(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    phrase = status_message(status)
    return {"statusCode": status, "statusMessage": phrase, "message": message or phrase}


class ApiError(Exception):
    """Raised by handlers; the server turns it into an error response.

    `undeclared_ok` marks answers the real API gives although the operation does not declare the status
    (e.g. the `X-Coda-Doc-Version` 400 on getRow), so response validation does not flag them.
    """

    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        undeclared_ok: bool = False,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message or status_message(status))
        self.status = status
        self.message = message or status_message(status)
        self.undeclared_ok = undeclared_ok
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.status, self.message)


def bad_request(message: str, *, undeclared_ok: bool = False) -> ApiError:
    return ApiError(400, message, undeclared_ok=undeclared_ok)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def forbidden(message: str = "The API token does not grant access to this resource.") -> ApiError:
    return ApiError(403, message)
