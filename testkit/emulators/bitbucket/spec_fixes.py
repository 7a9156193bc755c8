"""Load-time readings of the Swagger 2.0 file (never edits of it): each fix says what is wrong and why.

`prepare(raw)` returns two copies of the definitions (one for request bodies, one for responses) and
the operations' extra request-body schemas, with these changes:

1. Polymorphism. Swagger 2.0 `discriminator: "type"` on `object` means "the value of `type` names the
   definition this object really is" (`pipeline_state` → `pipeline_state_completed`). JSON Schema has
   no such keyword, so every reference to a definition that others extend (`allOf: [{$ref: base}, …]`)
   is pointed at a `<name>@subtypes` schema: the base, plus an `if type == "<subtype>" then <subtype>`
   rule per subtype. References inside the `allOf` that *declares* the inheritance keep pointing at the
   plain base, so the rules never recurse.
2. `object.required: ["type"]` holds for responses (every Bitbucket object carries `type`) but not for
   request bodies: the spec's own examples (`{"content": {"raw": …}}`, the report and annotation
   samples) send no `type`. The request copy drops it.
3. `report_data.value` is declared `type: object`, while the PUT-report description's table says a
   value is a boolean, a number, a string or a LINK object: widened to those four.
4. `participant.state` lists `null` in its `enum` but declares `type: string`: `null` is allowed.
5. `error.error.detail` is declared a string, but the live 403 for a missing scope sends an object
   (`{"required": [...], "granted": [...]}`): widened to string or object.
6. `POST …/refs/branches` declares no body parameter although its description requires `name` and
   `target.hash`: a body schema is supplied from that description.

Every `$ref` is rewritten to an absolute URI (`urn:bitbucket-spec:<side>#/definitions/<name>`) so one
`referencing.Registry` per side resolves them without copying the definitions into each validator.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFINITIONS = "#/definitions/"
SUBTYPES = "@subtypes"
REQUEST_URN = "urn:bitbucket-spec:request"
RESPONSE_URN = "urn:bitbucket-spec:response"

CREATE_BRANCH = ("POST", "/repositories/{workspace}/{repo_slug}/refs/branches")
CREATE_BRANCH_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name", "target"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "target": {
            "type": "object",
            "required": ["hash"],
            "properties": {"hash": {"type": "string", "minLength": 1}},
        },
    },
}
EXTRA_BODIES: Mapping[tuple[str, str], dict[str, Any]] = {CREATE_BRANCH: CREATE_BRANCH_BODY}

FIXES = (
    "polymorphism: a `type` naming a subtype is validated against that subtype",
    "requests: `object.required: [type]` dropped",
    "report_data.value: boolean, number, string or LINK object",
    "participant.state: null allowed",
    "error.error.detail: string or object",
    "createBranch: body schema from the description",
)


@dataclass(frozen=True)
class Prepared:
    request_definitions: dict[str, Any]
    response_definitions: dict[str, Any]
    subtypes: Mapping[str, tuple[str, ...]]  # base definition → every definition extending it


def prepare(raw: Mapping[str, Any]) -> Prepared:
    definitions = copy.deepcopy(dict(raw["definitions"]))
    _patch(definitions)
    parents = {name: tuple(_declared_parents(schema)) for name, schema in definitions.items()}
    subtypes = _subtypes(parents)
    response = _side(definitions, subtypes, RESPONSE_URN)
    request_source = copy.deepcopy(definitions)
    request_source["object"].pop("required", None)
    request = _side(request_source, subtypes, REQUEST_URN)
    return Prepared(request, response, subtypes)


def link(schema: Any, side: str, subtypes: Mapping[str, tuple[str, ...]]) -> Any:
    """A schema from `paths` (a body or response) with its `$ref`s made absolute and polymorphic."""
    return _rewrite(copy.deepcopy(schema), side, subtypes, inherit=False)


def _patch(definitions: dict[str, Any]) -> None:
    data_props = definitions["report_data"]["properties"]
    data_props["value"] = {
        "description": data_props["value"].get("description", ""),
        "anyOf": [
            {"type": "boolean"},
            {"type": "number"},
            {"type": "string"},
            {
                "type": "object",
                "required": ["text", "href"],
                "properties": {"text": {"type": "string"}, "href": {"type": "string", "format": "uri"}},
            },
        ],
    }
    participant = _own_properties(definitions["participant"])
    participant["state"] = {**participant["state"], "type": ["string", "null"]}
    inner = definitions["error"]["properties"]["error"]["properties"]
    inner["detail"] = {"anyOf": [{"type": "string"}, {"type": "object"}]}


def _own_properties(schema: dict[str, Any]) -> dict[str, Any]:
    for branch in schema.get("allOf", []):
        if "properties" in branch:
            return branch["properties"]  # type: ignore[no-any-return]
    return schema["properties"]  # type: ignore[no-any-return]


def _declared_parents(schema: Mapping[str, Any]) -> Iterable[str]:
    for branch in schema.get("allOf", []):
        ref = branch.get("$ref") if isinstance(branch, dict) else None
        if isinstance(ref, str) and ref.startswith(DEFINITIONS):
            yield ref[len(DEFINITIONS) :]


def _subtypes(parents: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    children: dict[str, set[str]] = {}
    for child, declared in parents.items():
        for parent in declared:
            children.setdefault(parent, set()).add(child)
    found: dict[str, tuple[str, ...]] = {}
    for base in children:
        seen: set[str] = set()
        todo = list(children[base])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(children.get(name, ()))
        found[base] = tuple(sorted(seen))
    return found


def _side(definitions: dict[str, Any], subtypes: Mapping[str, tuple[str, ...]], urn: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, schema in definitions.items():
        schema = copy.deepcopy(schema)
        inherited = schema.pop("allOf", None)
        body = _rewrite(schema, urn, subtypes, inherit=False)
        if inherited is not None:
            body["allOf"] = [_rewrite(branch, urn, subtypes, inherit=True) for branch in inherited]
        out[name] = body
    for base, names in subtypes.items():
        rules = [
            {
                "if": {"properties": {"type": {"const": sub}}, "required": ["type"]},
                "then": {"$ref": f"{urn}{DEFINITIONS}{sub}"},
            }
            for sub in names
        ]
        out[base + SUBTYPES] = {"allOf": [{"$ref": f"{urn}{DEFINITIONS}{base}"}, *rules]}
    return out


def _rewrite(node: Any, urn: str, subtypes: Mapping[str, tuple[str, ...]], *, inherit: bool) -> Any:
    """Absolute refs; `inherit` marks a direct `allOf` branch of a definition (keeps the plain base)."""
    if isinstance(node, list):
        return [_rewrite(item, urn, subtypes, inherit=False) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(DEFINITIONS):
            name = value[len(DEFINITIONS) :]
            target = name if inherit or name not in subtypes else name + SUBTYPES
            out[key] = f"{urn}{DEFINITIONS}{target}"
        elif key in ("example", "examples", "description", "x-bb-default-fields", "x-bb-url"):
            continue
        else:
            out[key] = _rewrite(value, urn, subtypes, inherit=False)
    return out
