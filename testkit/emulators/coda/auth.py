"""Bearer tokens and their restrictions (reference §1): 401 for a bad token, 403 for a restriction."""

from __future__ import annotations

from collections.abc import Mapping

from .errors import UNAUTHORIZED, ApiError, forbidden
from .state import Table, Token, World

ANY_TOKEN_OPERATIONS = frozenset({"whoami", "getMutationStatus", "resolveBrowserLink"})
TABLE_TOKEN_DOC_OPERATIONS = frozenset({"getDoc", "listTables", "listDocs"})


def authenticate(world: World, headers: Mapping[str, str]) -> Token:
    header = headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    token = world.tokens.get(value.strip()) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiError(401, UNAUTHORIZED)
    return token


def check_operation(token: Token, operation_id: str, method: str, params: Mapping[str, str]) -> None:
    """Method restrictions and the doc/table scope that can be decided from the path alone."""
    if operation_id in ANY_TOKEN_OPERATIONS:
        return
    if token.access == "read" and method != "GET":
        raise forbidden("This API token is restricted to read access.")
    if token.access == "write" and method == "GET":
        raise forbidden("This API token is restricted to write access.")
    doc_id = params.get("docId")
    if token.doc_id and doc_id is not None and doc_id != token.doc_id:
        raise forbidden("This API token is restricted to another doc.")
    if token.table and "tableIdOrName" not in params and operation_id not in TABLE_TOKEN_DOC_OPERATIONS:
        raise forbidden("This API token is restricted to a single table.")


def check_table(token: Token, table: Table) -> None:
    if token.table and token.table not in (table.id, table.name):
        raise forbidden("This API token is restricted to another table.")


def can_see_doc(token: Token, doc_id: str) -> bool:
    return token.doc_id is None or token.doc_id == doc_id


def can_see_table(token: Token, table: Table) -> bool:
    return token.table is None or token.table in (table.id, table.name)
