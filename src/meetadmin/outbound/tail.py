"""``meetadmin webhooks tail``: print webhook deliveries as they happen, from a running server's delivery
log (``GET /_meetadmin/webhooks/deliveries``, polled; needs the control token)."""

from __future__ import annotations

import os
import time
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

webhooks_app = typer.Typer(help="Webhook deliveries.", no_args_is_help=True)
console = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)
_COLOURS = {"delivered": "green", "retrying": "yellow", "failed": "red"}


def line(a: dict[str, Any]) -> str:
    status = a["status"]
    answer = str(a["httpStatus"]) if a.get("httpStatus") is not None else (a.get("error") or "-")
    return (
        f"{a['created']}  #{a['id']}  [{_COLOURS.get(status, 'white')}]{status:<9}[/]  {answer}  "
        f"{a['elapsedMs']} ms  {a['event']} {a['resource']} {a['meetingId']}  "
        f"webhook {a['webhookId']}  attempt {a['attempt']}"
    )


def _root(base_url: str) -> str:
    base = base_url.rstrip("/")
    return base[: -len("/v1")] if base.endswith("/v1") else base


@webhooks_app.command("tail")
def tail(
    base_url: Annotated[
        str, typer.Option("--base-url", help="The meetadmin server (with or without /v1).")
    ] = "http://127.0.0.1:8000",
    control_token: Annotated[
        str | None,
        typer.Option(
            "--control-token", help="The server's control token (default: $MEETADMIN_CONTROL_TOKEN)."
        ),
    ] = None,
    webhook_id: Annotated[str | None, typer.Option("--webhook-id", help="Only this webhook's.")] = None,
    status: Annotated[str | None, typer.Option(help="Only delivered, retrying or failed attempts.")] = None,
    last: Annotated[int, typer.Option(help="Show this many earlier attempts first.", min=0, max=1000)] = 10,
    interval: Annotated[float, typer.Option(help="Seconds between polls.", min=0.05)] = 0.5,
    count: Annotated[int | None, typer.Option(help="Stop after this many lines.", min=1)] = None,
) -> None:
    """Print deliveries as they happen (every attempt: time, ID, outcome, answer, event, meeting)."""
    token = control_token or os.environ.get("MEETADMIN_CONTROL_TOKEN")
    if not token:
        err.print("[red]error:[/red] give --control-token or set MEETADMIN_CONTROL_TOKEN")
        raise typer.Exit(2)
    url = f"{_root(base_url)}/_meetadmin/webhooks/deliveries"
    params: dict[str, Any] = {k: v for k, v in (("webhookId", webhook_id), ("status", status)) if v}
    printed = 0
    after: int | None = None
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30, trust_env=False) as client:
        while True:
            query = {**params, "max": 1000 if after is not None else max(last, 1)}
            if after is not None:
                query["after"] = after
            try:
                r = client.get(url, params=query)
            except httpx.TransportError as exc:
                err.print(f"[red]error:[/red] {url}: {exc}")
                raise typer.Exit(1) from None
            if r.status_code != 200:
                err.print(f"[red]error:[/red] {url} answered {r.status_code}: {r.text[:300]}")
                raise typer.Exit(1)
            items = list(reversed(r.json()["items"]))  # oldest first
            if after is None:
                items = items[-last:] if last else []
                newest = r.json()["items"][0]["id"] if r.json()["items"] else 0
                after = newest
            for attempt in items:
                console.print(line(attempt))
                after = max(after or 0, attempt["id"])
                printed += 1
                if count is not None and printed >= count:
                    return
            time.sleep(interval)
