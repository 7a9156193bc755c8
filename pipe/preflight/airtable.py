"""Airtable preflight: token, base, tables, mapped fields (types, select options, links), read and write access.

A personal access token's scopes cannot be read (whoami lists `scopes` only for OAuth tokens), so each
scope is proven by using it: `schema.bases:read` by reading the base schema, `data.records:read` by
reading one record of each table, `data.records:write` by a write that changes nothing (`_write_probe`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pipe.clients.airtable import AirtableClient, AirtableError, FieldInfo, airtable_policy
from pipe.clients.http import HttpPolicy
from pipe.config import Settings
from pipe.facts.fields import (
    DEPLOYMENT_FIELDS,
    JOURNAL_FIELDS,
    READ_ONLY,
    RELEASE_FIELDS,
    WORK_ITEM_FIELDS,
    Expect,
    Resolved,
    field_name,
    key_rule,
    mapping_refs,
    missing_options,
    resolve_all,
    work_item_refs,
)
from pipe.preflight.checks import Check, failed, passed, resolved_check, warned

SERVICE = "Airtable"
# `rec` + 14 characters: a well-formed record ID that no record has (Airtable's IDs are random).
PROBE_RECORD_ID = "recPreflightCheck"
WRITE = "write access (data.records:write)"
READ = "read access (data.records:read)"
_UNKNOWN_FIELD = re.compile(r'"(.+)"')


@dataclass(frozen=True)
class TableSpec:
    """One table to check and what the pipe needs of it."""

    target: str  # row label, e.g. "Airtable Work Items"
    variable: str  # the variable that names the table
    table: str
    wanted: dict[str, tuple[str, str]]  # logical -> (setting, mapping value)
    expects: Mapping[str, Expect]
    options: dict[str, tuple[list[str], bool, str]] = field(default_factory=dict)  # (values, fatal, source)
    links_to: dict[str, str] = field(default_factory=dict)  # logical -> table the link must point at


def table_specs(settings: Settings) -> list[TableSpec]:
    a, workflow = settings.airtable, settings.workflow
    written = {*workflow.stages.values(), *workflow.environments.values()}
    statuses = [s for s in workflow.statuses if s in written]  # the statuses the pipe can write
    environments = list(workflow.environments)
    specs = [
        TableSpec(
            f"{SERVICE} {a.table}",
            "AIRTABLE_TABLE",
            a.table or "",
            work_item_refs(a.fields, a.key_field),
            WORK_ITEM_FIELDS,
            options={"status": (statuses, True, "the config file's workflow")},
        )
    ]
    if a.releases_table:
        specs.append(
            TableSpec(
                f"{SERVICE} {a.releases_table}",
                "AIRTABLE_RELEASES_TABLE",
                a.releases_table,
                mapping_refs("airtable.releases", a.releases.model_dump()),
                RELEASE_FIELDS,
                options={"environment": (environments, False, "workflow.environments")},
                links_to={"items": a.table or ""},
            )
        )
    if a.deployments_table:
        specs.append(
            TableSpec(
                f"{SERVICE} {a.deployments_table}",
                "AIRTABLE_DEPLOYMENTS_TABLE",
                a.deployments_table,
                mapping_refs("airtable.deployments", a.deployments.model_dump()),
                DEPLOYMENT_FIELDS,
                options={"environment": (environments, False, "workflow.environments")},
            )
        )
    if a.journal_table:  # the change journal: every write appended there (pipe.sinks.journal_table)
        journaled = "what the pipe journals"
        specs.append(
            TableSpec(
                f"{SERVICE} {a.journal_table}",
                "AIRTABLE_JOURNAL_TABLE",
                a.journal_table,
                mapping_refs("airtable.journal", a.journal.model_dump()),
                JOURNAL_FIELDS,
                options={
                    "stage": (["build", "review", "merge", "deploy", "rollback"], False, journaled),
                    "service": (["airtable", "coda", "file"], False, journaled),
                    "change": (["created", "updated"], False, journaled),
                },
            )
        )
    return specs


def airtable_checks(settings: Settings, policy: HttpPolicy | None = None) -> list[Check]:
    a = settings.airtable
    if not a.token:
        return [warned(SERVICE, "configured", "AIRTABLE_TOKEN is not set: Airtable is not checked")]
    if not a.base_id or not a.table:
        return [failed(SERVICE, "configured", "AIRTABLE_BASE_ID and AIRTABLE_TABLE are required with AIRTABLE_TOKEN")]
    policy = policy or airtable_policy(a.rate_limit_wait, requests_per_second=a.requests_per_second)
    client = AirtableClient(a.token, a.base_id, a.table, a.api_url, policy)
    checks: list[Check] = []
    if not _token(client, checks):
        return checks
    ok, tables = _schema(client, checks)
    if not ok:
        return checks
    for spec in table_specs(settings):
        TableCheck(client, spec, tables, checks).run()
    return checks


def _token(client: AirtableClient, checks: list[Check]) -> bool:
    try:
        me = client.whoami()
    except AirtableError as exc:
        if exc.status == 401:
            checks.append(
                failed(
                    SERVICE,
                    "token",
                    "AIRTABLE_TOKEN: Airtable refused the token (401). Put a current personal access token in the "
                    "secured variable (a token is shown once, when it is created).",
                )
            )
        else:
            checks.append(failed(SERVICE, "token", f"{exc}. Check AIRTABLE_API_URL and the network."))
        return False
    who = str(me.get("id", "?")) + (f" <{me['email']}>" if me.get("email") else "")
    checks.append(passed(SERVICE, "token", f"valid (user {who})"))
    scopes = me.get("scopes")
    if isinstance(scopes, list):  # OAuth tokens only; a personal access token's scopes are probed below
        for scope in ("data.records:read", "data.records:write"):
            if scope not in scopes:
                checks.append(failed(SERVICE, f"scope {scope}", f"AIRTABLE_TOKEN: the token lacks {scope}: add it"))
    return True


def _schema(client: AirtableClient, checks: list[Check]) -> tuple[bool, list[dict[str, Any]] | None]:
    """(go on, tables); tables is None when the token may not read the schema."""
    scope = "scope schema.bases:read"
    try:
        tables = client.base_tables()
    except AirtableError as exc:
        if exc.status == 404:
            checks.append(failed(SERVICE, "base", _no_base(client.base_id)))
            return False, None
        if exc.status == 403:
            checks.append(
                warned(
                    SERVICE,
                    scope,
                    f"not granted ({exc.status} {exc.error_type}): field types and select options are not checked, "
                    "and the sync cannot check fields before it writes. Add schema.bases:read to the token.",
                )
            )
            return True, None
        checks.append(failed(SERVICE, "base", f"{exc}. Check AIRTABLE_API_URL and AIRTABLE_BASE_ID."))
        return False, None
    checks.append(passed(SERVICE, "base", f"{client.base_id}: reachable, {len(tables)} table(s)"))
    checks.append(passed(SERVICE, scope, "granted: field types and select options are checked"))
    return True, tables


def _no_base(base_id: str) -> str:
    return (
        f"AIRTABLE_BASE_ID: Airtable has no base {base_id!r} (404). Copy the base ID (app…) from the base's URL, "
        "and check that the base is added to the token."
    )


def _fields(table: Mapping[str, Any]) -> list[FieldInfo]:
    return [
        FieldInfo(
            id=f["id"],
            name=f["name"],
            type=f["type"],
            choices=tuple(c["name"] for c in (f.get("options") or {}).get("choices", [])),
        )
        for f in table.get("fields", [])
    ]


class TableCheck:
    """The checks of one table, appended to `checks` in order."""

    def __init__(
        self, client: AirtableClient, spec: TableSpec, tables: list[dict[str, Any]] | None, checks: list[Check]
    ):
        self.client = client.for_table(spec.table)
        self.base_id = client.base_id
        self.spec = spec
        self.tables = tables
        self.checks: list[Check] = checks
        self.t = spec.target

    def run(self) -> None:
        results: list[Resolved] | None = None
        table: Mapping[str, Any] | None = None
        if self.tables is not None:
            table = _find_table(self.tables, self.spec.table)
            if table is None:
                listed = ", ".join(repr(t.get("name")) for t in self.tables) or "none"
                self.checks.append(
                    failed(
                        self.t,
                        "table",
                        f"{self.spec.variable}: base {self.base_id} has no table {self.spec.table!r}; its tables: "
                        f"{listed}. Give the table's exact name or its ID (tbl…).",
                    )
                )
                return
            self.checks.append(passed(self.t, "table", f"found: {table['name']!r} ({table['id']})"))
            results = resolve_all(_fields(table), self.spec.wanted, self.spec.expects)
            results = [key_rule(r) for r in results]
            self.checks.extend(resolved_check(self.t, "field", r) for r in results)
            names = {r.logical: r.field.name for r in results if r.field is not None}
        else:
            names = {logical: field_name(text) for logical, (_setting, text) in self.spec.wanted.items()}
        record = self._read(names, checked=results is not None)
        if record is False:
            return
        if results is not None and table is not None:
            self._options(results)
            self._links(results, table)
            writable = [r.field.name for r in results if r.ok and r.field is not None and r.expect.types]
        else:
            writable = [n for logical, n in names.items() if self.spec.expects.get(logical, READ_ONLY).types]
        self.checks.append(self._write_probe(record, writable[0] if writable else None))

    # -- reading ---------------------------------------------------------------------------------

    def _read(self, wanted: dict[str, str], checked: bool) -> dict[str, Any] | None | Literal[False]:
        """One record with every mapped field: proves data.records:read and, without the schema, that the
        fields exist (Airtable refuses an unknown name in `fields[]`, one at a time; each is dropped from
        `wanted`). False: stop."""
        while True:
            try:
                record = self.client.sample_record(list(wanted.values()))
                break
            except AirtableError as exc:
                unknown = _unknown_field(exc)
                logical = next((k for k, n in wanted.items() if n == unknown), None)
                if unknown is None or logical is None:
                    self.checks.append(failed(self.t, READ, self._read_refused(exc, checked)))
                    return False
                setting = self.spec.wanted[logical][0]
                self.checks.append(
                    failed(self.t, f"field {logical}", f"{setting}: table {self.spec.table!r} has no field {unknown!r}")
                )
                del wanted[logical]
        detail = "granted" + ("" if record else " (the table has no records)")
        if not checked:
            detail += f"; base {self.base_id} and table reachable"
            if wanted:
                found = ", ".join(repr(n) for n in wanted.values())
                self.checks.append(
                    warned(self.t, "fields", f"{found} exist; types and options not checked (need schema.bases:read)")
                )
        self.checks.append(passed(self.t, READ, detail))
        return record

    def _read_refused(self, exc: AirtableError, checked: bool) -> str:
        if exc.status == 404:
            return _no_base(self.base_id)
        if exc.status == 403 and checked:
            return (
                f"Airtable refused to read records ({exc.status} {exc.error_type}) although the table exists: "
                "the token lacks the scope data.records:read. Add it to the token."
            )
        if exc.status == 403:
            return (
                f"{self.spec.variable}: Airtable refused to read table {self.spec.table!r} ({exc.status} "
                f"{exc.error_type}): the table does not exist, the base {self.base_id} is not added to the token, "
                "or the token lacks the scope data.records:read."
            )
        return f"could not read table {self.spec.table!r}: {exc}"

    # -- select options and links (needs the schema) ----------------------------------------------

    def _options(self, results: Sequence[Resolved]) -> None:
        for logical, (values, fatal, source) in self.spec.options.items():
            found = _result(results, logical)
            if found is None or found.field is None or found.field.type != "singleSelect" or not values:
                continue  # a text field takes any value
            info: FieldInfo = found.field  # type: ignore[assignment]
            missing = missing_options(info.choices, values)
            name = f"options of {logical}"
            if not missing:
                offered = f"{info.name!r} offers every value written: {', '.join(values)}"
                self.checks.append(passed(self.t, name, offered))
                continue
            listed = ", ".join(repr(m) for m in missing)
            detail = (
                f"{found.setting}: the select field {info.name!r} has no option {listed}, which the pipe writes "
                f"(from {source}); Airtable refuses a new option from the API (typecast is off). Add the option(s) "
                f"to the field, or change {source}."
            )
            self.checks.append(failed(self.t, name, detail) if fatal else warned(self.t, name, detail))

    def _links(self, results: Sequence[Resolved], table: Mapping[str, Any]) -> None:
        for logical, target in self.spec.links_to.items():
            found = _result(results, logical)
            if found is None or found.field is None or found.field.type != "multipleRecordLinks":
                continue
            raw: Mapping[str, Any] = next((f for f in table.get("fields", []) if f.get("id") == found.field.id), {})
            linked = (raw.get("options") or {}).get("linkedTableId")
            want = _find_table(self.tables or [], target)
            if want is None or linked == want.get("id"):
                self.checks.append(passed(self.t, f"link {logical}", f"{found.field.name!r} links to {target!r}"))
                continue
            other = _find_table(self.tables or [], linked or "")
            shown = f"{other['name']!r} ({linked})" if other else repr(linked)
            self.checks.append(
                failed(
                    self.t,
                    f"link {logical}",
                    f"{found.setting}: {found.field.name!r} links to table {shown}, not to the work items table "
                    f"{want['name']!r} ({want['id']}): link it to that table, or map another field",
                )
            )

    # -- writing -----------------------------------------------------------------------------------

    def _write_probe(self, record: dict[str, Any] | None, fallback_field: str | None) -> Check:
        """Prove write access with a PATCH that changes nothing.

        Harmless: a PATCH changes only the fields it names, and this one names none (`"fields": {}`), so no
        cell, no last-modified time and no "when a record is updated" automation is touched. Should Airtable
        refuse an empty update (422), one mapped field is written with the value just read from it. With no
        record in the table, a made-up record ID is updated: Airtable checks the token's permission before
        it looks the record up, and nothing can be written to a record that does not exist.
        """
        if record is None:
            try:
                self.client.patch_record(PROBE_RECORD_ID, {})
            except AirtableError as exc:
                if exc.status in (404, 422) and exc.error_type in ("ROW_DOES_NOT_EXIST", "MODEL_ID_NOT_FOUND"):
                    return warned(
                        self.t,
                        WRITE,
                        "probably granted: the table has no record, so a record ID that does not exist was updated; "
                        "Airtable let the request past its permission check and then refused the ID (nothing was "
                        "written). The first real write confirms it.",
                    )
                return self._write_refused(exc)
            return passed(self.t, WRITE, "granted")
        record_id = record["id"]
        try:
            self.client.patch_record(record_id, {})
            return passed(
                self.t, WRITE, f"proven: Airtable accepted an update of record {record_id} that names no field"
            )
        except AirtableError as exc:
            if exc.status != 422 or fallback_field is None:
                return self._write_refused(exc)
        value = record.get("fields", {}).get(fallback_field)
        try:
            self.client.patch_record(record_id, {fallback_field: value})
        except AirtableError as exc:
            return self._write_refused(exc)
        return passed(self.t, WRITE, f"proven: {fallback_field!r} of record {record_id} was set to the value it had")

    def _write_refused(self, exc: AirtableError) -> Check:
        if exc.status == 403 and exc.error_type == "INVALID_PERMISSIONS":
            detail = (
                f"Airtable refused a write to table {self.spec.table!r} (403 INVALID_PERMISSIONS): the token's "
                "user may only read this base. Give the user editor access, or use an editor's token."
            )
        elif exc.status == 403:
            detail = (
                f"Airtable refused a write to table {self.spec.table!r} ({exc.status} {exc.error_type}) although "
                "it lets the token read it: the token lacks the scope data.records:write. Add the scope to "
                "the token; every stage writes records."
            )
        else:
            detail = f"write access to table {self.spec.table!r} not proven: {exc}"
        return failed(self.t, WRITE, detail)


def _find_table(tables: Sequence[Mapping[str, Any]], name_or_id: str) -> Mapping[str, Any] | None:
    return next((t for t in tables if name_or_id in (t.get("id"), t.get("name"))), None)


def _result(results: Sequence[Resolved], logical: str) -> Resolved | None:
    return next((r for r in results if r.logical == logical), None)


def _unknown_field(exc: AirtableError) -> str | None:
    if exc.status != 422 or exc.error_type != "UNKNOWN_FIELD_NAME":
        return None
    match = _UNKNOWN_FIELD.search(str(exc))
    return match.group(1) if match else None
