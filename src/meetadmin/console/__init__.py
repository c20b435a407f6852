"""The admin console: server-rendered pages at ``/console`` that do what the API does, by the same
rules (the same services), acting with the signed-in API token's scopes and organisation.

Pages: ``pages`` (sign-in, overview, people, a person, audit log), ``offboard`` (plan and start),
``rooms`` (personal room refresh), ``job_pages`` (progress, results, CSV reports). Templates and static
files (htmx, vendored; the stylesheet) live beside them; there is no JavaScript build step.

``webhooks`` (webhooks, their deliveries, redeliver, reactivate), ``mailbox`` (the organisation's
notices), ``sandbox`` (fault rules, rate limit, snapshots, reset: for the holder of the control token).
A page is a module of its own here with a ``router`` (a ``ConsoleRoute`` under ``/console``,
``signed_in`` and ``posted`` for forms), a template extending ``base.html``, an entry in ``base.html``'s
``nav_items`` and in ``install_console``.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

from meetadmin.console import job_pages, mailbox, offboard, pages, rooms, sandbox, webhooks
from meetadmin.console.web import HERE


def install_console(app: FastAPI) -> None:
    """Mount the console's routes and static files; ``GET /`` goes to the console."""
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")
    for module in (pages, offboard, rooms, job_pages, webhooks, mailbox, sandbox):
        app.include_router(module.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console", status_code=303)
