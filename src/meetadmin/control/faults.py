"""Fault rules (contract-notes §8.4): answer matching ``/v1`` requests with an error, late, or both.

A rule matches by ``method`` (any when absent) and ``path`` (exact, or a glob such as ``/v1/meetings/*``
where ``*`` matches anything, ``/`` included). Rules are tried in the order they were added; the first
that matches, is not spent (``count``) and wins its draw (``probability``, from a ``random.Random`` per
process, seeded by ``MEETADMIN_FAULT_SEED``) applies: it waits ``latencyMs``, then answers ``status``
either ``before`` the work (nothing is done) or ``after`` it (the work is done and committed, and its
answer is replaced). A rule without ``status`` only delays the real answer. Rules live in the process.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, field_validator, model_validator

from meetadmin.control.rate_limits import MESSAGE as RATE_LIMIT_MESSAGE

# Webex's own words for the retryable and server statuses (the official spec's descriptions).
MESSAGES = {
    423: "The requested resource is temporarily unavailable. A Retry-After header may be present that "
    "specifies how many seconds you need to wait before attempting the request again.",
    429: RATE_LIMIT_MESSAGE,
    500: "Something went wrong on the server. If the issue persists, feel free to contact the Webex "
    "Developer Support team.",
    502: "The server received an invalid response from an upstream server while processing the request. "
    "Try again later.",
    503: "Service Unavailable: Server is overloaded with requests. Try again later.",
    504: "Gateway Timeout: An upstream server failed to respond on time. If your query uses max parameter, "
    "please try to reduce it.",
}
_GLOB_CHARS = frozenset("*?[")


def fault_message(status: int) -> str:
    if status in MESSAGES:
        return MESSAGES[status]
    try:
        return f"{HTTPStatus(status).phrase}."
    except ValueError:
        return "The request could not be served."


class FaultIn(BaseModel):
    """A new rule as ``POST /_meetadmin/faults`` takes it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=False)

    method: str | None = None
    path: str
    status: StrictInt | None = Field(None, ge=400, le=599)
    probability: StrictFloat | StrictInt = Field(1.0, ge=0, le=1)
    count: StrictInt | None = Field(None, ge=1, le=1_000_000_000)
    retry_after: StrictInt | str | None = Field(None, alias="retryAfter")
    latency_ms: StrictInt | None = Field(None, alias="latencyMs", ge=0, le=600_000)
    phase: Literal["before", "after"] = "before"

    @field_validator("method")
    @classmethod
    def _method(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.isascii() or not value.isalpha() or len(value) > 16:
            raise ValueError("an HTTP method such as POST or GET")
        return value.upper()

    @field_validator("path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("/v1/") or len(value) > 1000:
            raise ValueError("a /v1/... path or glob, such as /v1/meetings/reassignHost or /v1/meetings*")
        if any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError("no spaces or control characters")
        return value

    @field_validator("retry_after")
    @classmethod
    def _retry_after(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, int) and value < 0:
            raise ValueError("whole seconds, 0 or more, or any header text")
        if isinstance(value, str) and (
            not value or len(value) > 200 or any(not (" " <= c <= "~") for c in value)
        ):
            raise ValueError("header text: 1 to 200 printable ASCII characters")
        return value

    @model_validator(mode="after")
    def _does_something(self) -> FaultIn:
        if self.status is None and self.latency_ms is None:
            raise ValueError("give 'status', 'latencyMs' or both: a rule with neither does nothing")
        return self


@dataclass
class FaultRule:
    id: str
    spec: FaultIn
    exact: bool
    hits: int = 0

    @classmethod
    def make(cls, spec: FaultIn) -> FaultRule:
        return cls("f" + secrets.token_hex(6), spec, not (_GLOB_CHARS & set(spec.path)))

    def matches(self, method: str, path: str) -> bool:
        if self.spec.method is not None and self.spec.method != method:
            return False
        if self.spec.count is not None and self.hits >= self.spec.count:
            return False
        return path == self.spec.path if self.exact else fnmatchcase(path, self.spec.path)

    def wire(self) -> dict[str, Any]:
        s = self.spec
        remaining = None if s.count is None else max(0, s.count - self.hits)
        return {
            "id": self.id,
            "method": s.method,
            "path": s.path,
            "status": s.status,
            "probability": s.probability,
            "count": s.count,
            "remaining": remaining,
            "retryAfter": s.retry_after,
            "latencyMs": s.latency_ms,
            "phase": s.phase,
            "hits": self.hits,
        }


@dataclass
class FaultRules:
    """The rules of this process and the draws that decide whether one applies."""

    rng: random.Random
    rules: tuple[FaultRule, ...] = field(default=())

    def add(self, spec: FaultIn) -> FaultRule:
        rule = FaultRule.make(spec)
        self.rules = (*self.rules, rule)
        return rule

    def remove(self, rule_id: str) -> bool:
        kept = tuple(r for r in self.rules if r.id != rule_id)
        found = len(kept) != len(self.rules)
        self.rules = kept
        return found

    def clear(self) -> None:
        self.rules = ()

    def pick(self, method: str, path: str) -> FaultRule | None:
        """The rule that applies to this request, its hit counted; ``None`` for none."""
        for rule in self.rules:
            if rule.matches(method, path) and self.rng.random() < rule.spec.probability:
                rule.hits += 1
                return rule
        return None
