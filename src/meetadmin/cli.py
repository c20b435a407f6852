"""The ``meetadmin`` command: serve, load, demo, token, and the admin client commands."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from sqlalchemy import select

from meetadmin.client import commands as client_commands
from meetadmin.control import state_commands
from meetadmin.control.commands import control_app
from meetadmin.demo import demo_document
from meetadmin.outbound.tail import webhooks_app
from meetadmin.settings import DEFAULT_DATABASE_URL
from meetadmin.store.db import make_engine
from meetadmin.store.fixture_schema import FixtureDoc
from meetadmin.store.fixtures import FixtureError, OnExisting, load_documents, load_files
from meetadmin.store.migrate import upgrade
from meetadmin.store.models import Person
from meetadmin.store.tokens import add_token, new_token
from meetadmin.store.writer import Writer

app = typer.Typer(
    help="meetadmin: a self-hosted, Webex-compatible server for Webex Meetings admin operations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(webhooks_app, name="webhooks")
client_commands.register(app)
state_commands.register(control_app)  # snapshot, reset, clock, meeting
app.add_typer(control_app, name="control")
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help=f"SQLAlchemy URL of the database (default: $MEETADMIN_DATABASE_URL or {DEFAULT_DATABASE_URL}).",
        show_default=False,
    ),
]
ALL_ADMIN_SCOPES = [
    "meeting:admin_schedule_write",
    "meeting:admin_schedule_read",
    "meeting:admin_preferences_write",
    "meeting:admin_preferences_read",
    "meeting:admin_config_write",
    "meeting:admin_config_read",
    "spark-admin:people_read",
    "audit:events_read",
]


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def resolve_url(database_url: str | None) -> str:
    return database_url or os.environ.get("MEETADMIN_DATABASE_URL") or DEFAULT_DATABASE_URL


def prepare(database_url: str, fixtures: list[Path], on_existing: OnExisting) -> None:
    """Migrate the database to the latest schema, then load ``fixtures`` all-or-nothing."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        if fixtures:
            with Writer(engine).writing() as session:
                results = load_files(session, fixtures, on_existing)
            for r in results:
                if r.skipped:
                    console.print(f"{r.source}: organisation '{r.org_id}' is already loaded; left as it is")
                else:
                    console.print(
                        f"{r.source}: loaded organisation '{r.org_id}': {r.sites} sites, {r.people} people, "
                        f"{r.meetings} meeting series, {r.tokens} tokens"
                    )
    except FixtureError as exc:
        fail(str(exc))
    finally:
        engine.dispose()


@app.command()
def load(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Fixture files (YAML or JSON); a YAML file may hold several organisations (---)."
        ),
    ],
    database_url: DatabaseUrl = None,
    replace: Annotated[bool, typer.Option(help="Replace organisations that are already loaded.")] = False,
) -> None:
    """Load organisations from fixture files, all-or-nothing (migrates the database first)."""
    prepare(resolve_url(database_url), files, "replace" if replace else "error")


