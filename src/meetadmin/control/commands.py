"""``meetadmin control ...``: the sandbox's control plane from the command line.

``control_app`` is the ``meetadmin control`` typer app; each area adds its commands to it (here: ``faults``
and ``rate-limit``). ``ControlOptions`` / ``control_call`` are for those commands: they reach the server at
``--base-url`` with ``--control-token`` (or ``$MEETADMIN_CONTROL_TOKEN``).
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console

from meetadmin.control.rate_limits import parse_limit

control_app = typer.Typer(
    help="The sandbox's control plane (/_meetadmin): rate limits, faults and more.", no_args_is_help=True
)
faults_app = typer.Typer(help="Fault rules: answer matching /v1 requests with errors or delays.")
rate_limit_app = typer.Typer(help="The rate limit per token over every /v1 operation.")
control_app.add_typer(faults_app, name="faults", no_args_is_help=True)
control_app.add_typer(rate_limit_app, name="rate-limit", no_args_is_help=True)

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

BaseUrl = Annotated[
    str,
    typer.Option(
        "--base-url",
        envvar="MEETADMIN_CONTROL_URL",
        help="The meetadmin server (without /v1 or /_meetadmin).",
    ),
]
ControlToken = Annotated[
    str,
    typer.Option(
        "--control-token",
        envvar="MEETADMIN_CONTROL_TOKEN",
        help="The server's control token ($MEETADMIN_CONTROL_TOKEN).",
        show_default=False,
    ),
]
DEFAULT_BASE_URL = "http://127.0.0.1:8000"


def fail(message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def control_call(base_url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """One control plane call; its JSON answer (``None`` for 204). Errors end the command with exit 1."""
    url = base_url.rstrip("/").removesuffix("/v1") + "/_meetadmin" + path
    try:
        response = httpx.request(
            method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
    except httpx.HTTPError as exc:
        fail(f"{method} {url}: {exc}")
    if response.status_code >= 400:
        try:
            answer = response.json()
            detail = (
                "; ".join(e.get("description", "") for e in answer.get("errors", [])) or answer["message"]
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            detail = response.text[:200]
        hint = " (is --control-token right?)" if response.status_code in (401, 404) else ""
        fail(f"{method} {url}: HTTP {response.status_code}: {detail}{hint}")
    return None if response.status_code == 204 or not response.content else response.json()


@faults_app.command("add")
def faults_add(
    path: Annotated[str, typer.Option(help="A /v1 path or glob, e.g. /v1/meetings/reassignHost or /v1/*.")],
    status: Annotated[int | None, typer.Option(help="The status to answer, e.g. 429, 503.")] = None,
    method: Annotated[str | None, typer.Option(help="Only this HTTP method (default: any).")] = None,
    probability: Annotated[float, typer.Option(help="Chance that a matching request gets it (0..1).")] = 1.0,
    count: Annotated[int | None, typer.Option(help="Only the next N matching requests.")] = None,
    retry_after: Annotated[
        str | None, typer.Option(help="Retry-After header, sent as given (digits are sent as a number).")
    ] = None,
    latency_ms: Annotated[int | None, typer.Option(help="Delay in milliseconds.")] = None,
    phase: Annotated[
        str, typer.Option(help="before: nothing is done; after: the work is done, then the fault answers.")
    ] = "before",
    base_url: BaseUrl = DEFAULT_BASE_URL,
    control_token: ControlToken = "",
) -> None:
    """Add a fault rule; prints its id."""
    body: dict[str, Any] = {"path": path, "probability": probability, "phase": phase}
    optional = {"status": status, "method": method, "count": count, "latencyMs": latency_ms}
    body.update({k: v for k, v in optional.items() if v is not None})
    if retry_after is not None:
        body["retryAfter"] = int(retry_after) if retry_after.isdigit() else retry_after
    rule = control_call(base_url, _token(control_token), "POST", "/faults", body)
    console.print(rule["id"], highlight=False)


_COLUMNS = (
    "id",
    "method",
    "path",
    "status",
    "probability",
    "count",
    "retryAfter",
    "latencyMs",
    "phase",
    "hits",
)


@faults_app.command("list")
def faults_list(base_url: BaseUrl = DEFAULT_BASE_URL, control_token: ControlToken = "") -> None:
    """List the fault rules with their hit counts."""
    rules = control_call(base_url, _token(control_token), "GET", "/faults")["items"]
    if not rules:
        console.print("No fault rules.")
        return
    for r in rules:
        fields = "  ".join(f"{k}={r[k]}" for k in _COLUMNS[3:] if r[k] is not None)
        console.print(f"{r['id']}  {r['method'] or '*'} {r['path']}  {fields}", highlight=False, markup=False)


@faults_app.command("delete")
def faults_delete(
    rule_id: Annotated[str, typer.Argument(help="The rule's id.")],
    base_url: BaseUrl = DEFAULT_BASE_URL,
    control_token: ControlToken = "",
) -> None:
    """Delete one fault rule."""
    control_call(base_url, _token(control_token), "DELETE", f"/faults/{rule_id}")
    console.print(f"Deleted fault rule {rule_id}.", highlight=False)


@faults_app.command("clear")
def faults_clear(base_url: BaseUrl = DEFAULT_BASE_URL, control_token: ControlToken = "") -> None:
    """Delete every fault rule."""
    control_call(base_url, _token(control_token), "DELETE", "/faults")
    console.print("Cleared every fault rule.")


@rate_limit_app.command("set")
def rate_limit_set(
    limit: Annotated[str, typer.Argument(help="N/S (N requests per S seconds, per token) or 'off'.")],
    base_url: BaseUrl = DEFAULT_BASE_URL,
    control_token: ControlToken = "",
) -> None:
    """Set the rate limit per token over every /v1 operation, or turn it off."""
    try:
        parsed = parse_limit(limit)
    except ValueError as exc:
        fail(str(exc))
    body = (
        {"requests": None}
        if parsed is None
        else {"requests": parsed.requests, "perSeconds": parsed.per_seconds}
    )
    _print_limit(control_call(base_url, _token(control_token), "PUT", "/rate-limits", body))


@rate_limit_app.command("show")
def rate_limit_show(base_url: BaseUrl = DEFAULT_BASE_URL, control_token: ControlToken = "") -> None:
    """Show the rate limit in force."""
    _print_limit(control_call(base_url, _token(control_token), "GET", "/rate-limits"))


def _print_limit(answer: dict[str, Any]) -> None:
    where = "across every server process (Redis)" if answer.get("sharedAcrossProcesses") else "per process"
    if answer["requests"] is None:
        console.print("Rate limit: off.")
    else:
        console.print(
            f"Rate limit: {answer['requests']} requests per {answer['perSeconds']} s per token, "
            f"counted {where}.",
            highlight=False,
        )


def _token(given: str) -> str:
    if not given:
        fail("give --control-token or set MEETADMIN_CONTROL_TOKEN (the server's control token)")
    return given
