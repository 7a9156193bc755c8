"""Airtable access through pyairtable, with our HTTP policy mounted on its session.

Reads are batched: up to 100 records per request (one `OR(RECORD_ID()=...)` formula per page),
and `fields[]` names every mapped field so an unknown field name is refused by the read itself,
before anything is written. Writes are PATCHes of at most 10 records by record ID (replay-safe).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from pyairtable import Api
from pyairtable.formulas import EQ, OR, RECORD_ID, Field, to_formula_str

from pipe.clients.crowd import BASE_LIMIT, SharedBasePacer
from pipe.clients.http import HttpPolicy, SlidingWindowLimiter, session_with_policy
from pipe.errors import EXIT_BAD_INPUT, SyncError, UserError
from pipe.model import RecordState

log = logging.getLogger("pipe.airtable")

READ_CHUNK = 100  # records per list request (Airtable's page size limit)
WRITE_CHUNK = 10  # records per write request (Airtable's batch limit)
REQUESTS_PER_SECOND = BASE_LIMIT  # per base


class AirtableError(SyncError):
    """Airtable refused a request; carries its error type and message."""

    def __init__(self, message: str, status: int | None = None, error_type: str | None = None):
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class AirtableConfigError(UserError):
    """Airtable says the token, base, table or a field name is wrong: nothing was written."""


class AirtableAnswerError(AirtableError):
    """Airtable answered with a body that is not an Airtable answer (a record without `id`, `records` not a
    list...), or paged in a loop. Raised before anything was written it ends the run with exit 2 (most
    likely AIRTABLE_API_URL names something else); while writing, it stops the writes like a lost answer
    (`status` None: the write may have been carried out)."""

    exit_code = EXIT_BAD_INPUT


class _BadAnswer(Exception):
    """Raised inside pyairtable's calls by `_CheckedApi`; turned into AirtableAnswerError naming what the
    client was doing."""

    def __init__(self, method: str, url: str, problem: str, *, loop: bool = False):
        super().__init__(problem)
        self.method = method.upper()
        self.path = urlsplit(url).path
        self.problem = problem
        self.loop = loop


class _CheckedApi(Api):
    """pyairtable's Api, checking every successful answer's shape before pyairtable reads it (pyairtable
    assumes it: a list where it wants a mapping is an AttributeError deep inside it), and stopping a
    listing whose `offset` comes back a second time (a server paging in a loop would be read forever)."""

    def request(
        self,
        method: str,
        url: str,
        fallback: tuple[str, str] | None = None,
        options: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().request(method, url, fallback=fallback, options=options, params=params, json=json)
        except requests.JSONDecodeError:
            raise _BadAnswer(method, url, "the body is not JSON") from None
        problem = answer_problem(url, data, method)
        if problem:
            raise _BadAnswer(method, url, problem)
        return data

    def iterate_requests(
        self,
        method: str,
        url: str,
        fallback: tuple[str, str] | None = None,
        options: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        offset_field: str = "offset",
    ) -> Iterator[Any]:
        seen: set[str] = set()
        pages = super().iterate_requests(method, url, fallback, options, params, offset_field)
        for page in pages:
            offset = page.get(offset_field) if isinstance(page, dict) else None
            if isinstance(offset, str) and offset:
                if offset in seen:
                    raise _BadAnswer(method, url, f"offset {offset!r}", loop=True)
                seen.add(offset)
            yield page


def answer_problem(url: str, data: Any, method: str = "GET") -> str | None:
    """What is wrong with a successful answer's JSON for the endpoint `url`, or None. Records endpoints
    answer `{"records": [{"id", "createdTime", "fields": {...}}, ...], "offset"?}`; the schema endpoint
    `{"tables": [{"id", "name", "primaryFieldId", "fields": [{"id", "name", "type", "options"?}]}]}`; a delete
    `{"id", "deleted"}` (one record) or `{"records": [{"id", "deleted"}, ...]}`."""
    if data is None:
        return "the body is empty"
    if not isinstance(data, dict):
        return f"the body is a JSON {_json_type(data)}, not an object"
    path = urlsplit(url).path
    if "/meta/" in path:
        return _tables_problem(data) if path.rstrip("/").endswith("/tables") else None
    if method.upper() == "DELETE":
        return _deleted_problem(data)
    return _records_problem(data)


def _deleted_problem(data: dict[str, Any]) -> str | None:
    records = data.get("records", [data])
    if not isinstance(records, list):
        return f"'records' is {_described(records)}, not a list"
    for index, record in enumerate(records):
        if not isinstance(record, dict) or not isinstance(record.get("id"), str) or record.get("deleted") is not True:
            return f"records[{index}] is not a deleted record ({{'id': …, 'deleted': true}})"
    return None


def _records_problem(data: dict[str, Any]) -> str | None:
    records = data.get("records")
    if not isinstance(records, list):
        return f"'records' is {_described(records)}, not a list"
    if "offset" in data and not isinstance(data["offset"], str):
        return f"'offset' is {_described(data['offset'])}, not a string"
    for index, record in enumerate(records):
        where = f"records[{index}]"
        if not isinstance(record, dict):
            return f"{where} is {_described(record)}, not an object"
        for key in ("id", "createdTime"):
            if not isinstance(record.get(key), str) or not record[key]:
                return f"{where} has no {key!r} string"
        if not isinstance(record.get("fields"), dict):
            return f"{where}.fields is {_described(record.get('fields'))}, not a mapping"
    return None


def _tables_problem(data: dict[str, Any]) -> str | None:
    tables = data.get("tables")
    if not isinstance(tables, list):
        return f"'tables' is {_described(tables)}, not a list"
    for index, table in enumerate(tables):
        where = f"tables[{index}]"
        if not isinstance(table, dict):
            return f"{where} is {_described(table)}, not an object"
        for key in ("id", "name"):
            if not isinstance(table.get(key), str):
                return f"{where} has no {key!r} string"
        fields = table.get("fields", [])
        if not isinstance(fields, list):
            return f"{where}.fields is {_described(fields)}, not a list"
        for number, field in enumerate(fields):
            problem = _field_problem(field)
            if problem:
                return f"{where}.fields[{number}] {problem}"
    return None


def _field_problem(field: Any) -> str | None:
    if not isinstance(field, dict):
        return f"is {_described(field)}, not an object"
    for key in ("id", "name", "type"):
        if not isinstance(field.get(key), str):
            return f"has no {key!r} string"
    options = field.get("options")
    if options is None:
        return None
    if not isinstance(options, dict):
        return f"options is {_described(options)}, not an object"
    choices = options.get("choices", [])
    if not isinstance(choices, list) or not all(
        isinstance(c, dict) and isinstance(c.get("name"), str) for c in choices
    ):
        return "options.choices is not a list of {name} objects"
    return None


def _json_type(value: Any) -> str:
    names = {list: "array", str: "string", bool: "boolean", int: "number", float: "number", dict: "object"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _described(value: Any) -> str:
    return "missing" if value is None else f"a JSON {_json_type(value)}"


@dataclass(frozen=True)
class FieldInfo:
    id: str
    name: str
    type: str
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSchema:
    id: str
    name: str
    primary_field: str
    fields: dict[str, FieldInfo]  # by name
    views: tuple[tuple[str, str], ...] = ()  # (id, name) of each view


def airtable_policy(
    rate_limit_wait: float,
    deadline: float | None = None,
    *,
    requests_per_second: float = REQUESTS_PER_SECOND,
    window: float = 1.0,
) -> HttpPolicy:
    """Airtable's pace: never more than the base's 5 requests in any window, this run's share of the base
    (AIRTABLE_REQUESTS_PER_SECOND) spaced evenly, and after a 429 the lockout waited out as a crowd of
    pipelines should (pipe.clients.crowd). `window` is one second; tests scale it with everything else."""
    limiter = SlidingWindowLimiter(REQUESTS_PER_SECOND, window)
    pacer = SharedBasePacer(ceiling=requests_per_second, window=window)

    def replay_safe(request: requests.PreparedRequest) -> bool:
        # POST .../listRecords is a read; other POSTs create records and must never be replayed.
        method = (request.method or "").upper()
        return method != "POST" or (request.path_url or "").split("?")[0].endswith("/listRecords")

    return HttpPolicy(
        service="Airtable",
        limiters=lambda _request: (limiter,),
        rate_limit_wait=rate_limit_wait,
        replay_safe=replay_safe,
        deadline=deadline,
        pacer=pacer,
        max_refusals=20,  # a crowd of pipelines may cause several lockouts; each is waited out
    )


class AirtableClient:
    def __init__(self, token: str, base_id: str, table: str, api_url: str, policy: HttpPolicy):
        self.base_id = base_id
        self.table_name = table
        self.policy = policy
        # pyairtable's type says int seconds; requests takes floats
        timeout: Any = (policy.connect_timeout, policy.read_timeout)
        self.api = _CheckedApi(token, endpoint_url=api_url, retry_strategy=None, timeout=timeout)
        session_with_policy(policy, self.api.session)
        self.table = self.api.table(base_id, table)

    # -- reads ---------------------------------------------------------------------------------

    def schema(self, variable: str = "AIRTABLE_TABLE") -> TableSchema | None:
        """The table's schema from the Meta API, or None when the token may not read schemas. `variable` names
        the setting a missing table came from, for the message."""
        try:
            data = self.api.request("GET", self.api.build_url(f"meta/bases/{self.base_id}/tables"))
        except requests.RequestException as exc:
            if exc.response is not None and exc.response.status_code in (403, 404):
                log.debug(
                    "the token cannot read the base schema (%s); fields are checked by the read",
                    exc.response.status_code,
                )
                return None
            raise self._error(exc, "reading the base schema") from None
        except _BadAnswer as bad:
            raise self._bad_answer(bad, "reading the base schema") from None
        for table in data.get("tables", []):
            if self.table_name in (table.get("id"), table.get("name")):
                fields = {
                    f["name"]: FieldInfo(
                        id=f["id"],
                        name=f["name"],
                        type=f["type"],
                        choices=tuple(c["name"] for c in (f.get("options") or {}).get("choices", [])),
                    )
                    for f in table.get("fields", [])
                }
                primary = next((f.name for f in fields.values() if f.id == table.get("primaryFieldId")), "")
                views = tuple((str(v.get("id", "")), str(v.get("name", ""))) for v in table.get("views") or [])
                return TableSchema(
                    id=table["id"], name=table["name"], primary_field=primary, fields=fields, views=views
                )
        raise AirtableConfigError(
            f"{variable}: there is no table {self.table_name!r} in base {self.base_id}; "
            f"tables there: {', '.join(t.get('name', '?') for t in data.get('tables', []))}"
        )

    def records_by_id(self, record_ids: Sequence[str], fields: Sequence[str]) -> dict[str, RecordState]:
        found: dict[str, RecordState] = {}
        for chunk in _chunks(record_ids, READ_CHUNK):
            formula = OR(*(EQ(RECORD_ID(), rid) for rid in chunk)) if len(chunk) > 1 else EQ(RECORD_ID(), chunk[0])
            for record in self._list(to_formula_str(formula), fields, "reading records by ID"):
                found[record["id"]] = RecordState(record_id=record["id"], fields=record.get("fields", {}))
        return found

    def records_by_key(
        self, key_field: str, keys: Sequence[str], fields: Sequence[str]
    ) -> dict[str, list[RecordState]]:
        found: dict[str, list[RecordState]] = {}
        for chunk in _chunks(keys, READ_CHUNK):
            terms = [EQ(Field(key_field), key) for key in chunk]
            formula = OR(*terms) if len(terms) > 1 else terms[0]
            for record in self._list(to_formula_str(formula), [*fields, key_field], f"reading records by {key_field}"):
                key = record.get("fields", {}).get(key_field)
                state = RecordState(record_id=record["id"], fields=record.get("fields", {}), key=key)
                found.setdefault(str(key), []).append(state)
        return found

    def records_with_ids(self, record_ids: Sequence[str], fields: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Records as Airtable gives them (`id`, `createdTime`, `fields`) by ID, with only `fields`.
        IDs that match no record are absent; an unknown field name is refused by the read itself."""
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(list(dict.fromkeys(record_ids)), READ_CHUNK):
            formula = OR(*(EQ(RECORD_ID(), rid) for rid in chunk)) if len(chunk) > 1 else EQ(RECORD_ID(), chunk[0])
            for record in self._list(to_formula_str(formula), fields, f"reading records of {self.table_name!r}"):
                found[record["id"]] = record
        return found

    def all_records(self, fields: Sequence[str], doing: str) -> list[dict[str, Any]]:
        """Every record of the table, with only `fields`: one request per 100 records."""
        return self._list(None, fields, doing)

    def records_in_view(self, view: str, fields: Sequence[str]) -> list[dict[str, Any]]:
        """Every record a view of the table shows (its filters applied), in its order, with only `fields`."""
        return self._list(None, fields, f"reading the records of view {view!r}", view=view)

    def _list(
        self, formula: str | None, fields: Sequence[str], doing: str, view: str | None = None
    ) -> list[dict[str, Any]]:
        options: dict[str, Any] = {"formula": formula} if formula is not None else {}
        if view is not None:
            options["view"] = view
        try:
            records = self.table.all(fields=list(dict.fromkeys(fields)), page_size=READ_CHUNK, **options)
        except requests.RequestException as exc:
            raise self._error(exc, doing) from None
        except _BadAnswer as bad:
            raise self._bad_answer(bad, doing) from None
        return [dict(record) for record in records]

    def latest(self, fields: Sequence[str], sort_field: str, limit: int, doing: str) -> list[dict[str, Any]]:
        """The `limit` records last in `sort_field`'s order (descending), with only `fields`."""
        try:
            records = self.table.all(
                fields=list(dict.fromkeys(fields)), sort=[f"-{sort_field}"], max_records=limit, page_size=READ_CHUNK
            )
        except requests.RequestException as exc:
            raise self._error(exc, doing) from None
        except _BadAnswer as bad:
            raise self._bad_answer(bad, doing) from None
        return [dict(record) for record in records]

    # -- writes --------------------------------------------------------------------------------

    def update(self, updates: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """PATCH up to 10 records by ID (PATCH leaves unmentioned fields alone)."""
        if len(updates) > WRITE_CHUNK:
            raise ValueError(f"at most {WRITE_CHUNK} records per request")
        try:
            changes: list[Any] = [{"id": rid, "fields": f} for rid, f in updates]
            result = self.table.batch_update(changes, typecast=False)
        except requests.RequestException as exc:
            raise self._error(exc, "updating records") from None
        except _BadAnswer as bad:
            raise self._bad_answer(bad, "updating records") from None
        return [dict(record) for record in result]

    def delete(self, record_id: str) -> bool:
        """DELETE one record by ID (replay-safe). False when it is gone already (another run deleted it)."""
        try:
            self.table.delete(record_id)
        except requests.RequestException as exc:
            response = getattr(exc, "response", None)
            status = response.status_code if response is not None else None
            if (status, _error_body(response)[0]) in ((404, "MODEL_ID_NOT_FOUND"), (422, "ROW_DOES_NOT_EXIST")):
                return False
            raise self._error(exc, "deleting a record") from None
        return True

    # -- other tables of the same base (releases, deployments) -----------------------------------

    def for_table(self, table: str) -> AirtableClient:
        """A client for another table of the same base, sharing the session and so the base's pace."""
        sibling = object.__new__(AirtableClient)
        sibling.base_id, sibling.table_name, sibling.policy, sibling.api = self.base_id, table, self.policy, self.api
        sibling.table = self.api.table(self.base_id, table)
        return sibling

    def find(self, formula: str, fields: Sequence[str], doing: str) -> list[dict[str, Any]]:
        """All records matching an Airtable formula, with only `fields`."""
        return self._list(formula, fields, doing)

    def upsert(self, records: Sequence[dict[str, Any]], merge_on: Sequence[str]) -> list[dict[str, Any]]:
        """Upsert up to 10 records on natural-key fields: a PATCH with performUpsert, safe to replay."""
        if len(records) > WRITE_CHUNK:
            raise ValueError(f"at most {WRITE_CHUNK} records per request")
        try:
            result = self.table.batch_upsert([{"fields": r} for r in records], key_fields=list(merge_on))
        except requests.RequestException as exc:
            raise self._error(exc, "upserting records") from None
        except _BadAnswer as bad:
            raise self._bad_answer(bad, "upserting records") from None
        return [dict(record) for record in result.get("records", [])]

    # -- preflight (pipe.preflight): raw answers, refusals keep their status and error type ----------

    def whoami(self) -> dict[str, Any]:
        """`GET /v0/meta/whoami`: `id`, `email` (with user.email:read) and `scopes` (OAuth tokens only: a
        personal access token's scopes cannot be read, only probed)."""
        return self._probe(lambda: self.api.request("GET", self.api.build_url("meta/whoami")), "checking the token")

    def base_tables(self) -> list[dict[str, Any]]:
        """Every table of the base as the Meta API describes it (needs schema.bases:read)."""
        url = self.api.build_url(f"meta/bases/{self.base_id}/tables")
        data = self._probe(lambda: self.api.request("GET", url), "reading the base schema")
        return list(data.get("tables", []))

    def sample_record(self, fields: Sequence[str]) -> dict[str, Any] | None:
        """One record with only `fields` (None when the table is empty); an unknown name is a 422."""
        names = list(dict.fromkeys(fields))
        return self._probe(lambda: self.table.first(fields=names), f"reading a record of {self.table_name!r}")

    def patch_record(self, record_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        """PATCH one record with exactly `fields` (typecast off); unmentioned fields are left alone."""
        update: list[Any] = [{"id": record_id, "fields": fields}]
        result = self._probe(lambda: self.table.batch_update(update, typecast=False), "probing write access")
        return result[0] if result else {}

    def _probe(self, call, doing: str) -> Any:
        try:
            return call()
        except requests.HTTPError as exc:
            error_type, message = _error_body(exc.response)
            status = exc.response.status_code if exc.response is not None else None
            raise AirtableError(
                f"Airtable answered {status} {error_type} while {doing}: {message}".replace("  ", " "),
                status=status,
                error_type=error_type,
            ) from None
        except requests.RequestException as exc:
            raise AirtableError(
                f"Airtable at {self.api.endpoint_url} could not be reached while {doing} ({type(exc).__name__})"
            ) from None
        except _BadAnswer as bad:
            raise self._bad_answer(bad, doing) from None

    # -- errors --------------------------------------------------------------------------------

    def _bad_answer(self, bad: _BadAnswer, doing: str) -> AirtableAnswerError:
        request = f"{bad.method} {bad.path}"
        check = (
            f"Check that AIRTABLE_API_URL ({self.api.endpoint_url}) is the Airtable API, or a proxy that passes "
            "its answers on unchanged."
        )
        if bad.loop:
            return AirtableAnswerError(
                f"Airtable returned the same offset twice while {doing} ({request}, {bad.problem}): the server "
                f"pages in a loop, so the listing was stopped. {check}"
            )
        return AirtableAnswerError(
            f"Airtable answered {request} with a body that is not an Airtable answer while {doing}: "
            f"{bad.problem}. {check}"
        )

    def _error(self, exc: requests.RequestException, doing: str) -> Exception:
        if not isinstance(exc, requests.HTTPError):
            # No answer at all (refused, dropped, timed out), after the policy's retries: a sync failure
            # with a readable message, never a traceback.
            return AirtableError(
                f"Airtable at {self.api.endpoint_url} could not be reached while {doing} "
                f"({type(exc).__name__}, after retrying). Check AIRTABLE_API_URL and the network; "
                "a re-run writes what is left."
            )
        response = exc.response
        status = response.status_code if response is not None else None
        error_type, message = _error_body(response)
        where = f"table {self.table_name!r} of base {self.base_id}"
        if status == 401:
            return AirtableConfigError(
                f"AIRTABLE_TOKEN: Airtable refused the token while {doing} (401 {error_type}). "
                "Check that the secured variable holds a current personal access token."
            )
        if status == 403:
            said = f" (Airtable said: {message.rstrip('.')}.)" if message else ""
            return AirtableConfigError(
                f"Airtable refused access to {where} while {doing} (403 {error_type}). "
                f"{_forbidden_hint(doing, self.table_name)}{said}"
            )
        if status == 404:
            return AirtableConfigError(
                f"AIRTABLE_BASE_ID: Airtable found no base {self.base_id!r} while {doing} (404). "
                "Copy the base ID (app...) from the base's URL."
            )
        if status == 422 and error_type == "UNKNOWN_FIELD_NAME":
            return AirtableConfigError(
                f"{message} in {where}. Create the field, or map or disable it in the config file's "
                "airtable.fields section."
            )
        return AirtableError(
            f"Airtable answered {status} {error_type or ''} while {doing}: {message}",
            status=status,
            error_type=error_type,
        )


def _forbidden_hint(doing: str, table: str) -> str:
    """What to fix after a 403. A refused write means reads worked: the token lacks the write scope (or its
    user may only read). A refused read means the base, the table or the read scope."""
    if doing.startswith(("updating", "upserting", "creating", "deleting")):
        return (
            "Airtable let the token read but not write: add the scope data.records:write to the token "
            "(and give its user editor access to the base)."
        )
    return (
        f"Check AIRTABLE_BASE_ID and the table name {table!r} (the variable that names it, e.g. AIRTABLE_TABLE), "
        "that the base is added to the token, and that the token has the scope data.records:read."
    )


def _error_body(response: requests.Response | None) -> tuple[str, str]:
    if response is None:
        return "", "no response"
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("type", "")), str(error.get("message", ""))
    return str(error or ""), ""


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
