"""`CodaEmulator`: the public face — lifecycle, seeding, fault injection and introspection."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .backend import Backend, LoggedRequest, Options, ResponseHook
from .faults import Fault, FaultKind
from .render import Links
from .routes import HANDLERS
from .seed import DEFAULT_OWNER, Seeder
from .server import BASE_PATH, EmulatorServer
from .spec import default_spec_path, load_contract
from .state import Access, Token
from .values import plain


class CodaEmulator:
    """A local Coda API v1. Use as a context manager; `url` is the client's base URL.

    Keyword options are those of `backend.Options` (mutation_delay, rate_limits, unknown_column, …).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        spec_path: str | Path | None = None,
        id_seed: int | None = None,
        fault_seed: int = 0,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ):
        self.options = Options(**options)
        contract = load_contract(str(spec_path or default_spec_path()))
        self.backend = Backend(self.options, contract, HANDLERS, clock=clock, id_seed=id_seed, fault_seed=fault_seed)
        self._seeder = Seeder(self.backend)
        self._address = (host, port)
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> CodaEmulator:
        if self._server is None:
            self._server = EmulatorServer(self._address, self.backend)
            host, port = self._server.server_address[:2]
            self.backend.links = Links(f"http://{host}:{port}{BASE_PATH}")
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, name="coda-emulator", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def __enter__(self) -> CodaEmulator:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT/apis/v1` (only meaningful once started)."""
        if self._server is None:
            raise RuntimeError("the emulator is not running; use start() or a with-block")
        return self.backend.links.base

    # -- seeding -----------------------------------------------------------------------------------

    @classmethod
    def from_seed(cls, seed: Mapping[str, Any] | str | Path, **kwargs: Any) -> CodaEmulator:
        emulator = cls(**kwargs)
        emulator.load_seed(seed)
        return emulator

    def load_seed(self, seed: Mapping[str, Any] | str | Path) -> None:
        data = seed if isinstance(seed, Mapping) else json.loads(Path(seed).read_text(encoding="utf-8"))
        with self.backend.lock:
            self._seeder.load(data)

    def add_token(
        self,
        token: str,
        owner: str = DEFAULT_OWNER,
        *,
        name: str = "Emulator token",
        access: Access = "readwrite",
        doc: str | None = None,
        table: str | None = None,
        owner_name: str | None = None,
    ) -> Token:
        """Register a token. `access` read/write restricts methods; `doc` (and `table`) restrict objects."""
        with self.backend.lock:
            return self._seeder.token(
                token, owner, name=name, access=access, doc=doc, table=table, owner_name=owner_name
            )

    def add_doc(self, doc_id: str | None = None, name: str = "Untitled", owner: str | None = None) -> str:
        with self.backend.lock:
            return self._seeder.add_doc(doc_id, name, owner).id

    def add_table(self, doc: str, spec: Mapping[str, Any]) -> str:
        """`{"id"?, "name", "columns": [{"id"?, "name", "type"?, "calculated"?, "hidden"?, "format"?, "table"?}],
        "displayColumn"?, "page"?, "view_of"?, "rows"?}` → the table ID."""
        with self.backend.lock:
            return self._seeder.add_table(doc, spec).id

    def add_rows(self, doc: str, table: str, rows: Iterable[Mapping[str, Any]]) -> list[str]:
        """Rows as `{column name or ID: value}` (plus `"_hidden": True`), visible at once; returns row IDs."""
        with self.backend.lock:
            return self._seeder.add_rows(doc, table, rows)

    def add_page(self, doc: str, spec: Mapping[str, Any]) -> str:
        """`{"name", "content"? (Markdown, or HTML with "format": "html"), "subtitle"?, "parent"?, "hidden"?}`."""
        with self.backend.lock:
            return self._seeder.add_page(doc, spec).id

    def add_automation(
        self, doc: str, name: str = "Webhook rule", *, rule_id: str | None = None, enabled: bool = True
    ) -> str:
        """A rule with the trigger "Webhook invoked" (on unless `enabled=False`); returns its `grid-auto-…` ID."""
        spec: dict[str, Any] = {"name": name, "enabled": enabled}
        if rule_id:
            spec["id"] = rule_id
        with self.backend.lock:
            return self._seeder.add_automation(doc, spec).id

    def set_automation_enabled(self, doc: str, rule: str, enabled: bool) -> None:
        """Turn a rule on or off (by ID or name)."""
        with self.backend.lock:
            self._seeder.doc(doc).automation(rule).enabled = enabled

    @property
    def tokens(self) -> list[Token]:
        return list(self.backend.world.tokens.values())

    # -- faults, hooks, limits ---------------------------------------------------------------------

    def add_fault(self, kind: FaultKind, **rule: Any) -> Fault:
        """See `faults.Fault`: e.g. `add_fault("status", status=503, method="POST", path=r"/rows$", times=2)`."""
        return self.backend.faults.add(Fault(kind, **rule))

    def clear_faults(self) -> None:
        self.backend.faults.clear()

    def add_response_hook(self, hook: ResponseHook) -> None:
        """`hook(operation_id, status, body) -> body` runs before response validation (to test the validator)."""
        self.backend.response_hooks.append(hook)

    def reset_rate_limits(self) -> None:
        if self.backend.limiter is not None:
            self.backend.limiter.reset()

    # -- introspection -----------------------------------------------------------------------------

    @property
    def spec_violations(self) -> list[str]:
        """Every request or response that did not conform to the spec (the list itself, live)."""
        return self.backend.spec_violations

    def take_spec_violations(self) -> list[str]:
        """Return and clear the recorded violations (for tests that provoke them on purpose)."""
        with self.backend.lock:
            taken = list(self.backend.spec_violations)
            self.backend.spec_violations.clear()
        return taken

    @property
    def requests(self) -> list[LoggedRequest]:
        with self.backend.lock:
            return list(self.backend.requests)

    def rows(self, doc: str, table: str) -> list[dict[str, Any]]:
        """Applied rows in display order, values keyed by column name ("" for empty cells)."""
        with self.backend.lock:
            self.backend.apply_due()
            found = self._seeder.doc(doc).table(table)
            return [{c.name: found.cell(r, c) for c in found.columns} for r in found.rows]

    def row_ids(self, doc: str, table: str) -> list[str]:
        with self.backend.lock:
            self.backend.apply_due()
            return [r.id for r in self._seeder.doc(doc).table(table).rows]

    def page_content(self, doc: str, page: str) -> list[dict[str, Any]]:
        """Applied lines of a page: `{"id", "style", "content", "level"}`."""
        with self.backend.lock:
            self.backend.apply_due()
            found = self._seeder.doc(doc).page(page, allow_deleted=True)
            return [{"id": ln.id, "style": ln.style, "content": ln.content, "level": ln.level} for ln in found.lines]

    def page_text(self, doc: str, page: str) -> str:
        return "\n".join(line["content"] for line in self.page_content(doc, page))

    def pages(self, doc: str) -> list[dict[str, Any]]:
        with self.backend.lock:
            self.backend.apply_due()
            return [{"id": p.id, "name": p.name, "deleted": p.deleted} for p in self._seeder.doc(doc).pages.values()]

    def pending_mutations(self) -> list[dict[str, Any]]:
        with self.backend.lock:
            self.backend.apply_due()
            return [m.describe() for m in self.backend.queue.pending()]

    def webhook_calls(self, doc: str, rule: str) -> list[dict[str, Any]]:
        """Every trigger the rule accepted (202), in order: `{requestId, receivedAt, contentType, payload, ran,
        ranAt, skipped}`; `ran` turns true when the queued trigger is applied (`mutation_delay`, `flush()`)."""
        with self.backend.lock:
            self.backend.apply_due()
            return [call.describe() for call in self._seeder.doc(doc).automation(rule).received]

    def webhook_payloads(self, doc: str, rule: str) -> list[Any]:
        """What the rule received, one payload per accepted trigger (parsed JSON for a JSON body)."""
        return [call["payload"] for call in self.webhook_calls(doc, rule)]

    def flush(self) -> None:
        """Apply every queued mutation now."""
        with self.backend.lock:
            self.backend.queue.flush(self.backend.now())

    def doc_id(self, name: str) -> str:
        with self.backend.lock:
            return self._seeder.doc(name).id

    def table_id(self, doc: str, table: str) -> str:
        with self.backend.lock:
            return self._seeder.doc(doc).table(table).id

    def column_id(self, doc: str, table: str, column: str) -> str:
        with self.backend.lock:
            return self._seeder.doc(doc).table(table).column_or_404(column).id

    def find_rows(self, doc: str, table: str, column: str, value: Any) -> list[dict[str, Any]]:
        """Applied rows whose `column` has the plain-text value of `value`."""
        return [r for r in self.rows(doc, table) if plain(r.get(column)) == plain(value)]
