"""Coda preflight: token, doc, changelog table and its mapped columns, page, write access.

Coda's API says nothing like "can edit" about a doc (whoami only says whether the token is restricted),
so write access is proven with an upsert of zero rows: it passes Coda's token restrictions (a read-only
or other-table token gets 403) and adds or changes nothing.
"""

from __future__ import annotations

from pipe.clients.coda import CodaClient, CodaConfigError, CodaError, CodaTable, coda_policy
from pipe.clients.http import HttpPolicy
from pipe.config import Settings
from pipe.facts.fields import CODA_COLUMNS, Resolved, mapping_refs, missing_options, resolve_all
from pipe.preflight.checks import Check, failed, passed, resolved_check, warned
from pipe.preflight.coda_webhook import webhook_checks

SERVICE = "Coda"
WRITE = "write access"


def coda_checks(settings: Settings, policy: HttpPolicy | None = None) -> list[Check]:
    c = settings.coda
    if not c.token:
        if c.doc_id or c.table or c.page:
            return [warned(SERVICE, "configured", "CODA_API_TOKEN is not set: Coda is not checked")]
        return [passed(SERVICE, "configured", "not configured (no CODA_API_TOKEN): nothing to check")]
    if not c.doc_id:
        return [failed(SERVICE, "configured", "CODA_DOC_ID is required with CODA_API_TOKEN")]
    client = CodaClient(c.token, c.doc_id, c.api_url, policy or coda_policy())
    checks: list[Check] = []
    try:
        user = client.whoami()
    except (CodaConfigError, CodaError) as exc:
        checks.append(failed(SERVICE, "token", _fix(exc, "Check CODA_API_URL and the network.")))
        return checks
    restricted = ", restricted to some docs or tables, or to reading" if user.scoped else ""
    who = f"{user.name} <{user.login_id}>, token {user.token_name!r}{restricted}"
    checks.append(passed(SERVICE, "token", f"valid ({who})"))
    try:
        doc = client.doc()
    except (CodaConfigError, CodaError) as exc:
        checks.append(failed(SERVICE, "doc", _fix(exc, "Check CODA_DOC_ID.")))
        return checks
    checks.append(passed(SERVICE, "doc", f"{doc.get('name', '?')!r} ({client.doc_id}): reachable"))
    if c.table:
        table = _table(client, c.table, checks)
        if table is not None:
            _columns(client, table, settings, checks)
    if c.page:
        try:
            page = client.page(c.page)
            checks.append(passed(f"{SERVICE} page", "page", f"found: {page.name!r} ({page.id})"))
        except (CodaConfigError, CodaError) as exc:
            checks.append(failed(f"{SERVICE} page", "page", _fix(exc, "Check CODA_PAGE.")))
    checks.extend(webhook_checks(client, settings, checks))
    return checks


def _fix(exc: Exception, hint: str) -> str:
    """The client's messages of a CodaConfigError say what to fix already; other errors get a hint."""
    return str(exc) if isinstance(exc, CodaConfigError) else f"{exc}. {hint}"


def _table(client: CodaClient, name: str, checks: list[Check]) -> CodaTable | None:
    target = f"{SERVICE} {name}"
    try:
        table = client.table(name)
    except (CodaConfigError, CodaError) as exc:
        checks.append(failed(target, "table", _fix(exc, "Check CODA_TABLE.")))
        return None
    if table.table_type == "view":
        checks.append(
            failed(
                target,
                "table",
                f"CODA_TABLE: {table.name!r} ({table.id}) is a view; Coda upserts rows only into tables. Give the "
                "name or ID of the table the view shows.",
            )
        )
        return None
    checks.append(passed(target, "table", f"found: {table.name!r} ({table.id})"))
    return table


def _columns(client: CodaClient, table: CodaTable, settings: Settings, checks: list[Check]) -> None:
    target = f"{SERVICE} {table.name}"
    try:
        columns = client.columns(table)
    except (CodaConfigError, CodaError) as exc:
        checks.append(failed(target, "columns", _fix(exc, "Check CODA_TABLE.")))
        return
    wanted = mapping_refs("coda.columns", settings.coda.columns.written())
    results = resolve_all(columns, wanted, CODA_COLUMNS)
    for result in results:
        checks.append(resolved_check(target, "column", result))
    _type_options(target, results, settings, checks)
    checks.append(_write_probe(client, table, target))


def _type_options(target: str, results: list[Resolved], settings: Settings, checks: list[Check]) -> None:
    """A select `type` column should offer every commit type the notes group (and `other`): the row sink
    leaves a cell that is not an option empty (a warning, not a failure)."""
    found = next((r for r in results if r.logical == "type" and r.field is not None), None)
    column = found.field if found is not None else None
    options = getattr(column, "options", None)
    if found is None or column is None or options is None:
        return
    release = settings.release.notes
    types = [t for group in release.groups for t in group.types]
    if release.other_title is not None:
        types.append("other")
    missing = missing_options(options, types)
    name = "options of type"
    if not missing:
        checks.append(passed(target, name, f"{column.name!r} offers every commit type: {', '.join(types)}"))
        return
    checks.append(
        warned(
            target,
            name,
            f"{found.setting}: the select column {column.name!r} has no option "
            f"{', '.join(repr(m) for m in missing)}; rows of those types are written without a type. Add the "
            "option(s) in Coda.",
        )
    )


def _write_probe(client: CodaClient, table: CodaTable, target: str) -> Check:
    """An upsert of zero rows: harmless (there is nothing to add or change), and refused with a 403 when
    the token may only read, or only another doc or table."""
    try:
        request_id = client.probe_row_write(table)
    except CodaConfigError as exc:
        return failed(
            target, WRITE, f"{exc} Give the token read and write access to the doc (Coda account settings, API)."
        )
    except CodaError as exc:
        return warned(target, WRITE, f"not proven: Coda did not accept an upsert of zero rows ({exc})")
    return passed(target, WRITE, f"proven: Coda accepted an upsert of zero rows (request {request_id or '?'})")
