"""Atlassian's Swagger 2.0 file as a contract: match operations, validate requests and responses.

The file is read unmodified and prepared once per process (`spec_fixes` lists each load-time reading).
Besides those, this module reads the file as follows (docs/emulators/bitbucket.md, "How the spec is read"):

* 232 of its 322 operations have no `operationId`; they are keyed `"<METHOD> <path template>"`.
* Paths are matched below `basePath` `/2.0`, percent-decoded per segment; a trailing slash is ignored
  (the spec's own examples POST to `…/pipelines/`). Literal segments win over templated ones. A
  trailing `{name}` (branches) also takes a name with unencoded slashes (`refs/branches/feature/x`).
* Path parameters are typed (`pull_request_id: integer`): a segment of the wrong type matches the
  operation but is reported (Bitbucket answers 404 for such URLs).
* Query parameters: declared ones are coerced and validated; a declared scalar may be repeated only
  when its description says it "can be repeated" (`state` on the pull-request list). The pagination
  and filtering narratives make `page`, `pagelen`, `q` and `sort` valid on every collection (a GET
  whose 200 body is a `paginated_*` definition) even where undeclared, unless the operation declares
  its own paging (the pipelines list, which filters with its own parameters instead of `q`). Unknown parameters are
  recorded as violations but do not fail the request (Bitbucket ignores them). A declared `sort`
  enum also accepts each value with a leading `-` (the narrative's descending order).
* A response must use a declared status (unless the caller marks it a real-API answer the spec
  omits); a declared schema validates the JSON body; a declared status without a schema allows no
  body for 204 and leaves any other body undescribed; declared headers (e.g. `Location`) must be sent.
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
from urllib.parse import unquote

from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from testkit.specs import SPECS_DIR

from . import spec_fixes
from .formats import format_checker

SPEC_FILENAME = "bitbucket-openapi-2.0.json"
SPEC_ENV = "BITBUCKET_OPENAPI_SPEC"  # another copy of the spec, e.g. a newer one to compare against
_METHODS = ("get", "put", "post", "delete", "patch")
_MAX_REPORTED_ERRORS = 5
_COLLECTION_PARAMS: Mapping[str, dict[str, Any]] = {
    "page": {"type": "integer", "minimum": 1},
    "pagelen": {"type": "integer", "minimum": 1},
    "q": {"type": "string"},
    "sort": {"type": "string"},
}


def default_spec_path() -> Path:
    """`$BITBUCKET_OPENAPI_SPEC`, else the unmodified copy shipped in `testkit/specs/` (see its README)."""
    override = os.environ.get(SPEC_ENV)
    return Path(override) if override else SPECS_DIR / SPEC_FILENAME


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str  # path | query | body | header
    required: bool
    schema: dict[str, Any]  # JSON Schema for the (coerced) value
    repeatable: bool = False


@dataclass(frozen=True)
class Response:
    schema: dict[str, Any] | None  # None: the spec describes no body
    headers: tuple[str, ...]


@dataclass(frozen=True)
class Operation:
    key: str  # operationId, or "<METHOD> <template>" where the spec gives none
    operation_id: str | None
    method: str
    template: str
    segments: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    body_schema: dict[str, Any] | None
    body_required: bool
    responses: Mapping[str, Response]
    oauth_scopes: tuple[str, ...]  # from `security`: the OAuth 2 / access-token scopes
    collection: bool  # a GET whose 200 body is a paginated_* definition

    @property
    def literal_count(self) -> int:
        return sum(1 for s in self.segments if not s.startswith("{"))


@dataclass(frozen=True)
class Match:
    operation: Operation
    path_params: dict[str, str]


@dataclass
class RequestCheck:
    """Typed path and query values, the parsed body, and what does not conform.

    `problems` make the emulator answer as Bitbucket would (`not_found` → 404, else 400); `notes`
    (unknown query parameters, which Bitbucket ignores) do not, but all are spec violations.
    """

    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    not_found: bool = False


class SpecContract:
    def __init__(self, raw: Mapping[str, Any]):
        self.base_path: str = raw.get("basePath", "/2.0")
        prepared = spec_fixes.prepare(raw)
        self._subtypes = prepared.subtypes
        self._registries = {
            spec_fixes.REQUEST_URN: _registry(spec_fixes.REQUEST_URN, prepared.request_definitions),
            spec_fixes.RESPONSE_URN: _registry(spec_fixes.RESPONSE_URN, prepared.response_definitions),
        }
        self._formats = format_checker()
        self._validators: dict[str, Draft7Validator] = {}
        self.operations = tuple(self._operations(raw["paths"]))
        self._by_length: dict[int, list[Operation]] = {}
        for op in sorted(self.operations, key=lambda o: -o.literal_count):
            self._by_length.setdefault(len(op.segments), []).append(op)
        self._by_key = {op.key: op for op in self.operations}

    # -- matching ---------------------------------------------------------------------------------

    def operation(self, method: str, template: str) -> Operation:
        """The operation for a method and path template exactly as the spec writes them."""
        for op in self.operations:
            if op.method == method.upper() and op.template == template:
                return op
        raise KeyError(f"the spec has no {method.upper()} {template}")

    def match(self, method: str, path: str) -> Match | None:
        """The operation for `path` (below the base path, still percent-encoded), or None."""
        segments = _split(path)
        for op in self._by_length.get(len(segments), ()):
            if op.method == method.upper():
                params = _bind(op.segments, segments)
                if params is not None:
                    return Match(op, params)
        return self._match_greedy(method.upper(), segments)

    def _match_greedy(self, method: str, segments: list[str]) -> Match | None:
        """A branch name with unencoded slashes: a trailing `{name}` takes the rest of the path."""
        for op in self.operations:
            if op.method != method or not op.segments or op.segments[-1] != "{name}":
                continue
            head = len(op.segments) - 1
            if len(segments) > len(op.segments):
                params = _bind(op.segments[:head], segments[:head])
                if params is not None:
                    return Match(op, {**params, "name": "/".join(segments[head:])})
        return None

    def path_exists(self, path: str) -> bool:
        segments = _split(path)
        if any(_bind(op.segments, segments) is not None for op in self._by_length.get(len(segments), ())):
            return True
        return any(self._match_greedy(m, segments) is not None for m in ("GET", "DELETE"))

    # -- validation --------------------------------------------------------------------------------

    def check_request(
        self, match: Match, query: Mapping[str, list[str]], body: bytes, content_type: str
    ) -> RequestCheck:
        op, check = match.operation, RequestCheck()
        where = f"{op.key} request"
        for param in (p for p in op.parameters if p.location == "path"):
            raw = match.path_params.get(param.name, "")
            value = _scalar(raw, _type_of(param.schema))
            if self._errors(f"path:{op.key}:{param.name}", param.schema, value, spec_fixes.REQUEST_URN):
                check.problems.append(f"{where} path.{param.name}: {raw!r} is not of type {_type_of(param.schema)!r}")
                check.not_found = True
            check.path[param.name] = value
        declared = {p.name: p for p in op.parameters if p.location == "query"}
        if op.collection and not {"page", "pagelen"} & set(declared):  # an operation that declares paging
            for name, schema in _COLLECTION_PARAMS.items():  # describes its own query (pipelines)
                declared.setdefault(name, Parameter(name, "query", False, schema))
        for name in query:
            if name not in declared:
                check.notes.append(f"{where} query: unknown query parameter {name!r}")
        for name, param in declared.items():
            values = query.get(name)
            if not values:
                if param.required:
                    check.problems.append(f"{where} query: missing required parameter {name!r}")
                continue
            if len(values) > 1 and not param.repeatable:
                check.problems.append(f"{where} query.{name}: given {len(values)} times")
            typed = [_scalar(v, _type_of(param.schema)) for v in values]
            bad = [e for v in typed for e in self._errors(f"query:{op.key}:{name}", param.schema, v, "")]
            check.problems.extend(f"{where} query.{name}: {e.message}" for e in bad)
            if not bad:
                check.query[name] = typed if param.repeatable else typed[-1]
        self._check_body(op, body, content_type, check)
        return check

    def check_response(self, op: Operation, status: int, body: bytes, headers: Mapping[str, str]) -> list[str]:
        where = f"{op.key} response {status}"
        response = op.responses.get(str(status)) or op.responses.get("default")
        if response is None:
            return [f"{where}: status {status} is not declared for this operation"]
        lowered = {name.lower() for name in headers}
        problems = [f"{where}: declared header {h!r} is missing" for h in response.headers if h.lower() not in lowered]
        if response.schema is None:
            if status == 204 and body:
                problems.append(f"{where}: a body was sent with 204 No Content")
            return problems
        try:
            document = json.loads(body)
        except ValueError:
            return [*problems, f"{where}: the body is not JSON"]
        errors = self._errors(f"response:{op.key}:{status}", response.schema, document, spec_fixes.RESPONSE_URN)
        return [*problems, *(f"{where} body{_at(e)}: {e.message}" for e in errors)]

    def validate_definition(self, name: str, instance: Any, *, request: bool = False) -> list[str]:
        """Validate against a named definition, polymorphically (useful in tests)."""
        urn = spec_fixes.REQUEST_URN if request else spec_fixes.RESPONSE_URN
        target = name + spec_fixes.SUBTYPES if name in self._subtypes else name
        schema = {"$ref": f"{urn}{spec_fixes.DEFINITIONS}{target}"}
        return [f"{name}{_at(e)}: {e.message}" for e in self._errors(f"definition:{urn}:{name}", schema, instance, urn)]

    # -- internals ----------------------------------------------------------------------------------

    def _check_body(self, op: Operation, body: bytes, content_type: str, check: RequestCheck) -> None:
        where = f"{op.key} request body"
        if op.body_schema is None:
            if body.strip():
                check.problems.append(f"{where}: this operation takes no request body")
            return
        if not body.strip():
            if op.body_required:
                check.problems.append(f"{where}: a JSON body is required")
            return
        if "json" not in content_type.lower():
            check.problems.append(f"{where}: Content-Type must be application/json, got {content_type or 'none'!r}")
        try:
            check.body = json.loads(body)
        except ValueError as exc:
            check.problems.append(f"{where}: not valid JSON ({exc})")
            return
        errors = self._errors(f"body:{op.key}", op.body_schema, check.body, spec_fixes.REQUEST_URN)
        check.problems.extend(f"{where}{_at(e)}: {e.message}" for e in errors)

    def _errors(self, key: str, schema: dict[str, Any], instance: Any, urn: str) -> list[ValidationError]:
        validator = self._validators.get(key)
        if validator is None:
            registry = self._registries.get(urn) or Registry()
            validator = Draft7Validator(schema, registry=registry, format_checker=self._formats)
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
                yield self._operation(method.upper(), template, raw, [*shared, *raw.get("parameters", [])])

    def _operation(self, method: str, template: str, raw: Mapping[str, Any], params: list[Any]) -> Operation:
        parameters: list[Parameter] = []
        body_schema: dict[str, Any] | None = None
        body_required = False
        for param in params:
            if param.get("in") == "body":
                body_schema = spec_fixes.link(param.get("schema", {}), spec_fixes.REQUEST_URN, self._subtypes)
                body_required = bool(param.get("required"))
            else:
                parameters.append(_parameter(param))
        extra = spec_fixes.EXTRA_BODIES.get((method, template))
        if extra is not None and body_schema is None:
            body_schema, body_required = extra, True
        responses = {
            code: Response(
                spec_fixes.link(resp["schema"], spec_fixes.RESPONSE_URN, self._subtypes) if "schema" in resp else None,
                tuple((resp.get("headers") or {}).keys()),
            )
            for code, resp in raw.get("responses", {}).items()
        }
        ok_ref = (raw.get("responses", {}).get("200", {}).get("schema") or {}).get("$ref", "")
        scopes = tuple(s for entry in raw.get("security", []) for s in entry.get("oauth2", []))
        return Operation(
            key=raw.get("operationId") or f"{method} {template}",
            operation_id=raw.get("operationId"),
            method=method,
            template=template,
            segments=tuple(_split(template, decode=False)),
            parameters=tuple(parameters),
            body_schema=body_schema,
            body_required=body_required,
            responses=responses,
            oauth_scopes=scopes,
            collection=method == "GET" and ok_ref.startswith(spec_fixes.DEFINITIONS + "paginated_"),
        )


def _parameter(raw: Mapping[str, Any]) -> Parameter:
    schema = {k: raw[k] for k in ("type", "enum", "format", "minimum", "maximum", "items", "pattern") if k in raw}
    if schema.get("format") in ("int32", "int64", "uuid"):
        schema.pop("format")
    if raw["name"] == "sort" and "enum" in schema:  # narrative "sorting": a leading "-" sorts descending
        schema["enum"] = [*schema["enum"], *(f"-{value}" for value in schema["enum"])]
    description = str(raw.get("description") or "")
    return Parameter(
        name=raw["name"],
        location=raw["in"],
        required=bool(raw.get("required")),
        schema=schema,
        repeatable=re.search(r"can be repeated", description) is not None,
    )


def _registry(urn: str, definitions: dict[str, Any]) -> Registry:
    resource: Resource[Any] = Resource.from_contents({"definitions": definitions}, default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource(urn, resource)
    return registry


def _type_of(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    return kind if isinstance(kind, str) else None


def _split(path: str, *, decode: bool = True) -> list[str]:
    stripped = path.strip("/")
    parts = stripped.split("/") if stripped else []
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


def _scalar(value: str, kind: str | None) -> Any:
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number":
        try:
            return float(value)
        except ValueError:
            return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _at(error: ValidationError) -> str:
    path = error.json_path
    return "" if path == "$" else " " + path


@lru_cache(maxsize=4)
def load_contract(path: str) -> SpecContract:
    """Load and prepare the spec once per process (the result is read-only and thread-safe)."""
    spec_path = Path(path)
    if not spec_path.is_file():
        raise FileNotFoundError(
            f"Bitbucket OpenAPI file not found at {spec_path}; it ships in testkit/specs/{SPEC_FILENAME} "
            f"(or set {SPEC_ENV} to the path of a copy)"
        )
    return SpecContract(json.loads(spec_path.read_text(encoding="utf-8")))
