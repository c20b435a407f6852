"""``meetadmin reassign`` through typer's CliRunner, with the client routed to the real app in-process."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.types import ASGIApp
from typer.testing import CliRunner

from meetadmin.cli import app as cli_app
from meetadmin.client import WebexClient, commands
from tests.conftest import load_world
from tests.test_client import FAST, JOHN_EMAIL, MARCUS_EMAIL, Recorder, host_of, many_series
from tests.worlds import (
    ADMIN,
    CALLBACK,
    LIVE,
    OTHER_SITE,
    PLANNING,
    SITE,
    TRAINING,
    UNKNOWN,
    WEBINAR,
    example_world,
)

runner = CliRunner()


class Faulty(TestClient):
    """A TestClient whose connection 'drops' on the reassign POST number ``fail_from`` and after."""

    def __init__(self, app: ASGIApp, fail_from: int) -> None:
        super().__init__(app, base_url="http://testserver", raise_server_exceptions=False)
        self.fail_from = fail_from
        self.reassign_posts = 0

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/meetings/reassignHost"):
            self.reassign_posts += 1
            if self.reassign_posts >= self.fail_from:
                raise httpx.ConnectError("connection refused", request=request)
        return super().send(request, **kwargs)


class BusyItems(TestClient):
    """Rewrites the answers to the first ``times`` reassign POSTs so their last item says 423 Locked."""

    def __init__(self, app: ASGIApp, times: int) -> None:
        super().__init__(app, base_url="http://testserver", raise_server_exceptions=False)
        self.times = times
        self.sent: list[list[str]] = []

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        response = super().send(request, **kwargs)
        if request.method != "POST" or not request.url.path.endswith("/meetings/reassignHost"):
            return response
        ids = json.loads(request.content)["meetingIds"]
        self.sent.append(ids)
        if len(self.sent) > self.times:
            return response
        items = response.json()["items"] if response.status_code == 207 else []
        items = items or [{"meetingId": m, "httpStatus": 200} for m in ids]
        items[-1] = {
            "meetingId": ids[-1],
            "httpStatus": 423,
            "message": "Locked.",
            "errors": [{"description": "Busy."}],
        }
        return httpx.Response(207, json={"items": items}, request=request)


@pytest.fixture
def route(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``route(asgi_app_or_http_client)``: send the CLI's calls there."""

    def use(target: Any) -> None:
        http = (
            target
            if isinstance(target, httpx.Client)
            else TestClient(target, base_url="http://testserver", raise_server_exceptions=False)
        )
        monkeypatch.setattr(
            commands,
            "client_factory",
            lambda base, token: WebexClient(base, token, http_client=http, retry=FAST),
        )

    monkeypatch.delenv("WEBEX_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("MEETADMIN_BASE_URL", raising=False)
    yield use


def run(tmp_path: Path, *args: str, token: str = ADMIN) -> Any:
    base = ["reassign", "--token", token, "--base-url", "http://testserver/v1"]
    return runner.invoke(cli_app, [*base, *args, "--journal", str(tmp_path / "journal.jsonl")])


def ids_file(tmp_path: Path, ids: list[str], name: str = "ids.txt") -> str:
    path = tmp_path / name
    path.write_text("# meetings to move\n" + "\n".join(f"{i}  # a comment" for i in ids) + "\n\n")
    return str(path)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_dry_run_is_the_default_and_changes_nothing(
    tmp_path: Path, app: Any, engine: Engine, world: dict[str, Any], route: Any
) -> None:
    recorder = Recorder(app)
    route(recorder)
    report = tmp_path / "plan.csv"
    result = run(
        tmp_path, "--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--site", SITE,
        "--ids", ids_file(tmp_path, [PLANNING, LIVE]), "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 1, result.output  # LIVE would be refused
    assert "Dry run: nothing was changed" in result.output
    assert recorder.posts("/meetings/reassignHost") == []
    assert len(recorder.posts("/meetings/reassignHost/preview")) == 1
    assert host_of(engine, PLANNING) == MARCUS_EMAIL
    rows = {r["id"]: r for r in read_csv(report)}
    assert rows[PLANNING]["result"] == "would move"
    assert rows[PLANNING]["title"] == "Quarterly planning"
    assert rows[LIVE]["result"] == "would be refused"
    assert "409" in rows[LIVE]["reason"]
    assert not (tmp_path / "journal.jsonl").exists()


def test_a_server_without_preview_says_so_and_plans_without_verdicts(
    tmp_path: Path, app: Any, engine: Engine, world: dict[str, Any], route: Any
) -> None:
    async def like_webex(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/reassignHost/preview"):
            body = b'{"message":"The requested resource could not be found.","trackingId":"ROUTER_1"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    route(like_webex)
    report = tmp_path / "plan.csv"
    result = run(
        tmp_path, "--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--site", SITE,
        "--ids", ids_file(tmp_path, [PLANNING, LIVE]), "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Preview not supported by this server" in result.output
    assert [(r["id"], r["result"]) for r in read_csv(report)] == [(PLANNING, "planned"), (LIVE, "planned")]
    assert host_of(engine, PLANNING) == MARCUS_EMAIL


def test_a_new_host_who_cannot_host_stops_the_run_before_anything_is_sent(
    tmp_path: Path, app: Any, engine: Engine, world: dict[str, Any], route: Any
) -> None:
    recorder = Recorder(app)
    route(recorder)
    result = run(
        tmp_path, "--from", MARCUS_EMAIL, "--to", "brenda.song@example.com", "--site", SITE,
        "--ids", ids_file(tmp_path, [PLANNING]), "--execute", "--yes",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "HTTP 403" in result.output and "trackingId" in result.output
    assert recorder.posts("/meetings/reassignHost") == []
    assert host_of(engine, PLANNING) == MARCUS_EMAIL


def test_an_unknown_new_host_is_caught_before_anything_is_sent(
    tmp_path: Path, app: Any, world: dict[str, Any], route: Any
) -> None:
    recorder = Recorder(app)
    route(recorder)
    result = run(tmp_path, "--from", MARCUS_EMAIL, "--to", "nobody@example.com", "--execute", "--yes")
    assert result.exit_code == 1, result.output
    assert "--to nobody@example.com: no such person in your organisation" in result.output
    assert [m for m, _p, _s in recorder.seen] == ["GET", "GET"]  # sites, people


def test_execute_reports_moved_refused_and_exit_1(
    tmp_path: Path, app: Any, engine: Engine, world: dict[str, Any], route: Any
) -> None:
    route(app)
    report = tmp_path / "out.csv"
    wanted = [PLANNING, WEBINAR, CALLBACK, LIVE, TRAINING, UNKNOWN, OTHER_SITE]
    result = run(
        tmp_path, "--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--site", SITE,
        "--ids", ids_file(tmp_path, wanted), "--execute", "--yes", "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    rows = {r["id"]: r for r in read_csv(report)}
    assert list(read_csv(report)[0]) == ["id", "title", "result", "reason"]
    assert set(rows) == set(wanted)
    assert {m for m, r in rows.items() if r["result"] == "moved"} == {PLANNING, WEBINAR, CALLBACK}
    assert rows[LIVE]["result"] == "refused" and "HTTP 409" in rows[LIVE]["reason"]
    assert rows[TRAINING]["result"] == "refused" and "HTTP 400" in rows[TRAINING]["reason"]
    assert rows[UNKNOWN] == {
        "id": UNKNOWN,
        "title": "",
        "result": "refused",
        "reason": "The meeting is not found. (HTTP 404)",
    }
    assert rows[OTHER_SITE]["result"] == "refused" and rows[OTHER_SITE]["title"] == "Elsewhere"
    assert host_of(engine, PLANNING) == JOHN_EMAIL
    assert host_of(engine, LIVE) == MARCUS_EMAIL
    assert "Summary" in result.output
    assert "3 of 7 meeting series moved" in result.output


def test_everything_moved_exits_0_with_a_json_report(
    tmp_path: Path, app: Any, engine: Engine, world: dict[str, Any], route: Any
) -> None:
    route(app)
    report = tmp_path / "out.json"
    result = run(
        tmp_path, "--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--site", SITE,
        "--ids", ids_file(tmp_path, [PLANNING, WEBINAR]), "--execute", "--yes", "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(report.read_text()) == [
        {"id": PLANNING, "title": "Quarterly planning", "result": "moved", "reason": ""},
        {"id": WEBINAR, "title": "Customer webinar", "result": "moved", "reason": ""},
    ]
    assert host_of(engine, WEBINAR) == JOHN_EMAIL


def test_ids_of_someone_else_are_skipped_and_not_sent(
    tmp_path: Path, app: Any, engine: Engine, world: dict[str, Any], route: Any
) -> None:
    recorder = Recorder(app)
    route(recorder)
    report = tmp_path / "out.csv"
    result = run(
        tmp_path, "--from", "mconly@example.com", "--to", JOHN_EMAIL, "--site", SITE,
        "--ids", ids_file(tmp_path, [PLANNING]), "--execute", "--yes", "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert read_csv(report)[0]["result"] == "skipped"
    assert MARCUS_EMAIL in read_csv(report)[0]["reason"]
    assert recorder.posts("/meetings/reassignHost") == []
    assert host_of(engine, PLANNING) == MARCUS_EMAIL


def test_execute_without_yes_and_without_a_terminal_is_refused(
    tmp_path: Path, app: Any, engine: Engine, world: dict[str, Any], route: Any
) -> None:
    recorder = Recorder(app)
    route(recorder)
    result = run(
        tmp_path,
        "--from",
        MARCUS_EMAIL,
        "--to",
        JOHN_EMAIL,
        "--ids",
        ids_file(tmp_path, [PLANNING]),
        "--execute",
    )
    assert result.exit_code == 2
    assert "no terminal to ask on" in result.output and "--yes" in result.output
    assert recorder.seen == []
    assert host_of(engine, PLANNING) == MARCUS_EMAIL


@pytest.mark.parametrize(("answer", "moved"), [("n\n", False), ("y\n", True)])
def test_execute_asks_first_on_a_terminal(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    moved: bool,
) -> None:
    recorder = Recorder(app)
    route(recorder)
    monkeypatch.setattr(commands, "stdin_is_terminal", lambda: True)
    args = [
        "--from",
        MARCUS_EMAIL,
        "--to",
        JOHN_EMAIL,
        "--ids",
        ids_file(tmp_path, [PLANNING, LIVE]),
        "--execute",
    ]
    base = [
        "reassign",
        "--token",
        ADMIN,
        "--base-url",
        "http://testserver/v1",
        "--journal",
        str(tmp_path / "j"),
    ]
    result = runner.invoke(cli_app, [*base, *args], input=answer)
    assert "Send 2 meeting series (1 of them would be refused, per the preview)" in result.output
    assert result.exit_code == 1  # declined, or LIVE refused
    assert (host_of(engine, PLANNING) == JOHN_EMAIL) is moved
    assert bool(recorder.posts("/meetings/reassignHost")) is moved
    if not moved:
        assert "nothing was changed" in result.output


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--from", MARCUS_EMAIL, "--to", MARCUS_EMAIL.upper()], "the same person"),
        (["--from", "marcus", "--to", JOHN_EMAIL], "not an email address"),
        (["--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--report", "out.txt"], ".csv or a .json"),
        (["--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--ids", "/no/such/file"], "can't read the file"),
        (["--to", JOHN_EMAIL], "--from"),
    ],
)
def test_usage_errors_exit_2(
    tmp_path: Path, app: Any, world: dict[str, Any], route: Any, args: list[str], words: str
) -> None:
    recorder = Recorder(app)
    route(recorder)
    result = run(tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert recorder.seen == []


def test_no_token_is_a_usage_error(tmp_path: Path, app: Any, route: Any) -> None:
    route(app)
    result = runner.invoke(
        cli_app,
        ["reassign", "--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--base-url", "http://testserver/v1"],
    )
    assert result.exit_code == 2
    assert "WEBEX_ACCESS_TOKEN" in result.output


def test_token_and_base_url_come_from_the_environment(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, str]] = []
    http = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)

    def factory(base: str, token: str) -> WebexClient:
        seen.append((base, token))
        return WebexClient(base, token, http_client=http, retry=FAST)

    monkeypatch.setattr(commands, "client_factory", factory)
    monkeypatch.setenv("WEBEX_ACCESS_TOKEN", ADMIN)
    monkeypatch.setenv("MEETADMIN_BASE_URL", "http://testserver/v1")
    result = runner.invoke(
        cli_app,
        ["reassign", "--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--ids", ids_file(tmp_path, [PLANNING]),
         "--execute", "--yes", "--journal", str(tmp_path / "j.jsonl")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert seen == [("http://testserver/v1", ADMIN)]
    assert f"Site: {SITE}" in result.output  # the admin's default site, from GET /meetingPreferences/sites
    assert host_of(engine, PLANNING) == JOHN_EMAIL


def test_a_server_that_answers_429_a_few_times_still_completes(
    tmp_path: Path, app: Any, engine: Engine, route: Any
) -> None:
    doc = example_world()
    doc["meetings"] = many_series(150)
    load_world(engine, doc)
    ids = [m["id"] for m in _series_ids(engine)]
    throttled = Recorder(app, throttle=4, retry_after="0", when=lambda method, path: method == "POST")
    route(throttled)
    report = tmp_path / "out.csv"
    result = run(
        tmp_path, "--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--site", SITE,
        "--ids", ids_file(tmp_path, ids), "--execute", "--yes", "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [s for m, _p, s in throttled.seen if m == "POST"].count(429) == 4
    assert [r["result"] for r in read_csv(report)] == ["moved"] * 150
    assert {host_of(engine, i) for i in ids} == {JOHN_EMAIL}


@pytest.mark.parametrize(("busy_answers", "exit_code"), [(2, 0), (100, 1)])
def test_items_answered_423_are_retried_alone(
    tmp_path: Path,
    app: Any,
    engine: Engine,
    world: dict[str, Any],
    route: Any,
    busy_answers: int,
    exit_code: int,
) -> None:
    http = BusyItems(app, times=busy_answers)
    route(http)
    report = tmp_path / "out.csv"
    result = run(
        tmp_path, "--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--site", SITE,
        "--ids", ids_file(tmp_path, [PLANNING, WEBINAR, CALLBACK]),
        "--execute", "--yes", "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == exit_code, result.output
    assert http.sent[:3] == [[PLANNING, WEBINAR, CALLBACK], [CALLBACK], [CALLBACK]]
    rows = {r["id"]: r for r in read_csv(report)}
    assert rows[PLANNING]["result"] == rows[WEBINAR]["result"] == "moved"
    if exit_code == 0:
        assert len(http.sent) == 3
        assert rows[CALLBACK]["result"] == "moved"
    else:
        assert len(http.sent) == FAST.attempts
        assert rows[CALLBACK]["result"] == "failed"
        assert rows[CALLBACK]["reason"] == "still busy: Busy. (HTTP 423)"


def test_an_interrupted_run_resumes_where_it_stopped(
    tmp_path: Path, app: Any, engine: Engine, route: Any
) -> None:
    doc = example_world()
    doc["meetings"] = many_series(230)
    load_world(engine, doc)
    ids = [m["id"] for m in _series_ids(engine)]
    args = ["--from", MARCUS_EMAIL, "--to", JOHN_EMAIL, "--site", SITE, "--ids", ids_file(tmp_path, ids)]

    route(Faulty(app, fail_from=2))  # the first batch goes through, then the connection drops
    first = run(tmp_path, *args, "--execute", "--yes", "--report", str(tmp_path / "first.csv"))
    assert first.exit_code == 1, first.output
    assert "Interrupted" in first.output and "run the same command again" in first.output
    results = [r["result"] for r in read_csv(tmp_path / "first.csv")]
    assert results == ["moved"] * 100 + ["failed"] * 130
    assert sum(host_of(engine, i) == JOHN_EMAIL for i in ids) == 100

    recorder = Recorder(app)
    route(recorder)
    second = run(tmp_path, *args, "--execute", "--yes", "--report", str(tmp_path / "second.csv"))
    assert second.exit_code == 0, second.output
    sent = [json.loads(recorder.bodies[i])["meetingIds"] for i in recorder.posts("/meetings/reassignHost")]
    assert [len(b) for b in sent] == [100, 30]
    assert [m for b in sent for m in b] == ids[100:]
    rows = read_csv(tmp_path / "second.csv")
    assert {r["id"] for r in rows} == set(ids)
    assert all(r["result"] == "moved" for r in rows)
    assert sum(r["reason"] == "in an earlier run (journal)" for r in rows) == 100
    assert {host_of(engine, i) for i in ids} == {JOHN_EMAIL}


def test_lists_every_series_of_the_old_host_across_pages(
    tmp_path: Path, app: Any, engine: Engine, route: Any
) -> None:
    doc = example_world()
    doc["meetings"] = many_series(250) + many_series(3, host=JOHN_EMAIL, title="John's")
    load_world(engine, doc)
    recorder = Recorder(app)
    route(recorder)
    report = tmp_path / "out.csv"
    result = run(
        tmp_path, "--from", MARCUS_EMAIL, "--to", "mconly@example.com", "--site", SITE,
        "--execute", "--yes", "--report", str(report),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    lists = [(m, p) for m, p, _s in recorder.seen if p == "/v1/meetings"]
    assert len(lists) == 3  # 250 series, 100 a page
    rows = read_csv(report)
    assert len(rows) == 250
    assert {r["result"] for r in rows} == {"moved"}
    assert all(r["title"].startswith("Series ") for r in rows)
    assert len(recorder.posts("/meetings/reassignHost")) == 3


def _series_ids(engine: Engine) -> list[dict[str, str]]:
    from sqlalchemy import select

    from meetadmin.store.models import MeetingSeries

    with engine.connect() as conn:
        rows = conn.execute(
            select(MeetingSeries.id).where(MeetingSeries.title.like("Series %")).order_by(MeetingSeries.title)
        ).all()
    return [{"id": r.id} for r in rows]
