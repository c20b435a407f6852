"""``meetadmin pmr refresh`` through typer's CliRunner, with the client routed to the real app in-process."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from starlette.types import ASGIApp
from typer.testing import CliRunner

from meetadmin.cli import app as cli_app
from meetadmin.store.models import Person, PersonalRoomId, Site
from tests.conftest import load_world
from tests.test_cli_reassign import route  # noqa: F401 - the fixture
from tests.test_client import JOHN_EMAIL, MARCUS_EMAIL, Recorder
from tests.worlds import ADMIN, SITE, example_world

runner = CliRunner()
REFRESH = "/personalMeetingRoom/refreshId"


def run(tmp_path: Path, *args: str) -> Any:
    base = ["pmr", "refresh", "--token", ADMIN, "--base-url", "http://testserver/v1", "--site", SITE]
    return runner.invoke(cli_app, [*base, *args, "--journal", str(tmp_path / "journal.jsonl")])


def write(tmp_path: Path, text: str, name: str = "people.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def room_of(engine: Engine, email: str) -> str:
    with engine.connect() as conn:
        room = conn.scalar(
            select(PersonalRoomId.room_id)
            .join(Person, Person.id == PersonalRoomId.person_id)
            .join(Site, Site.id == PersonalRoomId.site_id)
            .where(Person.email_key == email.lower(), Site.site_url == SITE, PersonalRoomId.active)
        )
    return str(room)


def rooms_ever(engine: Engine, email: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.scalar(
                select(func.count())
                .select_from(PersonalRoomId)
                .join(Person, Person.id == PersonalRoomId.person_id)
                .join(Site, Site.id == PersonalRoomId.site_id)
                .where(Person.email_key == email.lower(), Site.site_url == SITE)
            )
            or 0
        )


@pytest.mark.parametrize(
    ("flags", "text", "words"),
    [
        (
            ["--csv"],
            "email,roomId\njohn.andersen@example.com,abc\n",
            "needs a 'personalMeetingRoomId' column",
        ),
        (["--csv"], "name,personalMeetingRoomId\nJohn,abc\n", "needs an 'email' or a 'personId' column"),
        (
            ["--csv"],
            "email,personId,personalMeetingRoomId\njohn.andersen@example.com,,abc1\n,Y2lz,abc2\n",
            "line 3: uses personId but line 2 uses email",
        ),
        (
            ["--csv"],
            f"email,personalMeetingRoomId\n{JOHN_EMAIL},john.new\n{MARCUS_EMAIL},\n",
            f"line 3: personalMeetingRoomId is empty for {MARCUS_EMAIL}",
        ),
        (
            ["--csv"],
            f"email,personalMeetingRoomId\n{JOHN_EMAIL},a.one\n\n{MARCUS_EMAIL},a.two\n{JOHN_EMAIL.upper()},a.three\n",
            f"line 5: {JOHN_EMAIL.upper()} is already on line 2",
        ),
        (["--csv"], "email,personalMeetingRoomId\n", "no people listed below the header"),
        (
            ["--system-generated", "--people"],
            "email\njohn.andersen@example.com\nmarcus\n",
            "line 3: 'marcus'",
        ),
    ],
)
def test_a_bad_csv_names_the_line_and_sends_nothing(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,  # noqa: F811
    flags: list[str],
    text: str,
    words: str,
) -> None:
    recorder = Recorder(app)
    route(recorder)
    result = run(tmp_path, *flags, write(tmp_path, text), "--execute", "--yes")
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "Nothing was sent" in result.output
    assert recorder.seen == []
    assert room_of(engine, JOHN_EMAIL) == "prABCD23670651"


def test_csv_and_system_generated_are_exclusive(tmp_path: Path, app: Any, route: Any) -> None:  # noqa: F811
    route(app)
    people = write(tmp_path, f"email\n{JOHN_EMAIL}\n")
    both = run(tmp_path, "--csv", people, "--system-generated", "--people", people)
    assert both.exit_code == 2 and "not both" in both.output
    neither = run(tmp_path, "--system-generated")
    assert neither.exit_code == 2 and "--people FILE" in neither.output


def test_dry_run_shows_old_ids_and_changes_nothing(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,  # noqa: F811
) -> None:
    recorder = Recorder(app)
    route(recorder)
    report = tmp_path / "plan.csv"
    people = write(tmp_path, f"email,personalMeetingRoomId\n{JOHN_EMAIL},john.new\n")
    result = run(tmp_path, "--csv", people, "--report", str(report))
    assert result.exit_code == 0, result.output
    assert "Dry run" in result.output
    assert recorder.posts(REFRESH) == []
    assert read_csv(report) == [
        {
            "person": JOHN_EMAIL,
            "oldPersonalMeetingRoomId": "prABCD23670651",
            "newPersonalMeetingRoomId": "john.new",
            "result": "planned",
            "reason": "",
        }
    ]
    assert room_of(engine, JOHN_EMAIL) == "prABCD23670651"


def test_explicit_ids_are_applied_and_reported(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,  # noqa: F811
) -> None:
    recorder = Recorder(app)
    route(recorder)
    report = tmp_path / "out.json"
    people = write(
        tmp_path, f"email,personalMeetingRoomId\n{JOHN_EMAIL},john.new\n{MARCUS_EMAIL},marcus-2027\n"
    )
    result = run(tmp_path, "--csv", people, "--execute", "--yes", "--report", str(report))
    assert result.exit_code == 0, result.output
    rows = json.loads(report.read_text())
    assert [
        (r["person"], r["oldPersonalMeetingRoomId"], r["newPersonalMeetingRoomId"], r["result"]) for r in rows
    ] == [
        (JOHN_EMAIL, "prABCD23670651", "john.new", "refreshed"),
        (MARCUS_EMAIL, rows[1]["oldPersonalMeetingRoomId"], "marcus-2027", "refreshed"),
    ]
    assert rows[1]["oldPersonalMeetingRoomId"].startswith("prABCD")
    assert room_of(engine, JOHN_EMAIL) == "john.new"
    assert room_of(engine, MARCUS_EMAIL) == "marcus-2027"
    (post,) = recorder.posts(REFRESH)
    assert json.loads(recorder.bodies[post]) == {
        "siteUrl": SITE,
        "personalMeetingRoomIds": [
            {"email": JOHN_EMAIL, "personalMeetingRoomId": "john.new"},
            {"email": MARCUS_EMAIL, "personalMeetingRoomId": "marcus-2027"},
        ],
    }


def test_people_by_person_id(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,  # noqa: F811
) -> None:
    route(app)
    with engine.connect() as conn:
        person_id = conn.scalar(select(Person.person_id).where(Person.email_key == JOHN_EMAIL))
    people = write(tmp_path, f"personId,personalMeetingRoomId\n{person_id},john.by.id\n")
    result = run(tmp_path, "--csv", people, "--execute", "--yes", "--report", str(tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output
    (row,) = read_csv(tmp_path / "out.csv")
    assert (row["person"], row["newPersonalMeetingRoomId"], row["result"]) == (
        person_id,
        "john.by.id",
        "refreshed",
    )
    assert room_of(engine, JOHN_EMAIL) == "john.by.id"


def test_a_refused_batch_is_reported_with_the_servers_words_and_changes_nothing(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,  # noqa: F811
) -> None:
    route(app)
    people = write(tmp_path, f"email,personalMeetingRoomId\n{MARCUS_EMAIL},prABCD23670651\n")  # John's
    result = run(tmp_path, "--csv", people, "--execute", "--yes", "--report", str(tmp_path / "out.csv"))
    assert result.exit_code == 1, result.output
    (row,) = read_csv(tmp_path / "out.csv")
    assert row["result"] == "refused"
    assert "HTTP 400" in row["reason"]
    assert "trackingId" in row["reason"]
    assert room_of(engine, JOHN_EMAIL) == "prABCD23670651"


def test_generated_ids_in_batches_of_100_with_idempotency_keys_and_a_rerun_generates_nothing(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    route: Any,  # noqa: F811
) -> None:
    doc = example_world()
    emails = [f"user{i:03d}@example.com" for i in range(120)]
    doc["people"] += [
        {
            "email": e,
            "displayName": e,
            "sites": {SITE: {"host": True, "licenses": ["meeting"], "sessionTypes": ["3"]}},
        }
        for e in emails
    ]
    load_world(engine, doc)
    before = {e: room_of(engine, e) for e in emails}
    recorder = Recorder(app)
    route(recorder)
    people = write(tmp_path, "email\n" + "\n".join(emails) + "\n")
    report = tmp_path / "out.csv"
    first = run(
        tmp_path, "--system-generated", "--people", people, "--execute", "--yes", "--report", str(report)
    )
    assert first.exit_code == 0, first.output
    posts = recorder.posts(REFRESH)
    sizes = [len(json.loads(recorder.bodies[i])["personalMeetingRoomIds"]) for i in posts]
    assert sizes == [100, 20]
    assert all(
        item == {"email": item["email"], "systemGenerated": True}
        for i in posts
        for item in json.loads(recorder.bodies[i])["personalMeetingRoomIds"]
    )
    rows = read_csv(report)
    assert [r["person"] for r in rows] == emails
    for r in rows:
        assert r["result"] == "refreshed"
        assert r["oldPersonalMeetingRoomId"] == before[r["person"]]
        assert re.fullmatch(r"prABCD\d{8}", r["newPersonalMeetingRoomId"])
        assert r["newPersonalMeetingRoomId"] != before[r["person"]]
        assert room_of(engine, r["person"]) == r["newPersonalMeetingRoomId"]

    again = Recorder(app)
    route(again)
    second = run(
        tmp_path, "--system-generated", "--people", people, "--execute", "--yes", "--report", str(report)
    )
    assert second.exit_code == 0, second.output
    assert again.posts(REFRESH) == []
    assert [r["newPersonalMeetingRoomId"] for r in read_csv(report)] == [
        r["newPersonalMeetingRoomId"] for r in rows
    ]
    assert [r["oldPersonalMeetingRoomId"] for r in read_csv(report)] == [before[e] for e in emails]
    assert all(rooms_ever(engine, e) == 2 for e in emails)


class LosesFirstAnswer(TestClient):
    """Delivers the first refreshId POST to the server, then 'loses' its answer (a dropped connection)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app, base_url="http://testserver", raise_server_exceptions=False)
        self.keys: list[str] = []

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = super().send(request, **kwargs)
        if request.method == "POST" and request.url.path.endswith(REFRESH):
            self.keys.append(request.headers["Idempotency-Key"])
            if len(self.keys) == 1:
                raise httpx.ReadError("connection reset", request=request)
        return response


def test_a_retried_batch_reuses_its_key_and_never_generates_twice(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,  # noqa: F811
) -> None:
    http = LosesFirstAnswer(app)
    route(http)
    people = write(tmp_path, f"email\n{JOHN_EMAIL}\n{MARCUS_EMAIL}\n")
    report = tmp_path / "out.csv"
    result = run(
        tmp_path, "--system-generated", "--people", people, "--execute", "--yes", "--report", str(report)
    )
    assert result.exit_code == 0, result.output
    assert len(http.keys) == 2 and http.keys[0] == http.keys[1]
    rows = {r["person"]: r for r in read_csv(report)}
    assert room_of(engine, JOHN_EMAIL) == rows[JOHN_EMAIL]["newPersonalMeetingRoomId"]
    assert rooms_ever(engine, JOHN_EMAIL) == 2  # the old ID (quarantined) and one new ID, not two
    assert rooms_ever(engine, MARCUS_EMAIL) == 2
