"""The conformance checker itself: it finds the official operation, validates, and fails on a breach."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from meetadmin.api.responses import json_response
from meetadmin.store.models import MeetingInstance
from tests import conformance, conformance_exceptions
from tests.conformance import SPEC_PATH, Conformance, ConformanceError, install, load_raw_spec, load_spec
from tests.worlds import ADMIN, MARCUS, PLANNING, auth

JSON = "application/json;charset=UTF-8"


def _broken_app(path: str, body: Any, status: int = 200, media_type: str = JSON) -> FastAPI:
    """A stand-in server that answers ``path`` with ``body`` (to prove the hook catches a bad response)."""
    app = FastAPI()

    @app.api_route(path, methods=["GET", "POST"])
    def broken() -> Any:
        response = json_response(body, status)
        response.headers["content-type"] = media_type
        return response

    return app


@pytest.fixture
def checker() -> Conformance:
    return Conformance()


def test_the_spec_ships_with_the_package_and_names_its_licence() -> None:
    spec = load_raw_spec()
    assert spec["info"]["x-source"]["repository"] == "https://github.com/webex/webex-openapi-specs"
    assert len(spec["info"]["x-source"]["operations"]) == 16
    notice = (SPEC_PATH.parent / "NOTICE.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in notice
    assert "github.com/webex/webex-openapi-specs" in notice


def test_requests_map_to_official_operations(checker: Conformance) -> None:
    def op(method: str, path: str) -> str | None:
        found = checker.find(method, path)
        return found.template if found else None

    assert op("GET", "/v1/meetings/870f51ff287b41be84648412901e0402") == "/meetings/{meetingId}"
    assert op("GET", "/v1/meetings/sessionTypes") == "/meetings/sessionTypes"  # the literal path wins
    assert op("GET", "/v1/meetings/sessionTypes/3") == "/meetings/sessionTypes/{sessionTypeId}"
    assert op("POST", "/v1/meetings/reassignHost") == "/meetings/reassignHost"
    assert op("POST", "/v1/meetings") == "/meetings"
    assert op("GET", "/v1/people/abc") == "/people/{personId}"
    assert op("POST", "/v1/meetings/reassignHost/preview") is None  # ours, not Webex's
    assert op("GET", "/health") is None
    assert op("DELETE", "/v1/meetings/abc") == "/meetings/{meetingId}"  # from the changes subset
    assert op("PATCH", "/v1/meetings/abc") == "/meetings/{meetingId}"
    assert op("DELETE", "/v1/meetings") is None
    assert op("PUT", "/v1/webhooks/abc") == "/webhooks/{webhookId}"  # the webhook subset, merged in
    assert len(checker.operations) == 19 + 5


def test_a_real_response_is_validated(client: TestClient, world: Any, checker: Conformance) -> None:
    r = client.get("/v1/meetingPreferences/sites", headers=auth(ADMIN))
    assert r.status_code == 200
    assert checker.check_response(r) is True
    assert checker.stats.validated["GET /meetingPreferences/sites 200"] == 1


def test_responses_without_an_official_schema_are_skipped(
    client: TestClient, world: Any, checker: Conformance
) -> None:
    unauthorised = client.get("/v1/meetingPreferences/sites")
    assert unauthorised.status_code == 401
    assert checker.check_response(unauthorised) is False  # the spec gives 401 a description only
    assert checker.check_response(client.get("/health")) is False
    assert checker.stats.skipped == 2
    assert not checker.stats.validated


def test_the_client_hook_fails_on_a_response_that_breaks_the_schema() -> None:
    bad = {"sites": [{"siteUrl": "example.webex.com", "default": "yes"}]}
    with TestClient(_broken_app("/v1/meetingPreferences/sites", bad)) as c:
        install(c, Conformance())
        with pytest.raises(ConformanceError, match=r"sites/0/default: 'yes' is not of type 'boolean'"):
            c.get("/v1/meetingPreferences/sites")


def test_a_missing_required_field_fails(checker: Conformance) -> None:
    no_default = {"sites": [{"siteUrl": "a.webex.com"}]}
    with TestClient(_broken_app("/v1/meetingPreferences/sites", no_default)) as c:
        install(c, checker)
        with pytest.raises(ConformanceError, match="'default' is a required property"):
            c.get("/v1/meetingPreferences/sites")


def test_a_body_on_204_and_a_wrong_media_type_fail(checker: Conformance) -> None:
    with TestClient(_broken_app("/v1/meetings/reassignHost", {"oops": 1}, status=204)) as c:
        install(c, checker)
        with pytest.raises(ConformanceError, match="declares no body"):
            c.post("/v1/meetings/reassignHost")
    sites = {"sites": [{"siteUrl": "a.webex.com", "default": True}]}
    with TestClient(_broken_app("/v1/meetingPreferences/sites", sites, media_type="text/plain")) as c:
        install(c, checker)
        with pytest.raises(ConformanceError, match="content type 'text/plain'"):
            c.get("/v1/meetingPreferences/sites")


def test_the_reassign_exception_follows_the_seed(checker: Conformance) -> None:
    body = {"items": [{"meetingId": PLANNING, "httpStatus": 200}]}
    raw = Conformance(load_raw_spec())
    with pytest.raises(ConformanceError, match="200 is not of type 'string'"):
        raw.check("POST", "/v1/meetings/reassignHost", 207, JSON, json.dumps(body).encode())
    assert checker.check("POST", "/v1/meetings/reassignHost", 207, JSON, json.dumps(body).encode())
    as_string = {"items": [{"meetingId": PLANNING, "httpStatus": "200"}]}
    with pytest.raises(ConformanceError, match="'200' is not of type 'integer'"):
        checker.check("POST", "/v1/meetings/reassignHost", 207, JSON, json.dumps(as_string).encode())


def test_only_instances_may_omit_the_fields_webex_hides_by_state(
    client: TestClient, engine: Any, world: Any, checker: Conformance
) -> None:
    with engine.connect() as conn:
        instance_id = (
            conn.execute(select(MeetingInstance.id).where(MeetingInstance.series_id == PLANNING))
            .scalars()
            .first()
        )
    ended = client.get(f"/v1/meetings/{instance_id}", headers=auth(MARCUS))
    assert ended.status_code == 200
    assert ended.json()["state"] == "ended"
    assert "password" not in ended.json()
    assert checker.check_response(ended) is True
    series = client.get(f"/v1/meetings/{PLANNING}", headers=auth(MARCUS)).json()
    assert series["meetingType"] == "meetingSeries"
    without_password = {k: v for k, v in series.items() if k != "password"}
    with pytest.raises(ConformanceError, match="'password' is a required property"):
        checker.check("GET", f"/v1/meetings/{PLANNING}", 200, JSON, json.dumps(without_password).encode())


def test_an_exception_refuses_to_apply_once_the_spec_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    stale = dataclasses.replace(conformance_exceptions.EXCEPTIONS[0], expected={"type": "number"})
    monkeypatch.setattr(conformance, "EXCEPTIONS", [stale])
    with pytest.raises(RuntimeError, match="no longer matches"):
        load_spec()


def test_every_exception_has_a_reason_and_changes_the_loaded_spec() -> None:
    raw, patched = load_raw_spec(), load_spec()
    assert raw != patched
    for patch in conformance_exceptions.EXCEPTIONS:
        assert len(patch.reason) > 40
        node_raw = conformance._pointer_get(raw, patch.pointer)
        node_patched = conformance._pointer_get(patched, patch.pointer)
        assert node_raw != node_patched


def test_the_client_fixture_checks_every_response(client: TestClient, world: Any) -> None:
    key = "GET /meetingPreferences/sites 200"
    before = conformance.CONFORMANCE.stats.validated[key]
    assert client.get("/v1/meetingPreferences/sites", headers=auth(ADMIN)).status_code == 200
    assert conformance.CONFORMANCE.stats.validated[key] == before + 1
