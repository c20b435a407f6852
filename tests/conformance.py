"""Check responses against the OFFICIAL Webex OpenAPI subset (not meetadmin's generated schema).

``load_spec()`` reads ``src/meetadmin/spec/webex-meeting-subset.json`` and
``webex-meeting-changes-subset.json`` (Patch, Update and Delete a Meeting; both shipped with the package),
merges them into one document and applies the documented exceptions of
``tests/conformance_exceptions.py``. ``Conformance.check()`` finds the official operation for a request
(method + path, templated paths like ``/meetings/{meetingId}``), and the response for its status code, and
validates the body with ``jsonschema`` (draft 4 semantics, as OpenAPI 3.0 uses), resolving ``$ref``s
against the whole spec. Responses of operations or status codes the spec does not list (our ``/preview``,
``/health``, 413 ...) and responses the spec gives no schema for (errors) are skipped.

``install(client)`` hooks a test client so every response it receives is checked: a response that breaks
the schema raises ``ConformanceError`` at the call, failing the test. Counts (and fields we send that the
official schema does not declare, as warnings) are printed at the end of the pytest session.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from jsonschema import Draft4Validator, ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT4

import meetadmin
from tests.conformance_exceptions import EXCEPTIONS

SPEC_DIR = Path(meetadmin.__file__).parent / "spec"
SPEC_PATH = SPEC_DIR / "webex-meeting-subset.json"
# Further official subsets, merged into the first: their operations join its paths and their components
# join its components (a component both files hold must be the same in both).
EXTRA_SPEC_PATHS = [SPEC_DIR / "webex-meeting-changes-subset.json", SPEC_DIR / "webex-webhooks-subset.json"]
BASE_PATH = "/v1"  # the path of the spec's server URL, https://webexapis.com/v1
_SPEC_URI = "urn:meetadmin:webex-meeting-subset"
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


class ConformanceError(AssertionError):
    """A response contradicts the official Webex schema."""


def _pointer_get(doc: Any, pointer: str) -> Any:
    node = doc
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def load_raw_spec() -> dict[str, Any]:
    """The official subsets exactly as shipped, merged into one document."""
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    for path in EXTRA_SPEC_PATHS:
        merge_spec(spec, json.loads(path.read_text(encoding="utf-8")), path.name)
    return spec


def merge_spec(into: dict[str, Any], extra: dict[str, Any], name: str) -> None:
    """Add ``extra``'s operations and components to ``into``; an operation or component both hold must
    be identical (so every ``$ref`` means the same in the merged document)."""
    for template, item in extra["paths"].items():
        target = into["paths"].setdefault(template, {})
        for method, op in item.items():
            if method in target and target[method] != op:
                raise RuntimeError(f"{name}: {method.upper()} {template} differs from the main subset")
            target[method] = op
    for kind, members in extra.get("components", {}).items():
        target = into.setdefault("components", {}).setdefault(kind, {})
        for member, schema in members.items():
            if member in target and target[member] != schema:
                raise RuntimeError(f"{name}: components/{kind}/{member} differs from the main subset")
            target[member] = schema


def load_spec() -> dict[str, Any]:
    """The official subset with our documented exceptions applied (a fresh copy each call)."""
    spec = load_raw_spec()
    for patch in EXCEPTIONS:
        node = _pointer_get(spec, patch.pointer)
        if any(node.get(key) != value for key, value in patch.expected.items()):
            raise RuntimeError(f"conformance exception no longer matches the spec at {patch.pointer}")
        for key, value in patch.changes.items():
            if value is None:
                node.pop(key, None)
            else:
                node[key] = copy.deepcopy(value)
    return spec


def _closed(spec: Any) -> Any:
    """A copy where every object schema that lists properties forbids others (to spot undeclared fields)."""
    if isinstance(spec, dict):
        out = {key: _closed(value) for key, value in spec.items()}
        if out.get("type") == "object" and "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(spec, list):
        return [_closed(item) for item in spec]
    return spec


def _where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "(root)"


def _message(error: ValidationError) -> str:
    if not error.context:  # a plain error; an anyOf failure lists what each branch missed instead
        return error.message
    reasons = sorted({f"{_where(sub.absolute_path)}: {sub.message}"[:200] for sub in error.context})
    return "matches none of the allowed forms: " + "; ".join(reasons)


def _media_essence(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # e.g. /meetings/{meetingId}
    pattern: re.Pattern[str]
    literal_segments: int
    responses: dict[str, Any]
    operation_id: str


@dataclass
class Stats:
    validated: Counter[str] = field(default_factory=Counter)  # "METHOD /template status" -> count
    skipped: int = 0
    undeclared: set[str] = field(default_factory=set)  # "METHOD /template status: field path"


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}$")


class Conformance:
    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec if spec is not None else load_spec()
        self.operations: list[Operation] = []
        for template, item in self.spec["paths"].items():
            for method, op in item.items():
                if method not in _METHODS:
                    continue
                literal = sum(1 for seg in template.split("/") if seg and not seg.startswith("{"))
                self.operations.append(
                    Operation(
                        method.upper(),
                        template,
                        _compile(template),
                        literal,
                        op.get("responses", {}),
                        str(op.get("operationId", f"{method.upper()} {template}")),
                    )
                )
        # A literal path (/meetings/sessionTypes) wins over a template (/meetings/{meetingId}).
        self.operations.sort(key=lambda o: -o.literal_segments)
        self._registry: Registry[Any] = Registry().with_resource(_SPEC_URI, DRAFT4.create_resource(self.spec))
        self._strict_registry: Registry[Any] = Registry().with_resource(
            _SPEC_URI, DRAFT4.create_resource(_closed(self.spec))
        )
        self._validators: dict[str, tuple[Draft4Validator, Draft4Validator]] = {}
        self.stats = Stats()

    def find(self, method: str, path: str) -> Operation | None:
        """The official operation for a request path (with or without the /v1 prefix)."""
        if path.startswith(BASE_PATH + "/"):
            path = path[len(BASE_PATH) :]
        path = path.rstrip("/") or "/"
        for op in self.operations:
            if op.method == method.upper() and op.pattern.match(path):
                return op
        return None

    def _validators_for(self, pointer: str) -> tuple[Draft4Validator, Draft4Validator]:
        if pointer not in self._validators:
            schema = {"$ref": f"{_SPEC_URI}#{quote(pointer, safe='/~')}"}
            self._validators[pointer] = (
                Draft4Validator(schema, registry=self._registry),
                Draft4Validator(schema, registry=self._strict_registry),
            )
        return self._validators[pointer]

    def check(self, method: str, path: str, status: int, content_type: str, body: bytes) -> bool:
        """Validate one response. True if validated, False if skipped; raises ConformanceError on a breach."""
        op = self.find(method, path)
        spec_response = op.responses.get(str(status)) if op else None
        if op is None or spec_response is None:
            self.stats.skipped += 1
            return False
        key = f"{op.method} {op.template} {status}"
        content: dict[str, Any] = spec_response.get("content") or {}
        if not content:
            if "content" in spec_response and status == 204:  # declared empty: "No Content"
                if body:
                    raise ConformanceError(f"{key}: the spec declares no body, got {body[:200]!r}")
                self.stats.validated[key] += 1
                return True
            self.stats.skipped += 1  # e.g. error responses: the spec gives only a description
            return False
        essence = _media_essence(content_type)
        media = next((m for m in content if _media_essence(m) == essence), None)
        if media is None:
            raise ConformanceError(f"{key}: content type {content_type!r} is not one of {sorted(content)}")
        if "schema" not in content[media]:
            self.stats.skipped += 1
            return False
        try:
            instance = json.loads(body)
        except ValueError as exc:
            raise ConformanceError(f"{key}: body is not JSON: {body[:200]!r}") from exc
        parts = ["paths", _escape(op.template), op.method.lower(), "responses", str(status), "content"]
        pointer = "/" + "/".join([*parts, _escape(media), "schema"])
        validator, strict = self._validators_for(pointer)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        if errors:
            lines = [f"  at {_where(e.absolute_path)}: {_message(e)}" for e in errors[:10]]
            raise ConformanceError(
                f"{key} ({op.operation_id}) breaks the official Webex schema:\n" + "\n".join(lines)
            )
        for err in strict.iter_errors(instance):
            if err.validator == "additionalProperties" and isinstance(err.instance, dict):
                where = re.sub(r"(^|/)\d+(?=/|$)", r"\1*", _where(err.absolute_path))
                declared = err.schema.get("properties", {}) if isinstance(err.schema, dict) else {}
                for name in sorted(set(err.instance) - set(declared)):
                    self.stats.undeclared.add(f"{key}: {where}: {name}")
        self.stats.validated[key] += 1
        return True

    def check_response(self, response: httpx.Response) -> bool:
        request = response.request
        return self.check(
            request.method,
            request.url.path,
            response.status_code,
            response.headers.get("content-type", ""),
            response.read(),
        )


CONFORMANCE = Conformance()
SCHEMATHESIS_CASES: Counter[str] = Counter()  # operation -> generated cases run (tests/test_schemathesis.py)


def install(client: httpx.Client, checker: Conformance = CONFORMANCE) -> None:
    """Check every response ``client`` receives; a breach raises ConformanceError in the test."""

    def hook(response: httpx.Response) -> None:
        checker.check_response(response)

    client.event_hooks["response"] = [*client.event_hooks["response"], hook]


# --- pytest hooks (imported by tests/conftest.py) ------------------------------------------------------


def _totals() -> dict[str, Any]:
    return {
        "validated": dict(CONFORMANCE.stats.validated),
        "skipped": CONFORMANCE.stats.skipped,
        "undeclared": sorted(CONFORMANCE.stats.undeclared),
        "schemathesis": dict(SCHEMATHESIS_CASES),
    }


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: hand the counts to the controller
        workeroutput["meetadmin_conformance"] = json.dumps(_totals())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    raw = getattr(node, "workeroutput", {}).get("meetadmin_conformance")
    if not raw:
        return
    totals = json.loads(raw)
    CONFORMANCE.stats.validated.update(totals["validated"])
    CONFORMANCE.stats.skipped += totals["skipped"]
    CONFORMANCE.stats.undeclared.update(totals["undeclared"])
    SCHEMATHESIS_CASES.update(totals["schemathesis"])


def pytest_terminal_summary(terminalreporter: Any) -> None:
    stats = CONFORMANCE.stats
    total = sum(stats.validated.values())
    write = terminalreporter.write_line
    terminalreporter.section("Webex conformance")
    write(
        f"{total} responses validated against the official Webex schema "
        f"({len(stats.validated)} operation/status pairs); {stats.skipped} responses had no official schema"
    )
    for key in sorted(stats.validated):
        write(f"  {stats.validated[key]:6d}  {key}")
    if SCHEMATHESIS_CASES:
        write(f"{sum(SCHEMATHESIS_CASES.values())} schemathesis cases generated from the official spec ran")
        for op in sorted(SCHEMATHESIS_CASES):
            write(f"  {SCHEMATHESIS_CASES[op]:6d}  {op}")
    if stats.undeclared:
        write(f"{len(stats.undeclared)} fields sent that the official schema does not declare (warnings):")
        for line in sorted(stats.undeclared)[:30]:
            write(f"  {line[:300]}")
