"""Mapped fields and columns: how the config names them, what types they may have, and schema drift.

A mapping value (config file `airtable.fields.*`, `airtable.releases.*`, `airtable.deployments.*`,
`coda.columns.*`) names a field or column in one of three ways:

- by name: `Status`;
- by ID: `fldWIStatus000000` (Airtable) or `c-AbCdEf1234` (Coda): survives renames;
- pinned, by name and ID: `Status [fldWIStatus000000]`: survives renames, and a rename is reported as
  "field fldWIStatus000000 was renamed 'Status' → 'State'" so the config can be updated.

`resolve_all()` resolves a mapping against a table's fields (anything with `id`, `name` and `type`):
what is missing, ambiguous, renamed, or of a type the pipe cannot write. `pin_fields()` is the same
check for the sync, before its first write: it returns the mapping with the fields' current names
(so a renamed pinned field keeps working) and raises when a field is missing or its type changed;
`pin_section()` does the same for `airtable.releases` and `airtable.deployments`.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pydantic import BaseModel

from pipe.clients.airtable import AirtableConfigError, TableSchema
from pipe.config.file import FieldMapping

log = logging.getLogger("pipe.preflight")
M = TypeVar("M", bound=BaseModel)

AIRTABLE_FIELD_ID = re.compile(r"fld[A-Za-z0-9]{14}")
CODA_COLUMN_ID = re.compile(r"c-[A-Za-z0-9_-]{3,}")
_PINNED = re.compile(r"^(?P<name>.*\S)\s*\[(?P<id>fld[A-Za-z0-9]{14}|c-[A-Za-z0-9_-]{3,})\]$")


class FieldLike(Protocol):
    """An Airtable field (`pipe.clients.airtable.FieldInfo`) or a Coda column (`CodaColumn`)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


# -- how a mapping names a field ---------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRef:
    """A mapping value, parsed: a name, an ID, or both (pinned)."""

    text: str
    name: str | None
    id: str | None

    @property
    def shown(self) -> str:
        return repr(self.text)


def parse_ref(text: str) -> FieldRef:
    """`Status`, `fldWIStatus000000` or `Status [fldWIStatus000000]` (Coda: `c-…` IDs)."""
    text = text.strip()
    pinned = _PINNED.match(text)
    if pinned:
        return FieldRef(text, pinned["name"], pinned["id"])
    if AIRTABLE_FIELD_ID.fullmatch(text):
        return FieldRef(text, None, text)
    return FieldRef(text, text, None)  # a Coda `c-…` value may be a name or an ID: tried as both


def field_name(text: str) -> str:
    """The name part of a mapping value (`Status [fld…]` → `Status`), the value itself otherwise."""
    ref = parse_ref(text)
    return ref.name or ref.text


# -- what the pipe writes, and which types take it ----------------------------------------------------

TEXT = frozenset({"singleLineText", "multilineText"})
LONG_TEXT = frozenset({"multilineText", "richText"})
DATES = frozenset({"dateTime", "date"})
COMPUTED = frozenset(
    {
        "formula",
        "rollup",
        "lookup",
        "multipleLookupValues",
        "count",
        "autoNumber",
        "createdTime",
        "lastModifiedTime",
        "createdBy",
        "lastModifiedBy",
        "button",
        "aiText",
    }
)


@dataclass(frozen=True)
class Expect:
    """What a mapped field must be: `types` it may have (None: any, the pipe only reads it)."""

    types: frozenset[str] | None
    writes: str  # what the pipe writes there, for messages

    def accepts(self, field_type: str) -> bool:
        return self.types is None or field_type in self.types

    def describe(self) -> str:
        return "any type" if self.types is None else " or ".join(sorted(self.types))


READ_ONLY = Expect(None, "nothing (read only)")

# Work items (airtable.fields), with `title` and KEY_FIELD only read.
WORK_ITEM_FIELDS: dict[str, Expect] = {
    "title": READ_ONLY,
    "key": READ_ONLY,
    "status": Expect(TEXT | {"singleSelect"}, "a workflow status"),
    "branch": Expect(TEXT, "the branch name"),
    "branch_url": Expect(TEXT | {"url"}, "the branch's link"),
    "pull_request": Expect(TEXT | {"url"}, "the pull request's link"),
    "commit": Expect(TEXT, "a commit sha"),
    "commit_url": Expect(TEXT | {"url"}, "the commit's link"),
    "build_url": Expect(TEXT | {"url"}, "the pipeline's link"),
    "last_run": Expect(TEXT, "the pipeline run's ID"),
    "merged_at": Expect(DATES, "a date and time"),
    "reviewed_at": Expect(DATES, "a date and time"),
    "staged_at": Expect(DATES, "a date and time"),
    "released_at": Expect(DATES, "a date and time"),
}

