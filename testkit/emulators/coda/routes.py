"""operationId → handler. Operations of the spec that are not listed here answer 404."""

from __future__ import annotations

from collections.abc import Mapping

from . import api_automations, api_meta, api_pages, api_rows, api_tables
from .backend import Handler

HANDLERS: Mapping[str, Handler] = {
    "whoami": api_meta.whoami,
    "resolveBrowserLink": api_meta.resolve_browser_link,
    "listDocs": api_meta.list_docs,
    "getDoc": api_meta.get_doc,
    "getMutationStatus": api_meta.get_mutation_status,
    "listTables": api_tables.list_tables,
    "getTable": api_tables.get_table,
    "listColumns": api_tables.list_columns,
    "getColumn": api_tables.get_column,
    "listRows": api_rows.list_rows,
    "getRow": api_rows.get_row,
    "upsertRows": api_rows.upsert_rows,
    "deleteRows": api_rows.delete_rows,
    "updateRow": api_rows.update_row,
    "deleteRow": api_rows.delete_row,
    "listPages": api_pages.list_pages,
    "createPage": api_pages.create_page,
    "getPage": api_pages.get_page,
    "updatePage": api_pages.update_page,
    "deletePage": api_pages.delete_page,
    "listPageContent": api_pages.list_page_content,
    "deletePageContent": api_pages.delete_page_content,
    "triggerWebhookAutomation": api_automations.trigger_webhook_automation,
}
