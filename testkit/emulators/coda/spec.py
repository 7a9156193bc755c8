"""The official OpenAPI 1.5.0 file as a contract: match operations, validate requests and responses.

The file cannot be used as-is with a strict JSON Schema validator (reference §10.3), so it is
pre-processed once per process:

* every `allOf` is merged into one schema (union of `properties` and `required`, a single
  `additionalProperties: false` when any branch closed the object);
* `oneOf` becomes `anyOf`: the spec uses it as a tagged union, and once the `allOf` branches are merged
  several branches match the same value (a plain string is both a `Value` and a `RichValue`; a text
  column format also matches the numeric one). Where a `discriminator.mapping` exists, an `if/then`
  per mapped value keeps the union exact (e.g. `format.type == "number"` must match `NumericColumnFormat`);
* OpenAPI `nullable: true` becomes a JSON Schema `null` alternative;
* `MutationStatus.warning` may be `null` (observed live);
* a property that is `required` but not declared under an `additionalProperties: false` object is
  declared with an open schema (`Table.viewId` is required but missing from `properties`);
* every `$ref` is then replaced by the (shared) schema object it points to, so validation never
  resolves references at run time (this halves the cost of validating a row list).

Validators are built once per operation/parameter/response and cached with the contract, which is
itself memoised per spec path (`load_contract`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from testkit.specs import SPECS_DIR

SPEC_FILENAME = "coda-openapi-1.5.0.json"
SPEC_ENV = "CODA_OPENAPI_SPEC"  # another copy of the spec, e.g. a newer one to compare against
_ANNOTATIONS = frozenset({"description", "example", "examples", "title", "deprecated", "discriminator"})
_METHODS = ("get", "put", "post", "delete", "patch")
_MAX_REPORTED_ERRORS = 5
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def default_spec_path() -> Path:
    """`$CODA_OPENAPI_SPEC`, else the unmodified copy shipped in `testkit/specs/` (see its README)."""
    override = os.environ.get(SPEC_ENV)
    return Path(override) if override else SPECS_DIR / SPEC_FILENAME


# ---------------------------------------------------------------------------------------------------
# Pre-processing


class _Normaliser:
    """Rewrites the raw components bottom-up; named schemas are normalised once and memoised."""

    def __init__(self, components: Mapping[str, Any]):
        self._raw = components
        self._schemas: dict[str, Any] = {}

    def schema(self, name: str) -> dict[str, Any]:
        if name not in self._schemas:
            self._schemas[name] = {}  # cycle guard; replaced below
            self._schemas[name] = self.node(self._raw["schemas"][name])
        return self._schemas[name]

    def components(self) -> dict[str, Any]:
        out: dict[str, Any] = {key: self.node(value) for key, value in self._raw.items() if key != "schemas"}
        out["schemas"] = {name: self.schema(name) for name in self._raw["schemas"]}
        _patch(out["schemas"])
        return out

    def node(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.node(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {key: (value if key in ("example", "examples") else self.node(value)) for key, value in node.items()}
        if isinstance(out.get("allOf"), list) and _is_schema_list(out["allOf"]):
            out = self._merge_all_of(out)
        if isinstance(out.get("oneOf"), list):
            out = _one_of_to_any_of(out)
        if out.get("nullable") is True:
            out = _nullable(out)
        return out

    def _deref(self, branch: dict[str, Any]) -> dict[str, Any]:
        ref = branch.get("$ref")
        prefix = "#/components/schemas/"
        if isinstance(ref, str) and ref.startswith(prefix):
            return self.schema(ref[len(prefix) :])
        return branch

    def _merge_all_of(self, node: dict[str, Any]) -> dict[str, Any]:
        merged = {key: value for key, value in node.items() if key != "allOf"}
        properties: dict[str, Any] = {}
        required: list[str] = []
        leftovers: list[dict[str, Any]] = []
        closed = False
        for branch in (self._deref(b) for b in node["allOf"]):
            for key, value in branch.items():
                if key == "properties":
                    for name, sub in value.items():
                        old = properties.get(name)
                        properties[name] = sub if old is None or old == sub else {"allOf": [old, sub]}
                elif key == "required":
                    required.extend(r for r in value if r not in required)
                elif key == "additionalProperties" and value is False:
                    closed = True
                elif key not in merged:
                    merged[key] = value
                elif merged[key] != value and key not in _ANNOTATIONS and not key.startswith("x-"):
                    leftovers.append({key: value})
        if properties:
            merged["properties"] = properties
        if required:
            merged["required"] = required
        if closed:
            merged["additionalProperties"] = False
        if leftovers:
            merged["allOf"] = leftovers
        return merged


def _is_schema_list(items: list[Any]) -> bool:
    return all(isinstance(item, dict) for item in items)


def _one_of_to_any_of(node: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in node.items() if key != "oneOf"}
    out["anyOf"] = node["oneOf"]
    discriminator = node.get("discriminator") or {}
    mapping = discriminator.get("mapping") or {}
    prop = discriminator.get("propertyName")
    if prop and mapping:
        checks = [
            {"if": {"properties": {prop: {"const": value}}, "required": [prop]}, "then": {"$ref": ref}}
            for value, ref in mapping.items()
        ]
        out["allOf"] = [*out.get("allOf", []), *checks]
    return out


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    out = {key: value for key, value in node.items() if key != "nullable"}
    kind = out.get("type")
    if isinstance(kind, str):
        out["type"] = [kind, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        return out
    return {"anyOf": [out, {"type": "null"}]}


def _patch(schemas: dict[str, Any]) -> None:
    schemas["MutationStatus"]["properties"]["warning"] = {"type": ["string", "null"]}
    for schema in schemas.values():
        props = schema.get("properties")
        if schema.get("additionalProperties") is False and isinstance(props, dict):
            for name in schema.get("required", []):
                props.setdefault(name, {})


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())

    @checker.checks("url", raises=ValueError)
    def _url(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.netloc)

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)"
        return not isinstance(value, str) or re.fullmatch(pattern, value) is not None

    return checker


# ---------------------------------------------------------------------------------------------------
# Operations


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: dict[str, Any]
    explode: bool


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    template: str
    segments: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    body_schema: dict[str, Any] | None
    body_required: bool
    responses: Mapping[str, dict[str, Any] | None]  # status → JSON body schema (None: no JSON body)
    body_media: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # every declared media type → schema

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_params: dict[str, str]


@dataclass
class RequestCheck:
    """The typed query (declared parameters only), the parsed body and what does not conform.

    `problems` make Coda answer 400; `notes` (unknown query parameters, which Coda ignores) do not,
    but both are spec violations.
    """

    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class SpecContract:
    def __init__(self, raw: Mapping[str, Any]):
        self._normaliser = _Normaliser(raw["components"])
        self.components = self._normaliser.components()
        self._linked: dict[int, Any] = {}  # id → object; holding the object keeps its id unique
        self._link(self.components)
        self._formats = _format_checker()
        self._validators: dict[str, Draft7Validator] = {}
        self.operations = tuple(self._operations(raw["paths"]))
        self._by_length: dict[int, list[Operation]] = {}
        for op in sorted(self.operations, key=lambda o: -o.literal_count):
            self._by_length.setdefault(len(op.segments), []).append(op)

    # -- matching ---------------------------------------------------------------------------------

    def match(self, method: str, path: str) -> Match | None:
        """The operation for `path` (relative to the base URL, still percent-encoded), or None."""
        segments = _split(path)
        for op in self._by_length.get(len(segments), ()):
            if op.method != method.upper():
                continue
            params = _bind(op.segments, segments)
            if params is not None:
                return Match(op, params)
        return None

    def path_exists(self, path: str) -> bool:
        segments = _split(path)
        return any(_bind(op.segments, segments) is not None for op in self._by_length.get(len(segments), ()))

    # -- validation --------------------------------------------------------------------------------

    def check_request(
        self,
        op: Operation,
        query: Mapping[str, list[str]],
        body: bytes,
        content_type: str,
        *,
        lenient_booleans: bool = False,
    ) -> RequestCheck:
        """Coerce and validate the query, parse and validate the body.

        Query booleans are `true`/`false`; with `lenient_booleans` also any case and `1`/`0` (the spec
        does not say how a boolean is spelled in a query string).
        """
        check = RequestCheck()
        declared = {p.name: p for p in op.parameters if p.location == "query"}
        for name in query:
            if name not in declared:
                check.notes.append(f"{op.operation_id} request query: unknown query parameter {name!r}")
        for name, param in declared.items():
            values = query.get(name)
            if not values:
                if param.required:
                    check.problems.append(f"{op.operation_id} request query: missing required parameter {name!r}")
                continue
            value = self._coerce(param, values, op, check, lenient_booleans)
            errors = self._errors(f"param:{op.operation_id}:{name}", param.schema, value)
            check.problems.extend(f"{op.operation_id} request query.{name}{_at(e)}: {e.message}" for e in errors)
            if not errors:
                check.query[name] = value
        self._check_body(op, body, content_type, check)
        return check

    def check_response(self, op: Operation, status: int, body: bytes) -> list[str]:
        where = f"{op.operation_id} response {status}"
        key = str(status) if str(status) in op.responses else "default"
        if key not in op.responses:
            return [f"{where}: status {status} is not declared for this operation"]
        schema = op.responses[key]
        if schema is None:
            return [] if not body else [f"{where}: a body was sent where the spec declares none"]
        try:
            document = json.loads(body)
        except ValueError:
            return [f"{where}: the body is not JSON"]
        errors = self._errors(f"response:{op.operation_id}:{key}", schema, document)
        return [f"{where} body{_at(e)}: {e.message}" for e in errors]

    def validate_schema(self, name: str, instance: Any) -> list[str]:
        """Validate against a named component schema (useful in tests)."""
        schema = self.components["schemas"][name]
        return [f"{name}{_at(e)}: {e.message}" for e in self._errors(f"schema:{name}", schema, instance)]

    # -- internals ----------------------------------------------------------------------------------

    def _check_body(self, op: Operation, body: bytes, content_type: str, check: RequestCheck) -> None:
        where = f"{op.operation_id} request body"
        if op.body_schema is None:
            if body:
                check.problems.append(f"{where}: this operation takes no request body")
            return
        if not body:
            if op.body_required:
                check.problems.append(f"{where}: a JSON body is required")
            return
        declared = dict(op.body_media) or {JSON: op.body_schema}
        media = content_type.split(";", 1)[0].strip().lower()
        kind = JSON if "json" in media else media
        if kind not in declared:
            if list(declared) == [JSON]:
                check.problems.append(f"{where}: Content-Type must be application/json, got {content_type or 'none'!r}")
            else:
                check.problems.append(
                    f"{where}: Content-Type {content_type or 'none'!r} is not one the operation takes "
                    f"({', '.join(declared)})"
                )
            if JSON not in declared:
                return
            kind = JSON  # validated as JSON anyway, as Coda would try to read it
        if not self._parse_body(kind, body, where, check):
            return
        errors = self._errors(f"body:{op.operation_id}:{kind}", declared[kind], check.body)
        check.problems.extend(f"{where}{_at(e)}: {e.message}" for e in errors)

    @staticmethod
    def _parse_body(kind: str, body: bytes, where: str, check: RequestCheck) -> bool:
        """Parse the body as its media type says (JSON, form fields, plain text); False when it cannot be."""
        if kind == FORM:
            fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
            check.body = {name: values[0] if len(values) == 1 else values for name, values in fields.items()}
            return True
        if kind.startswith("text/"):
            try:
                check.body = body.decode("utf-8")
            except UnicodeDecodeError:
                check.problems.append(f"{where}: not valid UTF-8 text")
                return False
            return True
        try:
            check.body = json.loads(body)
        except ValueError as exc:
            check.problems.append(f"{where}: not valid JSON ({exc})")
            return False
        return True

    def _coerce(
        self, param: Parameter, values: list[str], op: Operation, check: RequestCheck, lenient_booleans: bool
    ) -> Any:
        kind = self._type_of(param.schema)
        booleans = _LENIENT_BOOLEANS if lenient_booleans else _BOOLEANS
        if kind == "array":
            items = [part for value in values for part in (value.split(",") if not param.explode else [value])]
            item_type = self._type_of(param.schema.get("items", {}))
            return [_scalar(item, item_type, booleans) for item in items]
        if len(values) > 1:
            check.problems.append(f"{op.operation_id} request query.{param.name}: given {len(values)} times")
        return _scalar(values[-1], kind, booleans)

    @staticmethod
    def _type_of(schema: Mapping[str, Any]) -> str | None:
        kind = schema.get("type")
        return kind if isinstance(kind, str) else None

    def _errors(self, key: str, schema: dict[str, Any], instance: Any) -> list[ValidationError]:
        validator = self._validators.get(key)
        if validator is None:
            validator = Draft7Validator(schema, format_checker=self._formats)
            self._validators[key] = validator
        found: list[ValidationError] = []
        for error in validator.iter_errors(instance):
            found.append(best_match([error]) or error)
            if len(found) >= _MAX_REPORTED_ERRORS:
                break
        return found

    def _operations(self, paths: Mapping[str, Any]) -> Iterable[Operation]:
        for template, item in paths.items():
            shared = item.get("parameters", [])
            for method in _METHODS:
                raw = item.get(method)
                if raw is None:
                    continue
                params = tuple(self._parameter(p) for p in [*shared, *raw.get("parameters", [])])
                body_schema, body_required = self._request_body(raw.get("requestBody"))
                body_media = self._request_media(raw.get("requestBody"))
                yield Operation(
                    operation_id=raw["operationId"],
                    method=method.upper(),
                    template=template,
                    segments=tuple(_split(template, decode=False)),
                    parameters=params,
                    body_schema=body_schema,
                    body_required=body_required,
                    responses={code: self._response_schema(resp) for code, resp in raw["responses"].items()},
                    body_media=body_media,
                )

    def _target(self, ref: str) -> Any:
        _, _, section, name = ref.split("/")
        target = self.components[section][name]
        while isinstance(target, dict) and isinstance(target.get("$ref"), str):
            target = self._target(target["$ref"])
        return target

    def _link(self, node: Any) -> Any:
        """Replace every `{"$ref": …}` below `node` (in place) by the object it names; returns `node`."""
        if id(node) in self._linked:
            return node
        self._linked[id(node)] = node
        children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in list(children):
            if isinstance(child, dict) and isinstance(child.get("$ref"), str) and child["$ref"].startswith("#/"):
                child = self._target(child["$ref"])
                node[key] = child
            if isinstance(child, (dict, list)):
                self._link(child)
        return node

    def _resolve(self, node: dict[str, Any]) -> Mapping[str, Any]:
        ref = node.get("$ref")
        return self._target(ref) if isinstance(ref, str) else self._link(node)

    def _parameter(self, raw: Mapping[str, Any]) -> Parameter:
        param = self._resolve(self._normaliser.node(raw))
        return Parameter(
            name=param["name"],
            location=param["in"],
            required=bool(param.get("required")),
            schema=param.get("schema", {}),
            explode=bool(param.get("explode", True)),
        )

    def _request_body(self, raw: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, bool]:
        if raw is None:
            return None, False
        body = self._resolve(self._normaliser.node(raw))
        content = body.get("content", {})
        media = content.get("application/json") or next(iter(content.values()), {})
        return media.get("schema", {}), bool(body.get("required"))

    def _request_media(self, raw: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
        """Every media type the request body may be sent as, with its schema (most operations: JSON only)."""
        if raw is None:
            return {}
        body = self._resolve(self._normaliser.node(raw))
        return {media: spec.get("schema", {}) for media, spec in body.get("content", {}).items()}

    def _response_schema(self, raw: Mapping[str, Any]) -> dict[str, Any] | None:
        response = self._resolve(self._normaliser.node(raw))
        media = response.get("content", {}).get("application/json")
        return None if media is None else media.get("schema", {})


def _split(path: str, *, decode: bool = True) -> list[str]:
    parts = path.strip("/").split("/") if path.strip("/") else []
    return [unquote(p) for p in parts] if decode else parts


def _bind(template: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for pattern, actual in zip(template, segments, strict=True):
        if pattern.startswith("{"):
            if not actual:
                return None
            params[pattern[1:-1]] = actual
        elif pattern != actual:
            return None
    return params


_BOOLEANS = {"true": True, "false": False}
_LENIENT_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


def _scalar(value: str, kind: str | None, booleans: Mapping[str, bool]) -> Any:
    """The query string's text as the declared type; text that does not convert is left for the validator."""
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean":
        spelled = value if booleans is _BOOLEANS else value.lower()
        return booleans.get(spelled, value)
    return value


def _at(error: ValidationError) -> str:
    path = error.json_path
    return "" if path == "$" else " " + path


@lru_cache(maxsize=4)
def load_contract(path: str) -> SpecContract:
    """Load and pre-process the spec once per process (the result is read-only and thread-safe)."""
    spec_path = Path(path)
    if not spec_path.is_file():
        raise FileNotFoundError(
            f"Coda OpenAPI spec not found at {spec_path}; it ships in testkit/specs/{SPEC_FILENAME} "
            f"(or set {SPEC_ENV} to the path of a copy)"
        )
    return SpecContract(json.loads(spec_path.read_text(encoding="utf-8")))
