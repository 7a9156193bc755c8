"""`CodaClient`: one method per Coda API operation the pipe needs, on a `requests` session with the Coda HTTP
policy mounted (pipe.clients.coda.pacing). Refusals become the errors of pipe.clients.coda.errors, with messages
that say what to fix and never include the token (it only lives in the session's Authorization header).

Every mutation answers 202 + `requestId` and is applied later; `/mutationStatus/{requestId}` says when. List
endpoints: follow `nextPageToken` (send only the token; Coda ignores anything next to it).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

import requests

from pipe.clients.coda.automation import AUTOMATION, automation_error
from pipe.clients.coda.batching import RowEdit, upsert_body
from pipe.clients.coda.errors import CodaConfigError, CodaError, CodaStaleRead
from pipe.clients.coda.pacing import coda_policy
from pipe.clients.coda.types import (
    CodaColumn,
    CodaPage,
    CodaRow,
    CodaTable,
    CodaUser,
    MutationPolling,
    MutationStatus,
    PageLine,
)
from pipe.clients.http import BudgetExceeded, HttpPolicy, session_with_policy

log = logging.getLogger("pipe.coda")

DEFAULT_API_URL = "https://coda.io/apis/v1"
ROWS_PAGE_SIZE = 500  # listRows has no documented maximum; Coda clamps silently, we follow nextPageToken
COLUMNS_PAGE_SIZE = 100  # listColumns maximum
CONTENT_PAGE_SIZE = 500  # listPageContent maximum
SELECT_OPTIONS_CAP = 5000  # Coda lists only the first 5000 options of a select column
STALE_DOC = "Doc is not yet up to date."


class CodaClient:
    def __init__(
        self,
        token: str,
        doc_id: str,
        api_url: str = DEFAULT_API_URL,
        policy: HttpPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.doc_id = doc_id
        self.base = str(api_url).rstrip("/")
        self.policy = policy or coda_policy()
        self.session = session_with_policy(self.policy)
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["Accept"] = "application/json"
        self._sleep = sleep
        self._clock = clock
        self.write_proven = False  # a write probe of this doc succeeded (targets of one run share the client)

    # -- transport -------------------------------------------------------------------------------

    def _doc_path(self, *segments: str) -> str:
        return "/docs/" + quote(self.doc_id, safe="") + "".join("/" + quote(s, safe="") for s in segments)

    def _request(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        what: str = "",
        missing_ok: bool = False,
    ) -> Any:
        send_headers = dict(headers or {})
        if body is not None:
            send_headers["Content-Type"] = "application/json"
        try:
            response = self.session.request(
                method,
                self.base + path,
                params=params,
                data=body,
                headers=send_headers,
                timeout=(self.policy.connect_timeout, self.policy.read_timeout),
            )
        except BudgetExceeded:
            raise
        except requests.RequestException as exc:
            raise CodaError(f"Coda could not be reached while {doing} ({type(exc).__name__})") from None
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code >= 400:
            raise self._error(response, doing, what)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CodaError(
                f"Coda answered {response.status_code} with a body that is not JSON while {doing}"
            ) from None

    def _pages(
        self, path: str, params: dict[str, Any], doing: str, what: str = "", headers: dict[str, str] | None = None
    ) -> Iterable[dict[str, Any]]:
        """Items of a list endpoint, page by page (the token carries the query, so only it is sent)."""
        query: dict[str, Any] = dict(params)
        while True:
            data = self._request("GET", path, doing, params=query, headers=headers, what=what) or {}
            yield from data.get("items", [])
            token = data.get("nextPageToken")
            if not token:
                return
            query = {"pageToken": token}

    # -- identity --------------------------------------------------------------------------------

    def whoami(self) -> CodaUser:
        """Checks the token (401 -> CodaConfigError naming CODA_API_TOKEN)."""
        data = self._request("GET", "/whoami", "checking the token")
        return CodaUser(
            name=str(data.get("name", "")),
            login_id=str(data.get("loginId", "")),
            scoped=bool(data.get("scoped", False)),
            token_name=str(data.get("tokenName", "")),
        )

    def doc(self) -> dict[str, Any]:
        """The doc's metadata (`getDoc`): checks that the doc exists and the token can see it."""
        return self._request("GET", self._doc_path(), f"reading Coda doc {self.doc_id}") or {}

    def probe_row_write(self, table: CodaTable) -> str:
        """Upsert zero rows (pipe.preflight): proves write access to the table and changes nothing."""
        path = self._doc_path("tables", table.id, "rows")
        data = self._request("POST", path, f"probing write access to table {table.name!r}", body=b'{"rows":[]}')
        self.write_proven = True
        return str((data or {}).get("requestId", ""))

    # -- tables and columns ----------------------------------------------------------------------

    def table(self, name_or_id: str) -> CodaTable:
        """The table by ID (`grid-…`, `table-…`) or by exact name (names must be unique in the doc)."""
        data = self._by_name_or_id("tables", "table", "CODA_TABLE", name_or_id, ("grid-", "table-"))
        return CodaTable(id=data["id"], name=data["name"], table_type=data.get("tableType", "table"))

    def _by_name_or_id(
        self, collection: str, kind: str, variable: str, name_or_id: str, id_prefixes: tuple[str, ...]
    ) -> dict[str, Any]:
        """A doc's table or page by ID (one GET) or by exact, unique name (listing them)."""
        if name_or_id.startswith(id_prefixes):
            what = f"{kind} {name_or_id!r}"
            return self._request("GET", self._doc_path(collection, name_or_id), f"reading {what}", what=what)
        items = list(self._pages(self._doc_path(collection), {"limit": 100}, f"listing the doc's {collection}"))
        found = [item for item in items if item.get("name") == name_or_id]
        if not found:
            names = ", ".join(repr(item.get("name")) for item in items) or "none"
            raise CodaConfigError(
                f"{variable}: there is no {kind} {name_or_id!r} in Coda doc {self.doc_id}; {collection} there: "
                f"{names}. Give the {kind}'s exact name or its ID ({id_prefixes[0]}…)."
            )
        if len(found) > 1:
            ids = ", ".join(item["id"] for item in found)
            raise CodaConfigError(
                f"{variable}: doc {self.doc_id} has {len(found)} {collection} named {name_or_id!r} ({ids}); "
                "give the ID of the one to write to."
            )
        return found[0]

    def columns(self, table: CodaTable) -> list[CodaColumn]:
        found = []
        doing = f"listing the columns of table {table.name!r}"
        for item in self._pages(self._doc_path("tables", table.id, "columns"), {"limit": COLUMNS_PAGE_SIZE}, doing):
            fmt = item.get("format") or {}
            options = None
            if "options" in fmt and fmt.get("type") == "select":
                names = tuple(str(o.get("name", "")) for o in fmt.get("options") or [])
                options = names if len(names) < SELECT_OPTIONS_CAP else None
            found.append(
                CodaColumn(
                    id=item["id"],
                    name=item["name"],
                    type=str(fmt.get("type", "text")),
                    calculated=bool(item.get("calculated", False)),
                    is_array=bool(fmt.get("isArray", False)),
                    options=options,
                )
            )
        return found

    # -- rows ------------------------------------------------------------------------------------

    def rows(self, table: CodaTable, *, where: tuple[str, Any] | None = None, latest: bool = False) -> list[CodaRow]:
        """Rows of a table, values by column ID in `simpleWithArrays` format (arrays stay arrays).

        `where=(column ID, value)` reads only the rows whose cell equals `value` (Coda's single equality
        filter on the plain-text value). `latest=True` sends `X-Coda-Doc-Version: latest`, so a read that would
        miss pending mutations of the doc raises `CodaStaleRead` instead.
        """
        params: dict[str, Any] = {"valueFormat": "simpleWithArrays", "limit": ROWS_PAGE_SIZE}
        if where is not None:
            params["query"] = f"{where[0]}:{json.dumps(where[1], ensure_ascii=False)}"
        doing = f"reading rows of table {table.name!r}"
        headers = {"X-Coda-Doc-Version": "latest"} if latest else None
        return [
            CodaRow(id=item["id"], values=dict(item.get("values") or {}))
            for item in self._pages(self._doc_path("tables", table.id, "rows"), params, doing, headers=headers)
        ]

    def upsert_rows(self, table: CodaTable, rows: Sequence[RowEdit], key_columns: Sequence[str]) -> str:
        """One upsert request (the caller batches: see `batch_rows`); returns the mutation's requestId."""
        if not key_columns:
            raise ValueError("upserts need key columns (un-keyed inserts are not replay-safe)")
        body = upsert_body(rows, key_columns)
        if len(body) > 2 * 1024 * 1024:
            raise ValueError(f"the request body is {len(body)} bytes, over Coda's 2 MB limit; batch the rows")
        path = self._doc_path("tables", table.id, "rows")
        data = self._request("POST", path, f"writing {len(rows)} row(s) to table {table.name!r}", body=body)
        return str(data["requestId"])

    def delete_rows(self, table: CodaTable, row_ids: Sequence[str]) -> str:
        """Delete rows by ID (replay-safe: deleting a row twice changes nothing); returns the mutation's requestId.
        Works on tables and views. An empty list is refused (nothing to send)."""
        if not row_ids:
            raise ValueError("delete_rows needs at least one row ID")
        path = self._doc_path("tables", table.id, "rows")
        body = json.dumps({"rowIds": list(row_ids)}).encode("utf-8")
        data = self._request("DELETE", path, f"deleting {len(row_ids)} row(s) of table {table.name!r}", body=body)
        return str(data["requestId"])

    # -- mutations -------------------------------------------------------------------------------

    def mutation_status(self, request_id: str) -> MutationStatus | None:
        """The status, or None when Coda does not know the request (yet, or any more): 404."""
        path = "/mutationStatus/" + quote(request_id, safe="")
        data = self._request("GET", path, "polling a write's status", missing_ok=True)
        if data is None:
            return None
        return MutationStatus(request_id, bool(data.get("completed")), data.get("warning") or None)

    def wait_for_mutations(
        self, request_ids: Sequence[str], polling: MutationPolling | None = None
    ) -> dict[str, MutationStatus]:
        """Poll until every mutation completed or `polling.timeout` ran out; returns the last status of each.

        Mutations still pending at the end come back with `completed=False` (queued, not confirmed).
        A run's time budget running out ends the polling the same way.
        """
        polling = polling or MutationPolling()
        start = self._clock()
        latest = {rid: MutationStatus(rid, False) for rid in dict.fromkeys(request_ids)}
        pending = list(latest)
        delay = min(polling.first_delay, polling.timeout)
        interval = polling.interval
        while pending:
            if delay > 0:
                self._sleep(delay)
            still = []
            for request_id in pending:
                try:
                    status = self.mutation_status(request_id)
                except BudgetExceeded:
                    log.warning("the time budget ran out while polling Coda writes; %d not confirmed", len(pending))
                    return latest
                if status is None:
                    if self._clock() - start > polling.not_found_grace:
                        log.warning("Coda no longer knows write %s; it is reported as not confirmed", request_id)
                        continue
                    still.append(request_id)
                elif status.completed:
                    latest[request_id] = status
                    if status.warning:
                        log.warning("Coda completed write %s with a warning: %s", request_id, status.warning)
                else:
                    still.append(request_id)
            pending = still
            elapsed = self._clock() - start
            if pending and elapsed >= polling.timeout:
                break
            delay = min(interval, max(0.0, polling.timeout - elapsed))
            interval = min(interval * polling.backoff, polling.max_interval)
        return latest

    # -- pages -----------------------------------------------------------------------------------

    def page(self, name_or_id: str) -> CodaPage:
        """The page by ID (`canvas-…`, older `section-…`) or by exact name (names must be unique)."""
        data = self._by_name_or_id("pages", "page", "CODA_PAGE", name_or_id, ("canvas-", "section-"))
        return CodaPage(id=data["id"], name=data["name"], content_type=data.get("contentType", "canvas"))

    def page_lines(self, page: CodaPage, *, latest: bool = False) -> list[PageLine]:
        """The page's content as plain-text lines. `latest=True` sends `X-Coda-Doc-Version: latest`, so a
        read that would miss pending mutations of the doc raises `CodaStaleRead` instead."""
        headers = {"X-Coda-Doc-Version": "latest"} if latest else None
        path = self._doc_path("pages", page.id, "content")
        query: dict[str, Any] = {"limit": CONTENT_PAGE_SIZE}
        lines = []
        while True:
            data = self._request("GET", path, f"reading page {page.name!r}", params=query, headers=headers) or {}
            for item in data.get("items", []):
                content = item.get("itemContent") or {}
                lines.append(PageLine(item["id"], str(content.get("style", "")), str(content.get("content", ""))))
            token = data.get("nextPageToken")
            if not token:
                return lines
            query = {"pageToken": token}

    def append_to_page(self, page: CodaPage, markdown: str) -> str:
        """Append Markdown at the end of the page (not replay-safe: never retried after a 5xx)."""
        body = {
            "contentUpdate": {"insertionMode": "append", "canvasContent": {"format": "markdown", "content": markdown}}
        }
        data = self._request(
            "PUT",
            self._doc_path("pages", page.id),
            f"appending to page {page.name!r}",
            body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        )
        return str(data["requestId"])

    def delete_page_content(self, page: CodaPage, element_ids: Sequence[str]) -> str:
        """Delete the given elements of the page (replay-safe: deleting an element twice changes nothing).
        An empty list would delete the whole page, so it is refused here."""
        if not element_ids:
            raise ValueError("delete_page_content needs at least one element ID (an empty list deletes the page)")
        data = self._request(
            "DELETE",
            self._doc_path("pages", page.id, "content"),
            f"deleting lines of page {page.name!r}",
            body=json.dumps({"elementIds": list(element_ids)}).encode("utf-8"),
        )
        return str(data["requestId"])

    # -- automations -----------------------------------------------------------------------------

    def first_table(self) -> CodaTable | None:
        """One base table of the doc (not a view), or None when it has none: where a write can be proven."""
        doing = "listing the doc's tables"
        for item in self._pages(self._doc_path("tables"), {"limit": 1, "tableTypes": "table"}, doing):
            return CodaTable(id=item["id"], name=item["name"], table_type=item.get("tableType", "table"))
        return None

    def trigger_automation(self, rule_id: str, body: bytes) -> str:
        """POST a JSON payload to a rule with the trigger "Webhook invoked"; returns the requestId of the queued
        trigger. Not replay-safe (every accepted POST runs the rule once more): only a 429 is sent again."""
        what = f"{AUTOMATION}{rule_id}"
        path = self._doc_path("hooks", "automation", rule_id)
        data = self._request("POST", path, f"triggering {what}", body=body, what=what)
        return str((data or {}).get("requestId", ""))

    # -- errors ----------------------------------------------------------------------------------

    def _error(self, response: requests.Response, doing: str, what: str = "") -> Exception:
        status = response.status_code
        message = _error_message(response)
        where = f"Coda doc {self.doc_id}"
        if what.startswith(AUTOMATION):
            specific = automation_error(status, message, self.doc_id, what.removeprefix(AUTOMATION), doing)
            if specific is not None:
                return specific
        if status == 401:
            return CodaConfigError(
                f"CODA_API_TOKEN: Coda refused the token while {doing} (401). Check that the secured variable holds "
                "a current API token (coda.io/account, API settings)."
            )
        if status == 403:
            return CodaConfigError(
                f"Coda refused access to {what or where} while {doing} (403): {message}. The token may be "
                f"read-only or restricted to another doc or table; it needs read and write access to {where}."
            )
        if status == 404:
            subject = what or where
            variable = "CODA_DOC_ID" if not what else ("CODA_PAGE" if "page" in what else "CODA_TABLE")
            return CodaConfigError(
                f"{variable}: Coda found no {subject} while {doing} (404: {message}). Check the ID (the doc ID is "
                "the part after `_d` in the doc's URL) and that the token can see it."
            )
        if status == 410:
            return CodaConfigError(f"CODA_PAGE: {what or 'the page'} was deleted in Coda (410) while {doing}.")
        if status == 400 and message == STALE_DOC:
            return CodaStaleRead(f"Coda's copy of {where} is not up to date yet while {doing}", 400, message)
        if status == 429:
            return CodaError(
                f"Coda kept answering 429 (rate limited) while {doing}; the limits are per user across all docs, "
                "so another job using the same Coda account may be competing. Re-run the step later.",
                429,
                message,
            )
        return CodaError(f"Coda answered {status} while {doing}: {message}", status, message)


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return (response.text or response.reason or "")[:200]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("statusMessage") or "")[:500]
    return str(body)[:200]