@app.command()
def export(
    org: Annotated[
        list[str] | None, typer.Option("--org", help="Only this organisation (repeatable); default: all.")
    ] = None,
    database_url: DatabaseUrl = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write to this file (default: standard output).")
    ] = None,
) -> None:
    """Write organisations as fixture YAML, one document each, that 'meetadmin load' reads back
    (tokens and history are left out)."""
    from meetadmin.store.export import export_documents, to_yaml
    from meetadmin.store.writer import Writer

    engine = make_engine(resolve_url(database_url))
    try:
        docs = Writer(engine, group_commit=False).read_now(lambda conn: export_documents(conn, org))
    finally:
        engine.dispose()
    missing = sorted(set(org or []) - {d["org"]["id"] for d in docs})
    if missing:
        fail(f"no organisation '{missing[0]}' is loaded")
    text = to_yaml(docs)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {len(docs)} organisation(s) to {output}")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database_url: DatabaseUrl = None,
    fixture: Annotated[
        list[Path] | None,
        typer.Option(
            "--fixture", help="Fixture file to load first (repeatable); loaded organisations are kept."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Server processes.", min=1, max=64)] = 1,
    control_token: Annotated[
        str | None,
        typer.Option(
            help="Token of the control plane /_meetadmin (default: $MEETADMIN_CONTROL_TOKEN; none: off)."
        ),
    ] = None,
) -> None:
    """Serve the API (migrates the database and loads --fixture files first)."""
    url = resolve_url(database_url)
    prepare(url, fixture or [], "skip")
    run_server(url, host, port, workers, control_token)


def run_server(url: str, host: str, port: int, workers: int, control_token: str | None = None) -> None:
    import uvicorn

    os.environ["MEETADMIN_DATABASE_URL"] = url
    os.environ["MEETADMIN_STARTUP_ID"] = secrets.token_hex(8)  # its processes take one start-up snapshot
    if control_token:
        os.environ["MEETADMIN_CONTROL_TOKEN"] = control_token
    console.print(f"meetadmin serving http://{host}:{port}/v1 (database {url.split('@')[-1]})")
    uvicorn.run(
        "meetadmin.app:serve_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    database: Annotated[Path, typer.Option(help="SQLite file for the demo (recreated).")] = Path(
        "meetadmin-demo.db"
    ),
) -> None:
    """Serve a fresh demo organisation on SQLite and print an admin token and a curl command."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{database}"
    doc = demo_document()
    marcus = sum(1 for m in doc["meetings"] if m["host"] == "marcus.hoffmann@example.com")
    engine = make_engine(url)
    try:
        upgrade(engine)
        with Writer(engine).writing() as session:
            [loaded] = load_documents(session, [("demo", FixtureDoc.model_validate(doc))])
    finally:
        engine.dispose()
    console.print(
        f"Demo organisation '{loaded.org_id}': {loaded.sites} site, {loaded.people} people, "
        f"{loaded.meetings} meeting series ({marcus} hosted by marcus.hoffmann@example.com)."
    )
    token = _create_token(url, "admin@example.com", ALL_ADMIN_SCOPES, "demo")
    base = f"http://{host}:{port}/v1"
    control = secrets.token_urlsafe(24)
    console.print(f"\nDemo admin token (admin@example.com): [bold]{token}[/bold]")
    console.print(f"Control token (/_meetadmin, meetadmin control ...): [bold]{control}[/bold]\n")
    console.print("Try it (moves two of Marcus's meetings to John):\n")
    console.print(
        f"curl -i -X POST {base}/meetings/reassignHost \\\n"
        f"  -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' \\\n"
        '  -d \'{"hostEmail": "john.andersen@example.com", "meetingIds": '
        '["870f51ff287b41be84648412901e0402", "41be84640b711b8414a4a205042ebba9"]}\'\n',
        highlight=False,
        soft_wrap=True,
    )
    run_server(url, host, port, 1, control)


def _create_token(url: str, email: str, scopes: list[str], label: str) -> str:
    engine = make_engine(url)
    try:
        with Writer(engine).writing() as session:
            key = session.scalar(select(Person.id).where(Person.email_key == email.strip().lower()))
            if key is None:
                fail(f"no person with the email '{email}' is loaded")
            token = new_token()
            add_token(session, key, token, scopes, label)
    finally:
        engine.dispose()
    return token


@token_app.command("create")
def token_create(
    person: Annotated[str, typer.Option("--person", help="Email of the person the token acts as.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help="A Webex scope (repeatable, or space/comma separated)."),
    ] = None,
    label: Annotated[str, typer.Option(help="A note to tell tokens apart.")] = "",
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token; it is printed once and only its hash is stored."""
    url = resolve_url(database_url)
    scopes = sorted({s for item in scope or [] for s in item.replace(",", " ").split() if s})
    if not scopes:
        fail("give at least one --scope, e.g. --scope meeting:admin_schedule_write")
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    token = _create_token(url, person, scopes, label or secrets.token_hex(4))
    console.print(token, highlight=False, soft_wrap=True)


def main() -> None:
    app()
