"""The admin console over HTTP (the app in-process, a real database): sign-in and sessions, CSRF, what a
token may see and do, offboarding and personal room refresh through the same services as the API."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text, update

from meetadmin.store.db import begin
from meetadmin.store.models import ConsoleSession, MeetingSeries, Person, PersonalRoomId
from tests.conftest import load_world
from tests.console_support import LEAVER, READONLY, XSS_SERIES, XSS_TITLE, console_world, csrf_of, sign_in
from tests.worlds import ADMIN, JOHN, LIVE, OTHER_ADMIN, PLANNING, SITE, other_world

MARCUS = "marcus.hoffmann@example.com"
JOHN_EMAIL = "john.andersen@example.com"


@pytest.fixture
def console(app: Any, engine: Engine) -> Iterator[TestClient]:
    load_world(engine, console_world(), other_world())
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def host_of(engine: Engine, series_id: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                select(Person.email)
                .join(MeetingSeries, MeetingSeries.host_id == Person.id)
                .where(MeetingSeries.id == series_id)
            ).scalar_one()
        )


def plan_url(from_email: str = MARCUS, to_email: str = JOHN_EMAIL) -> str:
    return f"/console/offboard?from={from_email}&to={to_email}&site={SITE}"


def test_root_goes_to_the_console_and_the_console_to_sign_in(console: TestClient) -> None:
    root = console.get("/", follow_redirects=False)
    assert root.status_code == 303 and root.headers["location"] == "/console"
    page = console.get("/console/people", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/login?next=%2Fconsole%2Fpeople"
    form = console.get("/console/login")
    assert 'name="token"' in form.text and 'name="csrf_token"' in form.text


def test_sign_in_sets_a_strict_httponly_expiring_cookie_and_sign_out_ends_the_session(
    console: TestClient,
) -> None:
    form = console.get("/console/login")
    answer = console.post(
        "/console/login",
        data={"csrf_token": csrf_of(form.text), "token": ADMIN, "next": "/console/audit"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/audit"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("meetadmin_console="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=28800" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1; under https the cookie is Secure
    session_id = console.cookies["meetadmin_console"]
    overview = console.get("/console")
    assert overview.status_code == 200 and "Example Inc." in overview.text
    assert "Content-Security-Policy" in overview.headers

    out = console.post("/console/logout", data={"csrf_token": csrf_of(overview.text)}, follow_redirects=False)
    assert out.status_code == 303
    console.cookies.set("meetadmin_console", session_id)  # the old cookie, replayed
    assert console.get("/console", follow_redirects=False).status_code == 303


def test_https_sign_in_sets_a_secure_cookie(app: Any, engine: Engine) -> None:
    load_world(engine, console_world())
    with TestClient(app, base_url="https://127.0.0.1") as client:
        form = client.get("/console/login")
        answer = client.post(
            "/console/login",
            data={"csrf_token": csrf_of(form.text), "token": ADMIN},
            follow_redirects=False,
        )
        cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith("meetadmin_console="))
        assert "Secure" in cookie


@pytest.mark.parametrize(
    ("token", "words"),
    [("no-such-token", "not known"), (JOHN, "for administrators")],
)
def test_unknown_tokens_and_non_admins_cannot_sign_in(console: TestClient, token: str, words: str) -> None:
    form = console.get("/console/login")
    answer = console.post("/console/login", data={"csrf_token": csrf_of(form.text), "token": token})
    assert answer.status_code == 401 and words in answer.text
    assert "meetadmin_console" not in console.cookies


def test_the_sign_in_form_needs_its_csrf_token(console: TestClient) -> None:
    console.get("/console/login")
    answer = console.post("/console/login", data={"csrf_token": "forged", "token": ADMIN})
    assert answer.status_code == 403
    assert "meetadmin_console" not in console.cookies


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(
    console: TestClient, engine: Engine
) -> None:
    sign_in(console, ADMIN)
    form = {"from": MARCUS, "to": JOHN_EMAIL, "site": SITE, "confirm": "yes"}
    for sent in (form, {**form, "csrf_token": "not-the-session-token"}):
        answer = console.post("/console/offboard", data=sent)
        assert answer.status_code == 403 and "CSRF" in answer.text
    assert host_of(engine, PLANNING) == MARCUS


def test_an_expired_session_goes_back_to_sign_in(console: TestClient, engine: Engine) -> None:
    sign_in(console, ADMIN)
    assert console.get("/console/people", follow_redirects=False).status_code == 200
    with begin(engine, write=True) as conn:
        conn.execute(update(ConsoleSession).values(expires=text("created")))
    page = console.get("/console/people", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/console/login?next=")
    polled = console.post("/console/jobs/x/next", headers={"HX-Request": "true"}, follow_redirects=False)
    assert polled.headers["HX-Redirect"].startswith("/console/login")


def test_a_read_only_admin_sees_everything_and_writes_nothing(console: TestClient, engine: Engine) -> None:
    csrf = sign_in(console, READONLY)
    assert "it cannot offboard" in console.get("/console").text
    assert MARCUS in console.get("/console/people").text
    offboard = console.get(plan_url())
    assert offboard.status_code == 200 and "meeting:admin_schedule_write" in offboard.text
    assert 'action="/console/offboard"' not in offboard.text
    rooms = console.get("/console/rooms")
    assert 'action="/console/rooms/check"' not in rooms.text
    forced = {"csrf_token": csrf, "from": MARCUS, "to": JOHN_EMAIL, "site": SITE, "confirm": "yes"}
    assert console.post("/console/offboard", data=forced).status_code == 403
    csv_text = f"email,personalMeetingRoomId\n{JOHN_EMAIL},prFORCED123\n"
    for path in ("/console/rooms/check", "/console/rooms"):
        answer = console.post(path, data={"csrf_token": csrf, "site": SITE, "mode": "ids", "csv": csv_text})
        assert answer.status_code == 403
    assert host_of(engine, PLANNING) == MARCUS
    with engine.connect() as conn:
        assert (
            conn.execute(select(PersonalRoomId).where(PersonalRoomId.room_id == "prFORCED123")).first()
            is None
        )


def test_nothing_of_another_organisation_is_shown(console: TestClient) -> None:
    csrf = sign_in(console, ADMIN)
    started = console.post(
        "/console/offboard",
        data={"csrf_token": csrf, "from": MARCUS, "to": JOHN_EMAIL, "site": SITE, "confirm": "yes"},
        follow_redirects=False,
    )
    job = started.headers["location"]
    marcus_page = re.search(r'href="(/console/people/[^"]+)">Marcus', console.get("/console/people").text)
    assert marcus_page
    console.post("/console/logout", data={"csrf_token": csrf})

    sign_in(console, OTHER_ADMIN)
    people = console.get("/console/people").text
    assert "Hank Scorpio" in people and MARCUS not in people
    assert "No one found." in console.get("/console/people", params={"q": MARCUS}).text
    assert console.get(marcus_page.group(1)).status_code == 404
    assert console.get(job).status_code == 404
    assert console.get(job + "/report.csv").status_code == 404
    assert "Example Inc." not in console.get("/console").text
    plan = console.get(plan_url())
    assert plan.status_code == 400 and "not a site of your organisation" in plan.text


def test_offboard_plan_then_execute_then_report(console: TestClient, engine: Engine) -> None:
    csrf = sign_in(console, ADMIN)
    plan = console.get(plan_url())
    assert plan.status_code == 200
    assert "Quarterly planning" in plan.text and "will move" in plan.text
    assert "The meeting is in progress" in plan.text  # each meeting's verdict, in words
    assert "<strong>4</strong> would move, <strong>8</strong> would be refused" in plan.text
    assert host_of(engine, PLANNING) == MARCUS  # the plan changes nothing

    unconfirmed = {"csrf_token": csrf, "from": MARCUS, "to": JOHN_EMAIL, "site": SITE}
    assert console.post("/console/offboard", data=unconfirmed).status_code == 400
    started = console.post(
        "/console/offboard", data={**unconfirmed, "confirm": "yes"}, follow_redirects=False
    )
    job = started.headers["location"]
    page = console.get(job)
    assert "0 of 12 done" in page.text and 'hx-post="' + job + '/next"' in page.text

    console.post(job + "/next", data={"csrf_token": csrf})
    done = console.get(job).text
    assert "Finished." in done and "12 of 12 done" in done
    results = done.split('class="results"')[1]
    assert "Quarterly planning" in results and "The meeting is in progress" in results
    assert host_of(engine, PLANNING) == JOHN_EMAIL and host_of(engine, LIVE) == MARCUS

    report = console.get(job + "/report.csv")
    assert report.headers["content-type"].startswith("text/csv")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(report.text))}
    assert rows[PLANNING]["result"] == "moved"
    assert rows[LIVE]["result"] == "refused" and rows[LIVE]["httpStatus"] == "409"
    assert "in progress" in rows[LIVE]["reason"]
    assert rows[XSS_SERIES]["title"] == XSS_TITLE
    audit = console.get("/console/audit", params={"type": "reassignHost", "target": PLANNING}).text
    assert "Quarterly planning" in audit and f"{MARCUS} → {JOHN_EMAIL}" in audit


def test_a_refused_new_host_is_named_and_nothing_starts(console: TestClient) -> None:
    csrf = sign_in(console, ADMIN)
    plan = console.get(plan_url(to_email="brenda.song@example.com"))
    assert plan.status_code == 403 and "brenda.song@example.com" in plan.text
    sent = {
        "csrf_token": csrf,
        "from": MARCUS,
        "to": "brenda.song@example.com",
        "site": SITE,
        "confirm": "yes",
    }
    assert console.post("/console/offboard", data=sent, follow_redirects=False).status_code == 403


def test_a_large_offboarding_runs_a_batch_of_100_per_request(
    app: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meetadmin.console import offboard

    load_world(engine, console_world(bulk=230))
    with TestClient(app, base_url="http://127.0.0.1") as console:
        csrf = sign_in(console, ADMIN)
        plan = console.get(plan_url(from_email=LEAVER))
        assert "<strong>230</strong> would move" in plan.text and "Page 1 of 3" in plan.text
        assert "Showing meetings 1 to 100." in plan.text
        monkeypatch.setattr(offboard, "WHOLE_PLAN", 100)  # past it, each page counts its own verdicts
        last = console.get(plan_url(from_email=LEAVER) + "&page=3").text
        assert "Of meetings 201 to 230 (this page)" in last and "<strong>30</strong> would move" in last
        assert "Bulk meeting 230" in last and "Bulk meeting 200<" not in last
        started = console.post(
            "/console/offboard",
            data={"csrf_token": csrf, "from": LEAVER, "to": JOHN_EMAIL, "site": SITE, "confirm": "yes"},
            follow_redirects=False,
        )
        job = started.headers["location"]
        steps = []
        for _ in range(3):
            fragment = console.post(job + "/next", data={"csrf_token": csrf}, headers={"HX-Request": "true"})
            steps.append(
                fragment.headers.get("HX-Redirect") or re.search(r"([\d,]+) of 230 done", fragment.text)[1]
            )  # type: ignore[index]
        assert steps == ["100", "200", job]
        report = list(csv.DictReader(io.StringIO(console.get(job + "/report.csv").text)))
        assert len(report) == 230 and {r["result"] for r in report} == {"moved"}


def test_a_meeting_title_is_shown_as_text(console: TestClient) -> None:
    sign_in(console, ADMIN)
    plan = console.get(plan_url()).text
    assert "&lt;img src=x onerror=alert(1)&gt;" in plan
    assert XSS_TITLE not in plan


def test_room_refresh_names_the_bad_line_and_changes_nothing(console: TestClient, engine: Engine) -> None:
    csrf = sign_in(console, ADMIN)
    csv_text = (
        "email,personalMeetingRoomId\n"
        f"{JOHN_EMAIL},prNEWJOHN01\n"
        "nobody@example.com,prNOBODY01\n"
        f"{MARCUS},prNEWMARCUS1\n"
    )
    checked = console.post(
        "/console/rooms/check", data={"csrf_token": csrf, "site": SITE, "mode": "ids", "csv": csv_text}
    )
    assert checked.status_code == 400
    assert re.search(r"line 3 \(nobody@example.com\): [^<]*nobody@example.com", checked.text)
    assert "line 2" not in checked.text.split("Fix these lines")[1].split("</ul>")[0]
    with engine.connect() as conn:
        assert (
            conn.execute(select(PersonalRoomId).where(PersonalRoomId.room_id == "prNEWJOHN01")).first()
            is None
        )

    broken = console.post(
        "/console/rooms/check",
        data={
            "csrf_token": csrf,
            "site": SITE,
            "mode": "ids",
            "csv": csv_text + f"{JOHN_EMAIL},prAGAIN001\n",
        },
    )
    assert (
        broken.status_code == 400
        and "pasted CSV: line 5" in broken.text
        and "already on line 2" in broken.text
    )


def test_room_refresh_runs_and_reports_old_and_new_ids(console: TestClient) -> None:
    csrf = sign_in(console, ADMIN)
    picked = console.get("/console/rooms", params={"site": SITE, "person": [JOHN_EMAIL, MARCUS]})
    assert f"email\n{JOHN_EMAIL}\n{MARCUS}" in picked.text and 'value="generated" checked' in picked.text
    csv_text = f"email\n{JOHN_EMAIL}\n{MARCUS}\n"
    sent = {"csrf_token": csrf, "site": SITE, "mode": "generated", "csv": csv_text}
    assert console.post("/console/rooms/check", data=sent).status_code == 200
    started = console.post("/console/rooms", data=sent, follow_redirects=False)
    job = started.headers["location"]
    console.post(job + "/next", data={"csrf_token": csrf})
    rows = list(csv.DictReader(io.StringIO(console.get(job + "/report.csv").text)))
    assert [(r["line"], r["person"], r["result"]) for r in rows] == [
        ("2", JOHN_EMAIL, "refreshed"),
        ("3", MARCUS, "refreshed"),
    ]
    assert rows[0]["oldId"] == "prABCD23670651"
    assert all(re.fullmatch(r"prABCD\d{8}", r["newId"]) for r in rows)
    assert rows[0]["newId"] != rows[0]["oldId"]
    person = console.get("/console/people", params={"q": "John"}).text
    assert (
        rows[0]["newId"] in person
        or rows[0]["newId"]
        in console.get(
            re.search(r'href="(/console/people/[^"]+)">John', person)[1]  # type: ignore[index]
        ).text
    )


def test_the_audit_log_pages_and_a_rare_filter_searches_on_in_steps(
    app: Any, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meetadmin.console import queries

    monkeypatch.setattr(queries, "AUDIT_SCAN", 100)
    load_world(engine, console_world(bulk=230))
    with TestClient(app, base_url="http://127.0.0.1") as console:
        csrf = sign_in(console, ADMIN)
        started = console.post(
            "/console/offboard",
            data={"csrf_token": csrf, "from": LEAVER, "to": JOHN_EMAIL, "site": SITE, "confirm": "yes"},
            follow_redirects=False,
        )
        for _ in range(3):
            console.post(started.headers["location"] + "/next", data={"csrf_token": csrf})

        seen: list[str] = []
        page = console.get("/console/audit")
        while True:
            seen += re.findall(r"Bulk meeting \d+", page.text)
            older = re.search(r'href="(\?[^"]*before=[^"]*)"', page.text)
            if older is None:
                break
            page = console.get("/console/audit" + older[1].replace("&amp;", "&"))
        assert len(seen) == 230 and len(set(seen)) == 230  # 50 a page, newest first, none twice

        oldest = "d" * 2 + f"{0:030x}"  # Bulk meeting 1, moved in the first batch: the oldest events
        first = console.get("/console/audit", params={"target": oldest})
        assert "Bulk meeting 1<" not in first.text and "There are older events to search" in first.text
        steps = 0
        page = first
        while "Bulk meeting 1<" not in page.text:
            more = re.search(r'href="(\?[^"]*before=[^"]*)"[^>]*>Search older events', page.text)
            assert more, "the search stopped without finding the event"
            page = console.get("/console/audit" + more[1].replace("&amp;", "&"))
            steps += 1
        assert steps >= 1


def test_a_read_only_admin_sees_a_job_but_cannot_run_it(console: TestClient, engine: Engine) -> None:
    csrf = sign_in(console, ADMIN)
    started = console.post(
        "/console/offboard",
        data={"csrf_token": csrf, "from": MARCUS, "to": JOHN_EMAIL, "site": SITE, "confirm": "yes"},
        follow_redirects=False,
    )
    job = started.headers["location"]
    console.post("/console/logout", data={"csrf_token": csrf})

    csrf = sign_in(console, READONLY)
    page = console.get(job)
    assert page.status_code == 200 and "Quarterly planning" in page.text
    assert "/next" not in page.text and "Your token cannot run this job." in page.text
    assert console.post(job + "/next", data={"csrf_token": csrf}).status_code == 403
    assert "0 of 12 done" in console.get(job).text
    assert host_of(engine, PLANNING) == MARCUS


@pytest.mark.parametrize(
    "target", ["//evil.example/console", "https://evil.example/", "/v1/people", "/console\\@x"]
)
def test_sign_in_only_returns_to_a_console_page(console: TestClient, target: str) -> None:
    form = console.get("/console/login", params={"next": target})
    answer = console.post(
        "/console/login",
        data={"csrf_token": csrf_of(form.text), "token": ADMIN, "next": target},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/console"


def test_report_cells_never_start_a_spreadsheet_formula() -> None:
    from meetadmin.console.job_pages import _cell

    assert [_cell(v) for v in ["=1+1", "+1", "-1", "@SUM(A1)", "plain", None, 409]] == [
        "'=1+1",
        "'+1",
        "'-1",
        "'@SUM(A1)",
        "plain",
        "",
        "409",
    ]