# The release record (airtable.releases); `version` is the upsert key (typecast stays off).
RELEASE_FIELDS: dict[str, Expect] = {
    "version": Expect(TEXT, "the version (the key releases are upserted on)"),
    "notes": Expect(LONG_TEXT, "the release notes (Markdown)"),
    "date": Expect(DATES, "a date and time"),
    "items": Expect(frozenset({"multipleRecordLinks"}), "links to work items"),
    "environment": Expect(TEXT | {"singleSelect"}, "the deployment environment's name"),
    "deployed_at": Expect(DATES, "a date and time"),
}

# The deployments log (airtable.deployments); `name` is the upsert key.
DEPLOYMENT_FIELDS: dict[str, Expect] = {
    "name": Expect(TEXT, "'environment @ commit' (the key deployments are upserted on)"),
    "environment": Expect(TEXT | {"singleSelect"}, "the deployment environment's name"),
    "commit": Expect(TEXT, "a commit sha"),
    "deployed_at": Expect(DATES, "a date and time"),
    "version": Expect(TEXT, "the version"),
    "run": Expect(TEXT, "the pipeline run's ID"),
}

# The change journal (airtable.journal); `entry` is the upsert key. Values are JSON text, so long text.
JOURNAL_FIELDS: dict[str, Expect] = {
    "entry": Expect(TEXT, "the entry's key (entries are upserted on it)"),
    "run": Expect(TEXT, "the pipeline run's ID"),
    "stage": Expect(TEXT | {"singleSelect"}, "the stage (build, review, merge, deploy, rollback)"),
    "service": Expect(TEXT | {"singleSelect"}, "the service written (airtable, coda, file)"),
    "table": Expect(TEXT, "the table, page or file written"),
    "record": Expect(TEXT, "the record ID, Coda row key or version written"),
    "field": Expect(TEXT, "the field, column or section written"),
    "before": Expect(frozenset({"multilineText"}), "the value before the write (JSON, plain text as is)"),
    "after": Expect(frozenset({"multilineText"}), "the value written (JSON, plain text as is)"),
    "time": Expect(frozenset({"dateTime"}) | TEXT, "when the write was accepted"),
    "change": Expect(TEXT | {"singleSelect"}, "created or updated"),
    "unconfirmed": Expect(frozenset({"checkbox"}), "whether no answer said the write was done"),
    "pipeline": Expect(TEXT | {"url"}, "the pipeline's link"),
}

# The Coda changelog table (coda.columns); Coda's column format types.
CODA_TEXT = frozenset({"text"})
CODA_COLUMNS: dict[str, Expect] = {
    "release": Expect(CODA_TEXT, "the version (a key column of the upsert)"),
    "entry_key": Expect(CODA_TEXT, "the entry's key (a key column of the upsert)"),
    "type": Expect(CODA_TEXT | {"select"}, "the commit type"),
    "scope": Expect(CODA_TEXT | {"select"}, "the commit scope"),
    "description": Expect(CODA_TEXT | {"canvas"}, "the description"),
    "breaking": Expect(CODA_TEXT | {"checkbox"}, "true or false"),
    "records": Expect(CODA_TEXT | {"canvas"}, "the work items' titles"),
    "pull_request": Expect(CODA_TEXT | {"link"}, "the pull request's link"),
    "commit": Expect(CODA_TEXT, "a commit sha"),
    "date": Expect(CODA_TEXT | {"date", "dateTime"}, "a date (YYYY-MM-DD)"),
}


# -- resolving a mapping -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Resolved:
    """One mapped field, resolved against the table: `field` when found, `problem` when it cannot be used."""

    logical: str  # e.g. "status"
    setting: str  # where the user fixes it, e.g. "airtable.fields.status" or "KEY_FIELD"
    ref: FieldRef
    field: FieldLike | None = None
    renamed_from: str | None = None
    problem: str | None = None
    expect: Expect = READ_ONLY

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def drift(self) -> str | None:
        """'field fldX was renamed 'Old' → 'New'' when a field pinned by ID has another name now."""
        if self.field is None or self.renamed_from is None:
            return None
        return f"{_kind(self.field.id)} {self.field.id} was renamed {self.renamed_from!r} → {self.field.name!r}"


