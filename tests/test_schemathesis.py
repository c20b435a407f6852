"""Schemathesis, driven by the OFFICIAL Webex subset, against the real app and a seeded organisation.

One test per official operation (24: the 16 of webex-meeting-subset.json, Patch, Update and Delete a
Meeting from webex-meeting-changes-subset.json and the 5 of webex-webhooks-subset.json, merged by
``conformance.load_spec()``), each on a fresh
database holding the example organisation (tests/worlds.py) and called with the admin token.
Schemathesis generates valid and invalid requests (examples from the spec, coverage cases, then up to 50
fuzzed cases per operation; deterministic, with IDs and emails of the example organisation mixed in so
valid requests reach real data). No response may be a 5xx, and each must match the official operation:
body schema (with the documented exceptions of tests/conformance_exceptions.py, which ``load_spec()``
applies), status code and media type. An operation meetadmin does not serve (yet) must answer with a
Webex-shaped 404/405; it gets the full check as soon as meetadmin's own OpenAPI lists it, so new
endpoints are picked up without editing this file.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import insert, select

from meetadmin.domain.ids import org_webex_id_for, person_id_for
from meetadmin.services.common import utcnow
from meetadmin.store.models import Person, Webhook
from meetadmin.store.writer import Writer
from tests import conformance
from tests.worlds import ADMIN, LIVE, PLANNING, SITE, UNKNOWN, WEBINAR, auth

JOHN_EMAIL = "john.andersen@example.com"
MARCUS_EMAIL = "marcus.hoffmann@example.com"

MAX_EXAMPLES = 50
KNOWN_WEBHOOK = "Y2lzY29zcGFyazovL3VzL1dFQkhPT0svc2NoZW1hdGhlc2lz"  # put in place before each webhook case
HOOK_TARGET = "http://127.0.0.1:9/hook"
# No 5xx; the body, the status code and the media type as the official operation declares them.
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]
SCHEMA = schemathesis.openapi.from_dict(conformance.load_spec())
SCHEMA.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)

# Values that exist in the example organisation, mixed into generated values so that valid requests also
# reach real data (a random meetingId is only ever a 404). Each generated value stays one of the choices.
EMAILS = ["admin@example.com", JOHN_EMAIL, MARCUS_EMAIL, "brenda.song@example.com"]
KNOWN: dict[str, list[Any]] = {
    "meetingId": [PLANNING, WEBINAR, LIVE, f"{PLANNING}_20270107T160000Z"],
    "sessionTypeId": [3, 9, 20],
    "personId": [person_id_for(e) for e in EMAILS],
    "hostEmail": [MARCUS_EMAIL, JOHN_EMAIL],
    "userEmail": [JOHN_EMAIL, MARCUS_EMAIL],
    "email": EMAILS,
    "siteUrl": [SITE],
    "orgId": [org_webex_id_for("example")],
    "webhookId": [KNOWN_WEBHOOK],
}


KNOWN_BODY: dict[str, list[Any]] = {
    "hostEmail": [JOHN_EMAIL, MARCUS_EMAIL],
    "meetingIds": [[PLANNING], [WEBINAR, UNKNOWN], [LIVE]],
    "siteUrl": [SITE],
    "name": ["hook"],
    "targetUrl": [HOOK_TARGET],
    "resource": ["meetings"],
    "event": ["created", "updated", "all"],
    "filter": [f"siteUrl={SITE}", f"hostEmail={MARCUS_EMAIL}"],
    "secret": ["s3cret"],
    "ownedBy": ["org", "creator"],
    "status": ["active"],
}


def _with_known(values: Any, known: dict[str, list[Any]] = KNOWN) -> st.SearchStrategy[Any]:
    if not isinstance(values, dict) or not values:
        return st.just(values)
    choices = {k: st.sampled_from([values[k], *known[k]]) for k in values if k in known}
    return st.fixed_dictionaries(choices).map(lambda picked: {**values, **picked})


@SCHEMA.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    return _with_known(path_parameters)


@SCHEMA.hook
def flatmap_query(context: Any, query: dict[str, Any]) -> Any:
    return _with_known(query)


@SCHEMA.hook
def flatmap_body(context: Any, body: Any) -> Any:
    return _with_known(body, KNOWN_BODY)


def _known_webhook(app: FastAPI) -> None:
    """The admin's org webhook ``KNOWN_WEBHOOK`` (again, if a case deleted it), so that valid requests on
    ``/webhooks/{webhookId}`` reach a real webhook."""

    def work(conn: Any) -> None:
        if conn.execute(select(Webhook.id).where(Webhook.id == KNOWN_WEBHOOK)).first() is not None:
            return
        admin = conn.execute(
            select(Person.id, Person.org_id).where(Person.email_key == "admin@example.com")
        ).one()
        conn.execute(
            insert(Webhook).values(
                id=KNOWN_WEBHOOK,
                org_id=admin.org_id,
                created_by=admin.id,
                name="known",
                target_url=HOOK_TARGET,
                resource="meetings",
                event="all",
                owned_by="org",
                status="active",
                failures=0,
                created=utcnow(),
            )
        )

    Writer(app.state.engine, group_commit=False).write_now(work)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def implemented(app: FastAPI, method: str, template: str) -> bool:
    """Whether meetadmin serves this official operation: its own OpenAPI lists the path and method."""
    wanted = _shape(conformance.BASE_PATH + template)
    served = {_shape(path): {m.upper() for m in item} for path, item in app.openapi()["paths"].items()}
    return method.upper() in served.get(wanted, set())


@SCHEMA.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_official_operation(case: Any, app: FastAPI, world: Any) -> None:
    if case.path.startswith("/webhooks"):
        _known_webhook(app)
    response = case.call(app=app, headers=auth(ADMIN))
    label = case.operation.label
    case.validate_response(response, checks=CHECKS)
    method, path = response.request.method, response.request.path_url.split("?", 1)[0]
    content_type = (response.headers.get("content-type") or [""])[0]
    if implemented(app, case.method, case.path):
        conformance.SCHEMATHESIS_CASES[label] += 1
        # Our own checker too: the media type, and the same schema with the same exceptions.
        conformance.CONFORMANCE.check(method, path, response.status_code, content_type, response.content)
        return
    # Not served (yet), or a method the spec does not list for the path (schemathesis tries those too): a
    # Webex-shaped "no such resource" (404), or 405 where another method of the path exists.
    assert response.status_code in (404, 405), (method, path, response.status_code, response.content[:300])
    body = response.json()
    assert body["message"], body
    assert body["trackingId"], body
    if case.method.upper() != case.operation.method.upper():
        conformance.SCHEMATHESIS_CASES[f"{label} (other methods: 404/405)"] += 1
    else:
        conformance.SCHEMATHESIS_CASES[f"{label} (not implemented yet: 404/405)"] += 1
