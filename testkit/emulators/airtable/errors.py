"""Airtable error envelopes (reference §3).

Every error the emulator returns is an :class:`ApiError`. Bodies follow the reference catalogue;
where the reference marks a ``type`` or message as unknown, the choice made here is noted.
"""

from __future__ import annotations

from typing import Any

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

INVALID_PERMISSIONS_MESSAGE = (
    "Invalid permissions, or the requested model was not found. Check that both your user and "
    "your token have the required permissions, and that the model names and/or ids are correct."
)
INVALID_RECORDS_MESSAGE = (
    'You must provide an array of up to 10 record objects, each with an "id" ID field and a '
    '"fields" object for cell values.'
)
RATE_LIMIT_MESSAGE = "Rate limit exceeded. Please try again later"  # no trailing period (§3.2)
RETRIABLE_MESSAGE = "Server encountered an error while processing your request, and it is safe to retry the request"
INVALID_REQUEST_MESSAGE = "Invalid request: parameter validation failed. Check your request data."


class ApiError(Exception):
    """An HTTP error answer: status, the value of ``"error"`` and extra headers."""

    def __init__(
        self,
        status: int,
        error: str | dict[str, str],
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}")
        self.status = status
        self.error = error
        self.headers = dict(headers or {})

    @property
    def body(self) -> dict[str, Any]:
        return {"error": self.error}


def typed(status: int, type_: str, message: str | None = None) -> ApiError:
    error = {"type": type_}
    if message is not None:
        error["message"] = message
    return ApiError(status, error)


def invalid_json() -> ApiError:
    # 400: the type is not published (reference §3.2, Unknowns); prose from the errors page.
    return typed(
        400,
        "INVALID_REQUEST_BODY",
        "The request encoding is invalid; the request can't be parsed as a valid JSON.",
    )


def authentication_required() -> ApiError:
    return typed(401, "AUTHENTICATION_REQUIRED", "Authentication required")


def invalid_permissions() -> ApiError:
    return typed(403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND", INVALID_PERMISSIONS_MESSAGE)


def not_permitted(message: str) -> ApiError:
    return typed(403, "INVALID_PERMISSIONS", message)


def not_found(style: str = "bare") -> ApiError:
    # §3.2: the bare string form for unknown bases; {"type":"NOT_FOUND"} without message elsewhere.
    return ApiError(404, "NOT_FOUND") if style == "bare" else typed(404, "NOT_FOUND")


def record_not_found() -> ApiError:
    return typed(404, "MODEL_ID_NOT_FOUND", "Record not found")


def payload_too_large() -> ApiError:
    # 413: no body documented; the message is the errors page prose.
    return typed(
        413,
        "REQUEST_TOO_LARGE",
        "The request exceeded the maximum allowed payload size. You shouldn't encounter this under normal use.",
    )


def url_too_long(length: int) -> ApiError:
    # Status and body are guesses; the 16,000 character limit is official (§1.2).
    return typed(414, "URL_TOO_LONG", f"URL length {length} exceeds the maximum of 16000 characters")


def invalid_request(message: str = INVALID_REQUEST_MESSAGE) -> ApiError:
    return typed(422, "INVALID_REQUEST_UNKNOWN", message)


def unknown_field(name: str) -> ApiError:
    return typed(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')


def invalid_records(message: str = INVALID_RECORDS_MESSAGE) -> ApiError:
    return typed(422, "INVALID_RECORDS", message)


def too_many_created(count: int) -> ApiError:
    # §1.4: message reported; type unconfirmed ("probably INVALID_RECORDS").
    return invalid_records(f"A maximum of 10 records can be created per request but you have provided {count}.")


def row_does_not_exist(record_id: str) -> ApiError:
    return typed(422, "ROW_DOES_NOT_EXIST", f"Record ID {record_id} does not exist in this table")


def missing_fields() -> ApiError:
    return typed(422, "INVALID_REQUEST_MISSING_FIELDS", 'Could not find field "fields" in the request body')


def computed_field(name: str) -> ApiError:
    return typed(
        422,
        "INVALID_VALUE_FOR_COLUMN",
        f'Field "{name}" cannot accept a value because the field is computed',
    )


def invalid_value(name: str) -> ApiError:
    return typed(422, "INVALID_VALUE_FOR_COLUMN", f'Field "{name}" cannot accept the provided value')


def invalid_record_id_value(value: str) -> ApiError:
    return typed(422, "INVALID_VALUE_FOR_COLUMN", f'Value "{value}" is not a valid record ID.')


def invalid_choice(option: str) -> ApiError:
    # Message not published; this is the community-reported text (§3.2).
    return typed(
        422,
        "INVALID_MULTIPLE_CHOICE_OPTIONS",
        f'Insufficient permissions to create new select option ""{option}""',
    )


def invalid_formula(detail: str) -> ApiError:
    return typed(422, "INVALID_FILTER_BY_FORMULA", f"The formula for filtering records is invalid: {detail}")


def iterator_not_available() -> ApiError:
    return typed(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE")  # no message (§1.2)


def rate_limited() -> ApiError:
    return typed(429, "RATE_LIMIT_REACHED", RATE_LIMIT_MESSAGE)


def server_error(status: int) -> ApiError:
    """Default bodies for injected 5xx answers (only 503 is documented, §3.2)."""
    if status == 429:
        return rate_limited()
    if status == 503:
        return typed(503, "RETRIABLE_ERROR", RETRIABLE_MESSAGE)
    if status == 502:
        return typed(502, "BAD_GATEWAY", "Bad gateway. Requests are safe to retry.")
    if status == 500:
        return typed(500, "SERVER_ERROR", "The server encountered an unexpected condition.")
    return typed(status, "INJECTED_FAULT", f"Injected HTTP {status}")
