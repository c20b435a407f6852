"""``meetadmin control ...`` commands for state, the clock and meetings' life: thin clients of the
running server's control plane (``/_meetadmin``), authenticated with the control token.

    meetadmin control snapshot save NAME [--replace] | restore NAME | list | delete NAME
    meetadmin control reset
    meetadmin control clock show | set ISO | shift SECONDS | advance SECONDS | real
    meetadmin control meeting start ID | end ID

Every command takes ``--base-url`` (default http://127.0.0.1:8000) and ``--control-token`` (default
$MEETADMIN_CONTROL_TOKEN). ``register(app)`` adds them to a typer app; ``state_app`` holds them alone.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

BaseUrl = Annotated[
    str,
    typer.Option("--base-url", help="The meetadmin server (without /v1).", envvar="MEETADMIN_CONTROL_URL"),
]
ControlToken = Annotated[
    str | None,
    typer.Option("--control-token", help="The server's control token.", envvar="MEETADMIN_CONTROL_TOKEN"),
]
DEFAULT_BASE = "http://127.0.0.1:8000"


def _fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def call(base_url: str, token: str | None, method: str, path: str, body: Any = None) -> Any:
    """One control plane request; its JSON answer (None for 204). A refusal: its message, exit 1."""
    if not token:
        _fail("give the control token: --control-token or MEETADMIN_CONTROL_TOKEN")
    url = base_url.rstrip("/").removesuffix("/v1") + "/_meetadmin" + path
    try:
        answer = httpx.request(
            method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=120
        )
    except httpx.HTTPError as exc:
        _fail(f"cannot reach {url}: {exc}")
    if answer.status_code >= 400:
        try:
            found = answer.json()
            description = "; ".join(e.get("description", "") for e in found.get("errors", []))
            detail = description or found.get("message", "")
        except ValueError:
            detail = answer.text[:200]
        _fail(f"{answer.status_code}: {detail}")
    return answer.json() if answer.content else None


def _show(value: Any) -> None:
    out.print_json(json.dumps(value))


snapshot_app = typer.Typer(
    help="Save, restore, list and delete snapshots of the whole state.", no_args_is_help=True
)
clock_app = typer.Typer(
    help="The sandbox clock: show, freeze, shift, advance, back to real time.", no_args_is_help=True
)
meeting_app = typer.Typer(help="Start and end meetings (in-progress instances).", no_args_is_help=True)


@snapshot_app.command("save")
def snapshot_save(
    name: Annotated[str, typer.Argument(help="Letters, digits, '.', '_' or '-'.")],
    replace: Annotated[bool, typer.Option(help="Overwrite a snapshot of that name.")] = False,
    base_url: BaseUrl = DEFAULT_BASE,
    control_token: ControlToken = None,
) -> None:
    """Save the whole state (every organisation) under NAME."""
    saved = call(base_url, control_token, "POST", "/snapshots", {"name": name, "replace": replace})
    out.print(f"saved snapshot '{saved['name']}' ({saved['sizeBytes']} bytes)", highlight=False)


@snapshot_app.command("restore")
def snapshot_restore(name: str, base_url: BaseUrl = DEFAULT_BASE, control_token: ControlToken = None) -> None:
    """Put the state back as snapshot NAME saved it."""
    call(base_url, control_token, "POST", f"/snapshots/{name}/restore")
    out.print(f"restored snapshot '{name}'", highlight=False)


@snapshot_app.command("list")
def snapshot_list(base_url: BaseUrl = DEFAULT_BASE, control_token: ControlToken = None) -> None:
    """The snapshots, oldest first (__startup__ is the start-up state that reset returns to)."""
    for item in call(base_url, control_token, "GET", "/snapshots")["items"]:
        rows = sum(item["rows"].values())
        out.print(
            f"{item['name']}\t{item['created']}\t{item['sizeBytes']} bytes\t{rows} rows", highlight=False
        )


@snapshot_app.command("delete")
def snapshot_delete(name: str, base_url: BaseUrl = DEFAULT_BASE, control_token: ControlToken = None) -> None:
    """Delete snapshot NAME."""
    call(base_url, control_token, "DELETE", f"/snapshots/{name}")
    out.print(f"deleted snapshot '{name}'", highlight=False)


def reset(base_url: BaseUrl = DEFAULT_BASE, control_token: ControlToken = None) -> None:
    """Return to the state right after the server started (fixtures loaded)."""
    call(base_url, control_token, "POST", "/reset")
    out.print("reset to the start-up state")


@clock_app.command("show")
def clock_show(base_url: BaseUrl = DEFAULT_BASE, control_token: ControlToken = None) -> None:
    """The sandbox's time and the clock's mode."""
    _show(call(base_url, control_token, "GET", "/clock"))


@clock_app.command("set")
def clock_set(
    now: Annotated[str, typer.Argument(help="ISO 8601, e.g. 2027-03-01T09:00:00Z.")],
    base_url: BaseUrl = DEFAULT_BASE,
    control_token: ControlToken = None,
) -> None:
    """Freeze the time at NOW (it stays there)."""
    _show(call(base_url, control_token, "PUT", "/clock", {"now": now}))


@clock_app.command("shift")
def clock_shift(
    seconds: Annotated[float, typer.Argument(help="Seconds ahead of real time (negative: behind).")],
    base_url: BaseUrl = DEFAULT_BASE,
    control_token: ControlToken = None,
) -> None:
    """Run the time SECONDS ahead of real time."""
    _show(call(base_url, control_token, "PUT", "/clock", {"offsetSeconds": seconds}))


@clock_app.command("advance")
def clock_advance(
    seconds: Annotated[float, typer.Argument(help="Seconds to move on (a frozen clock stays frozen).")],
    base_url: BaseUrl = DEFAULT_BASE,
    control_token: ControlToken = None,
) -> None:
    """Move the sandbox's time SECONDS on from where it is."""
    _show(call(base_url, control_token, "PUT", "/clock", {"advanceSeconds": seconds}))


@clock_app.command("real")
def clock_real(base_url: BaseUrl = DEFAULT_BASE, control_token: ControlToken = None) -> None:
    """Back to real time."""
    call(base_url, control_token, "DELETE", "/clock")
    _show(call(base_url, control_token, "GET", "/clock"))


@meeting_app.command("start")
def meeting_start(
    meeting_id: Annotated[str, typer.Argument(help="A series or scheduled meeting ID.")],
    base_url: BaseUrl = DEFAULT_BASE,
    control_token: ControlToken = None,
) -> None:
    """Start the current or next occurrence (or the scheduled meeting): prints the in-progress instance."""
    _show(call(base_url, control_token, "POST", f"/meetings/{meeting_id}/start"))


@meeting_app.command("end")
def meeting_end(
    meeting_id: Annotated[str, typer.Argument(help="A series, scheduled meeting or instance ID.")],
    base_url: BaseUrl = DEFAULT_BASE,
    control_token: ControlToken = None,
) -> None:
    """End the meeting in progress: prints the ended instance."""
    _show(call(base_url, control_token, "POST", f"/meetings/{meeting_id}/end"))


def register(app: typer.Typer) -> None:
    """Add these commands to ``app`` (the ``meetadmin control`` group)."""
    app.add_typer(snapshot_app, name="snapshot")
    app.command("reset")(reset)
    app.add_typer(clock_app, name="clock")
    app.add_typer(meeting_app, name="meeting")


state_app = typer.Typer(
    help="The sandbox's control plane (needs the server's control token).", no_args_is_help=True
)
register(state_app)