def _kind(identifier: str) -> str:
    return "column" if identifier.startswith("c-") else "field"


def resolve_field(fields: Sequence[FieldLike], ref: FieldRef | str) -> tuple[FieldLike | None, str | None, str | None]:
    """(field, renamed_from, problem) for one mapping value; see the module docstring for the forms."""
    ref = parse_ref(ref) if isinstance(ref, str) else ref
    by_id = {f.id: f for f in fields}
    by_name: dict[str, list[FieldLike]] = {}
    for f in fields:
        by_name.setdefault(f.name, []).append(f)
    if ref.id is not None:
        found = by_id.get(ref.id)
        if found is not None:
            renamed = ref.name if ref.name is not None and ref.name != found.name else None
            return found, renamed, None
        same_name = by_name.get(ref.name or "", [])
        kind = _kind(ref.id)
        if len(same_name) == 1:
            other = same_name[0]
            return (
                None,
                None,
                f"there is no {kind} {ref.id} any more; a {kind} named {ref.name!r} exists as {other.id}: if it is "
                f"the same data, pin it as '{other.name} [{other.id}]'",
            )
        was = f" (was {ref.name!r})" if ref.name else ""
        return None, None, f"there is no {kind} {ref.id}{was}: it was deleted, or the ID is mistyped"
    matches = by_name.get(ref.text, [])
    if len(matches) == 1:
        return matches[0], None, None
    if len(matches) > 1:
        ids = ", ".join(f.id for f in matches)
        return None, None, f"{len(matches)} columns are named {ref.text!r} ({ids}): give the ID"
    if ref.text in by_id:  # a Coda column given by its bare ID
        return by_id[ref.text], None, None
    close = difflib.get_close_matches(ref.text, list(by_name), n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return None, None, f"there is no {'column' if _coda(fields) else 'field'} {ref.text!r}{hint}"


def _coda(fields: Sequence[FieldLike]) -> bool:
    return any(f.id.startswith("c-") for f in fields)


def resolve_all(
    fields: Sequence[FieldLike],
    wanted: Mapping[str, tuple[str, str]],
    expects: Mapping[str, Expect],
) -> list[Resolved]:
    """Resolve `wanted` (logical name -> (setting, mapping value)); check each found field's type."""
    results = []
    for logical, (setting, text) in wanted.items():
        ref = parse_ref(text)
        expect = expects.get(logical, READ_ONLY)
        found, renamed, problem = resolve_field(fields, ref)
        if found is not None and problem is None:
            problem = type_problem(found, expect)
        results.append(Resolved(logical, setting, ref, found, renamed, problem, expect))
    return results


def type_problem(found: FieldLike, expect: Expect) -> str | None:
    if expect.types is None:
        return None
    if getattr(found, "calculated", False):  # a Coda formula column, whatever its format
        return (
            f"{found.name!r} ({found.id}) is a formula column, which Coda does not write: make it a plain "
            "column, or map another one"
        )
    if expect.accepts(found.type):
        return None
    computed = " (a computed field, which the API cannot write)" if found.type in COMPUTED else ""
    return (
        f"{found.name!r} ({found.id}) is of type {found.type}{computed}; the pipe writes {expect.writes} there, "
        f"which needs {expect.describe()}: change the field's type, or map another one"
    )


def mapping_refs(section: str, values: Mapping[str, str | None]) -> dict[str, tuple[str, str]]:
    """logical -> (setting, value) for the mapped (non-null) entries of a config section."""
    return {k: (f"{section}.{k}", v) for k, v in values.items() if v}


def work_item_refs(mapping: FieldMapping, key_field: str | None) -> dict[str, tuple[str, str]]:
    wanted = mapping_refs("airtable.fields", mapping.written())
    if mapping.title:
        wanted = {"title": ("airtable.fields.title", mapping.title), **wanted}
    if key_field:
        wanted["key"] = ("KEY_FIELD", key_field)
    return wanted


# -- for the sync: check before the first write --------------------------------------------------------


def pin_fields(schema: TableSchema | None, mapping: FieldMapping, key_field: str | None = None) -> FieldMapping:
    """The mapping with every field's current name, checked against the table's schema before any write.

    Raises `AirtableConfigError` (nothing written) listing every mapped field that is missing or whose
    type the pipe cannot write; logs a warning for each pinned field that was renamed (and goes on with
    its new name). Without a schema (the token lacks schema.bases:read) pins fall back to their names,
    and a field given only by ID is an error, since its name cannot be looked up.
    """
    return _pin(schema, mapping, work_item_refs(mapping, key_field), WORK_ITEM_FIELDS, "airtable.fields")


def pin_section(schema: TableSchema | None, section: M, name: str) -> M:
    """`pin_fields` for `airtable.releases` (a `ReleaseFields`), `airtable.deployments` (`DeploymentFields`) or
    `airtable.journal` (`JournalFields`), against the schema of AIRTABLE_RELEASES_TABLE, AIRTABLE_DEPLOYMENTS_TABLE
    or AIRTABLE_JOURNAL_TABLE."""
    expects = {
        "airtable.releases": RELEASE_FIELDS,
        "airtable.deployments": DEPLOYMENT_FIELDS,
        "airtable.journal": JOURNAL_FIELDS,
    }[name]
    return _pin(schema, section, mapping_refs(name, section.model_dump()), expects, name)


def _pin(
    schema: TableSchema | None,
    model: M,
    wanted: Mapping[str, tuple[str, str]],
    expects: Mapping[str, Expect],
    section: str,
) -> M:
    if schema is None:
        bare = [f"{setting}: {text!r}" for setting, text in wanted.values() if parse_ref(text).name is None]
        if bare:
            raise AirtableConfigError(
                "These fields are given by ID, and looking their names up needs the token scope "
                "schema.bases:read. Add the scope, or give the names (or pin them: 'Name [fld…]'):",
                bare,
            )
        return _renamed(model, {k: field_name(text) for k, (_s, text) in wanted.items()})
    results = [key_rule(r) for r in resolve_all(list(schema.fields.values()), wanted, expects)]
    problems = [f"{r.setting}: {r.problem}" for r in results if r.problem]
    if problems:
        missing = [f"{r.ref.text!r} ({r.logical})" for r in results if r.problem and r.field is None]
        where = f"Table {schema.name!r} ({schema.id})"
        head = (
            f"{where} has no field {', '.join(missing)}. Create the fields, or map or disable them in the config "
            f"file's {section} section."
            if missing
            else f"{where} has fields the pipe cannot write (a type changed?)."
        )
        raise AirtableConfigError(
            f"{head} Nothing was written. Fields in the table: {', '.join(sorted(schema.fields))}", problems
        )
    for r in results:
        if r.drift:
            log.warning("%s; %s still maps it, update the config file to its new name", r.drift, r.setting)
    return _renamed(model, {r.logical: r.field.name for r in results if r.field is not None})


def key_rule(result: Resolved) -> Resolved:
    """KEY_FIELD is matched by name in formulas and in the records read: it cannot be an ID or a pin."""
    if result.logical != "key" or result.problem or result.ref.name == result.ref.text:
        return result
    found = result.field.name if result.field is not None else "?"
    problem = f"give the key field's name ({found!r}), not its ID: records are matched on it by name"
    return Resolved(result.logical, result.setting, result.ref, result.field, None, problem, result.expect)


def _renamed(model: M, names: Mapping[str, str]) -> M:
    update = {k: v for k, v in names.items() if k in type(model).model_fields and getattr(model, k) != v}
    return model.model_copy(update=update) if update else model


def missing_options(choices: Iterable[str], wanted: Iterable[str]) -> list[str]:
    have = set(choices)
    return [w for w in dict.fromkeys(wanted) if w not in have]


__all__ = [
    "CODA_COLUMNS",
    "DEPLOYMENT_FIELDS",
    "JOURNAL_FIELDS",
    "RELEASE_FIELDS",
    "WORK_ITEM_FIELDS",
    "Expect",
    "FieldRef",
    "Resolved",
    "field_name",
    "key_rule",
    "mapping_refs",
    "missing_options",
    "parse_ref",
    "pin_fields",
    "pin_section",
    "resolve_all",
    "resolve_field",
    "type_problem",
    "work_item_refs",
]
