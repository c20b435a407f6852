"""``meetadmin export`` round trips (contract-notes §8.4): load -> export -> load into a fresh database ->
export again gives the same YAML, and the state's key facts are equal; ``load`` reads files of several
documents."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from bench.world import build
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from meetadmin.cli import app as cli_app
from meetadmin.demo import demo_document
from meetadmin.store.db import make_engine, normalise_url
from meetadmin.store.models import (
    HostPrivilege,
    MeetingInstance,
    MeetingSeries,
    Org,
    Person,
    PersonalRoomId,
    PersonalRoomSettings,
    PersonSessionType,
    SessionType,
    Site,
)
from tests.conftest import PG_URL, load_world
from tests.control_plane import CONTROL_AUTH, sandbox_client
from tests.worlds import auth

runner = CliRunner()
SITE = "example.webex.com"
ADMIN = "example-admin-token"
MARCUS = "marcus.hoffmann@example.com"
JOHN = "john.andersen@example.com"


@pytest.fixture
def fresh_url(database_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second empty (migrated) database on the same backend as ``database_url``."""
    if database_url.startswith("sqlite"):
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "fresh.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("pg_template")
    name = f"meetadmin_x_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    yield make_url(normalise_url(PG_URL)).set(database=name).render_as_string(False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def export(url: str, *args: str) -> str:
    result = runner.invoke(cli_app, ["export", "--database-url", url, *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def load(url: str, path: Path) -> None:
    result = runner.invoke(cli_app, ["load", "--database-url", url, str(path)])
    assert result.exit_code == 0, result.output


def facts(url: str) -> dict[str, Any]:
    """What must survive the round trip, read straight from the database (keys: emails, URLs, IDs)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            email = {r.id: r.email for r in conn.execute(select(Person.id, Person.email))}
            site = {r.id: r.site_url for r in conn.execute(select(Site.id, Site.site_url))}
            return {
                "orgs": sorted(tuple(r) for r in conn.execute(select(Org.id, Org.name, Org.webex_id))),
                "people": sorted(
                    (r.email, r.person_id, r.display_name, r.is_admin, site.get(r.preferred_site_id))
                    for r in conn.execute(select(Person.__table__))
                ),
                "sites": sorted(
                    (r.site_url, r.pmr_prefix, r.pmr_site_code, r.pmr_digits, r.pmr_quarantine_days)
                    for r in conn.execute(select(Site.__table__))
                ),
                "session_types": sorted(
                    (site[r.site_id], r.type_id, r.short_name, r.name, r.kind)
                    for r in conn.execute(select(SessionType.__table__))
                ),
                "privileges": sorted(
                    (
                        email[r.person_id],
                        site[r.site_id],
                        r.host,
                        r.license_meeting,
                        r.license_webinar,
                        r.calling,
                    )
                    for r in conn.execute(select(HostPrivilege.__table__))
                ),
                "person_types": sorted(
                    (email[r.person_id], site[r.site_id], r.type_id)
                    for r in conn.execute(select(PersonSessionType.__table__))
                ),
                "rooms": sorted(
                    (
                        email[r.person_id],
                        site[r.site_id],
                        r.room_id,
                        r.active,
                        r.released_at,
                        r.reserved_until,
                    )
                    for r in conn.execute(select(PersonalRoomId.__table__))
                ),
                "room_options": sorted(
                    (
                        email[r.person_id],
                        site[r.site_id],
                        r.topic,
                        r.host_pin,
                        r.enabled_auto_lock,
                        r.auto_lock_minutes,
                        r.enabled_notify_host,
                        r.support_co_host,
                        r.support_anyone_as_co_host,
                        r.allow_first_user_to_be_co_host,
                        r.allow_authenticated_devices,
                        repr(r.co_hosts),
                    )
                    for r in conn.execute(select(PersonalRoomSettings.__table__))
                ),
                "series": sorted(
                    (
                        r.id,
                        email[r.host_id],
                        r.state,
                        r.title,
                        r.start,
                        r.end,
                        r.recurrence,
                        r.session_type_id,
                        r.scheduled_type,
                        r.callback,
                        r.integration,
                        r.meeting_number,
                        r.password,
                    )
                    for r in conn.execute(select(MeetingSeries.__table__))
                ),
                "instances": sorted(
                    (r.id, r.series_id, email[r.host_id], r.start, r.end, r.state)
                    for r in conn.execute(select(MeetingInstance.__table__))
                ),
            }
    finally:
        engine.dispose()


def round_trip(tmp_path: Path, url: str, fresh: str) -> dict[str, Any]:
    first = tmp_path / "first.yaml"
    export(url, "--output", str(first))
    assert export(url) == first.read_text(encoding="utf-8")  # standard output: the same text
    load(fresh, first)
    again = export(fresh)
    assert again == first.read_text(encoding="utf-8")
    assert facts(fresh) == facts(url)
    return facts(fresh)


def test_the_demo_organisation_after_changes_round_trips(
    engine: Engine, database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    demo = demo_document()
    load_world(engine, demo)
    recurring = next(m for m in demo["meetings"] if m.get("endedInstances") and m["host"] == MARCUS)
    with sandbox_client(engine, database_url) as client:
        listed = client.get(
            "/v1/meetings",
            headers=auth(ADMIN),
            params={
                "hostEmail": MARCUS,
                "from": recurring["start"],
                "max": 1,
                "meetingType": "meetingSeries",
            },
        )
        assert listed.status_code == 200, listed.text
        series_id = listed.json()["items"][0]["id"]
        started = client.post(f"/_meetadmin/meetings/{series_id}/start", headers=CONTROL_AUTH)
        assert started.status_code == 201, started.text
        assert client.post(f"/_meetadmin/meetings/{series_id}/end", headers=CONTROL_AUTH).status_code == 200
        moved = client.post(
            "/v1/meetings/reassignHost",
            headers=auth(ADMIN),
            json={"hostEmail": JOHN, "meetingIds": [series_id]},
        )
        assert moved.status_code == 204, moved.text
        body = {
            "siteUrl": SITE,
            "personalMeetingRoomIds": [{"email": JOHN, "personalMeetingRoomId": "john-exported"}],
        }
        refreshed = client.post(
            "/v1/admin/meetingPreferences/personalMeetingRoom/refreshId", headers=auth(ADMIN), json=body
        )
        assert refreshed.status_code == 200, refreshed.text
        options = {
            "topic": "John's exported room",
            "hostPin": "4325",
            "enabledAutoLock": True,
            "autoLockMinutes": 10,
            "enabledNotifyHost": True,
            "supportCoHost": True,
            "coHosts": [{"email": MARCUS, "displayName": "Marcus"}],
        }
        room = client.put(
            "/v1/meetingPreferences/personalMeetingRoom",
            headers=auth(ADMIN),
            params={"userEmail": JOHN, "siteUrl": SITE},
            json=options,
        )
        assert room.status_code == 200, room.text

    state = round_trip(tmp_path, database_url, fresh_url)
    assert [r[:4] for r in state["room_options"]] == [(JOHN, SITE, "John's exported room", "4325")]
    assert ("john.andersen@example.com", SITE, "prABCD23670651", False) in {r[:4] for r in state["rooms"]}
    assert [r[2] for r in state["instances"] if r[1] == series_id and r[5] == "ended"].count(MARCUS) >= 1
    assert next(r[1] for r in state["series"] if r[0] == series_id) == JOHN
    assert any(r[2] == "inProgress" for r in state["series"])  # the demo's meetings in progress
    assert len(state["series"]) == len(demo["meetings"])


def test_several_organisations_in_one_file_load_and_round_trip(
    engine: Engine, database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    load_world(engine, demo_document(), build(series=30, people=8))
    state = round_trip(tmp_path, database_url, fresh_url)
    assert [o[0] for o in state["orgs"]] == ["bench", "example"]
    documents = list(yaml.safe_load_all((tmp_path / "first.yaml").read_text(encoding="utf-8")))
    assert len(documents) == 2 and all("tokens" not in d for d in documents)
    only = export(database_url, "--org", "bench")
    assert [d["org"]["id"] for d in yaml.safe_load_all(only)] == ["bench"]
    unknown = runner.invoke(cli_app, ["export", "--database-url", database_url, "--org", "nope"])
    assert unknown.exit_code == 1 and "nope" in unknown.output


def test_an_exported_organisation_serves_like_the_original(
    engine: Engine, database_url: str, fresh_url: str, tmp_path: Path
) -> None:
    load_world(engine, build(series=12, people=3))
    path = tmp_path / "bench.yaml"
    export(database_url, "--output", str(path))
    load(fresh_url, path)
    fresh = make_engine(fresh_url)
    try:
        with sandbox_client(fresh, fresh_url) as client, sandbox_client(engine, database_url) as original:
            for c in (client, original):
                assert c.put("/_meetadmin/clock", headers=CONTROL_AUTH, json={"now": "2027-01-01T00:00:00Z"})
            params = {
                "meetingType": "meetingSeries",
                "from": "2027-01-01T00:00:00Z",
                "to": "2028-01-01T00:00:00Z",
            }
            admin = {"Authorization": "Bearer bench-admin-token"}
            assert client.get("/v1/meetings", headers=admin, params=params).status_code == 401  # no tokens
            theirs = original.get("/v1/meetings", headers=admin, params={**params, "max": 100}).json()
            assert len(theirs["items"]) == 12
    finally:
        fresh.dispose()


def test_a_bad_document_of_several_names_itself_and_loads_nothing(database_url: str, tmp_path: Path) -> None:
    good, bad = build(series=2, people=2), demo_document()
    bad["people"][1]["sites"][SITE]["quarantinedRoomIds"] = [
        {
            "id": "prABCD23670651",
            "releasedAt": "2027-01-01T00:00:00Z",
            "reservedUntil": "2027-04-01T00:00:00Z",
        }
    ]  # John's own current ID
    path = tmp_path / "two.yaml"
    path.write_text(yaml.safe_dump_all([good, bad]), encoding="utf-8")
    result = runner.invoke(cli_app, ["load", "--database-url", database_url, str(path)])
    assert result.exit_code == 1
    assert f"{path}#2: people[1] (john.andersen@example.com): key " in result.output
    assert "quarantinedRoomIds[0]" in result.output
    assert facts(database_url)["orgs"] == []  # all-or-nothing: the good document is not loaded either


def test_instances_and_ended_instances_do_not_go_together(database_url: str, tmp_path: Path) -> None:
    doc = build(series=1, people=1)
    series = doc["meetings"][0]
    series["endedInstances"] = 2
    series["instances"] = [
        {
            "id": f"{series['id']}_I_1",
            "host": series["host"],
            "start": "2027-02-01T10:00:00Z",
            "state": "ended",
        }
    ]
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = runner.invoke(cli_app, ["load", "--database-url", database_url, str(path)])
    assert result.exit_code == 1 and "give 'instances' or 'endedInstances', not both" in result.output
    series["endedInstances"] = 0
    series["instances"][0]["id"] = "f" * 32 + "_I_1"  # another series' instance ID
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    result = runner.invoke(cli_app, ["load", "--database-url", database_url, str(path)])
    assert result.exit_code == 1 and "instances[0].id" in result.output


def test_a_deleted_series_kept_for_its_history_is_not_exported(
    client: Any, engine: Engine, world: Any
) -> None:
    """Delete a Meeting keeps a series with ended instances (hidden); an export must not bring it back."""
    from meetadmin.store.export import export_documents
    from meetadmin.store.writer import Writer
    from tests.worlds import ADMIN, PLANNING, WEBINAR

    assert client.delete(f"/v1/meetings/{PLANNING}", headers=auth(ADMIN)).status_code == 204
    with engine.connect() as conn:
        kept = conn.execute(select(MeetingSeries.deleted_at).where(MeetingSeries.id == PLANNING)).scalar_one()
    assert kept is not None  # still there, for its ended instances
    [doc] = Writer(engine).read_now(lambda conn: export_documents(conn, ["example"]))
    exported = {m["id"] for m in doc["meetings"]}
    assert PLANNING not in exported and WEBINAR in exported
