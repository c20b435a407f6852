"""The bulk admin commands: ``meetadmin reassign`` and ``meetadmin pmr refresh``.

They talk to meetadmin or Webex itself over HTTP (``--base-url``, default ``https://webexapis.com/v1``).
Programs that embed the commands, and the tests, may replace the module attribute ``client_factory``
(a callable ``(base_url, token) -> WebexClient``) to route the calls through another ``httpx.Client``.

Exit codes: 0 when everything moved (or, in a dry run, would move); 1 when something was refused,
failed or could not be done; 2 for usage errors (bad options, a bad CSV, no token, no terminal to confirm).
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from meetadmin.client._client import DEFAULT_BASE_URL, WebexClient
from meetadmin.client._errors import (
    ApiError,
    ForbiddenError,
    MethodNotAllowedError,
    NotFoundError,
    PreviewNotSupported,
    UnauthorizedError,
    WebexError,
)
from meetadmin.client._journal import Journal, default_journal_path
from meetadmin.client._pmr_job import (
    GENERATED,
    CsvProblem,
    PmrJob,
    PmrOutcome,
    PmrRow,
    old_room_ids,
    read_people,
)
from meetadmin.client._reassign_job import (
    FAILED,
    MOVED,
    PLANNED,
    REFUSED,
    SKIPPED,
    WOULD_MOVE,
    WOULD_REFUSE,
    Outcome,
    ReassignJob,
    Target,
    moved_in_journal,
    plan_outcomes,
    preview,
    read_id_file,
    series_hosted_by,
)
from meetadmin.client._report import report_format, write_report

ClientFactory = Callable[[str, str], WebexClient]


def default_client_factory(base_url: str, token: str) -> WebexClient:
    return WebexClient(base_url, token)


client_factory: ClientFactory = default_client_factory
PLAN_ROWS = 25

Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="WEBEX_ACCESS_TOKEN",
        help="Admin access token (default: $WEBEX_ACCESS_TOKEN).",
        show_default=False,
        show_envvar=False,
    ),
]
BaseUrl = Annotated[
    str,
    typer.Option(
        "--base-url",
        envvar="MEETADMIN_BASE_URL",
        help="API base URL: a meetadmin server's http://HOST:PORT/v1, or Webex ($MEETADMIN_BASE_URL).",
        show_envvar=False,
    ),
]
Execute = Annotated[bool, typer.Option("--execute", help="Make the changes (the default is a dry run).")]
Yes = Annotated[bool, typer.Option("--yes", help="With --execute: don't ask for confirmation.")]
ReportPath = Annotated[
    Path | None,
    typer.Option("--report", help="Write one row per item to this file: CSV, or JSON if it ends in .json."),
]
JournalPath = Annotated[
    Path | None,
    typer.Option(
        "--journal",
        help="Journal file that makes an interrupted run resumable (default: under .meetadmin-journal/).",
    ),
]


def _out() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)


def usage_error(message: str) -> NoReturn:
    _err().print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(2)


def fail(message: str) -> NoReturn:
    _err().print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(1)


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def _common_checks(token: str | None, report: Path | None, execute: bool, yes: bool) -> str:
    if not token:
        usage_error("no access token: give --token or set WEBEX_ACCESS_TOKEN")
    if report is not None and report_format(report) is None:
        usage_error(f"--report {report}: name a .csv or a .json file")
    if execute and not yes and not stdin_is_terminal():
        usage_error(
            "--execute asks for confirmation, but there is no terminal to ask on; "
            "add --yes to go ahead without asking (or drop --execute for a dry run)"
        )
    return token


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def _confirm(question: str) -> None:
    if not typer.confirm(question, default=False):
        fail("nothing was changed")


# -- reassign -------------------------------------------------------------------------------------


def reassign(
    from_: Annotated[str, typer.Option("--from", help="Email of the current host (the person leaving).")],
    to: Annotated[str, typer.Option("--to", help="Email of the new host.")],
    site: Annotated[
        str | None,
        typer.Option("--site", help="Site URL, e.g. example.webex.com (default: your token's default site)."),
    ] = None,
    ids: Annotated[
        Path | None,
        typer.Option(
            "--ids",
            help="File of meeting series IDs, one per line (# starts a comment). "
            "Default: every series --from hosts on the site.",
        ),
    ] = None,
    execute: Execute = False,
    yes: Yes = False,
    report: ReportPath = None,
    token: Token = None,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    journal: JournalPath = None,
) -> None:
    """Move every meeting series of one host to another: plan first, dry run unless --execute."""
    token = _common_checks(token, report, execute, yes)
    old_host, new_host = from_.strip(), to.strip()
    for option, value in (("--from", old_host), ("--to", new_host)):
        if "@" not in value:
            usage_error(f"{option} '{value}' is not an email address")
    if old_host.lower() == new_host.lower():
        usage_error("--from and --to are the same person")
    wanted: list[str] | None = None
    if ids is not None:
        try:
            wanted = read_id_file(ids.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            usage_error(f"--ids {ids}: can't read the file: {exc}")

    out, err = _out(), _err()
    with client_factory(base_url, token) as client:
        try:
            site = site or _default_site(client, err)
            book = Journal(
                journal
                or default_journal_path(
                    "reassign", base_url, old_host.lower(), new_host.lower(), (site or "").lower()
                )
            )
            earlier = moved_in_journal(book)
            if wanted is not None:
                listed = set(wanted)
                earlier = {m: t for m, t in earlier.items() if m in listed}
            if earlier:
                err.print(f"Journal {book.path}: {len(earlier)} moved in an earlier run; they are skipped.")
                wanted = None if wanted is None else [m for m in wanted if m not in earlier]
            _check_new_host(client, new_host, err)
            targets, settled = _targets(client, old_host, new_host, site, wanted, err)
        except (UnauthorizedError, ForbiddenError) as exc:
            fail(str(exc))
        except WebexError as exc:
            fail(f"could not gather the meetings: {exc}")
        targets = [t for t in targets if t.meeting_id not in earlier]
        settled = [Outcome(m, t, MOVED, "in an earlier run (journal)") for m, t in earlier.items()] + settled

        where = f"on {site}" if site else "on the default site"
        out.print(f"[bold]{len(targets)}[/bold] meeting series of {old_host} to move to {new_host} {where}.")
        planned = _plan(client, out, err, new_host, targets, site)
        _show_plan(out, planned + [o for o in settled if o.result == SKIPPED])

        if not execute:
            outcomes = settled + planned
            if report:
                _write_reassign_report(report, outcomes)
            previewed = not any(o.result == PLANNED for o in planned)
            would = sum(o.result == WOULD_MOVE for o in planned) if previewed else len(planned)
            what = f"{would} would move" if previewed else f"{would} to send"
            out.print(f"\nDry run: nothing was changed. {what}; add --execute to send them.")
            raise typer.Exit(0 if all(o.result in (WOULD_MOVE, PLANNED, MOVED) for o in outcomes) else 1)

        if not targets:
            out.print("Nothing left to move.")
        elif not yes:
            refused = sum(o.result == WOULD_REFUSE for o in planned)
            note = f" ({refused} of them would be refused, per the preview)" if refused else ""
            _confirm(f"Send {len(targets)} meeting series{note} from {old_host} to {new_host} {where}?")
        outcomes = settled + _execute(client, err, book, new_host, site, old_host, targets)

    _summary(out, outcomes)
    if report:
        _write_reassign_report(report, outcomes)
        out.print(f"Report: {report}")
    raise typer.Exit(0 if all(o.result == MOVED for o in outcomes) else 1)


def _default_site(client: WebexClient, err: Console) -> str | None:
    try:
        sites = client.sites()
    except (NotFoundError, MethodNotAllowedError):
        return None
    site = next((s.site_url for s in sites if s.default), None)
    if site:
        err.print(f"Site: {site} (your default site; choose another with --site)")
    return site


def _check_new_host(client: WebexClient, new_host: str, err: Console) -> None:
    """Stop early when the new host is not a person the server knows (skipped if it can't say)."""
    try:
        people = client.people(email=new_host)
    except ApiError:
        err.print("[dim]Could not look the new host up in /people; the server will check it.[/dim]")
        return
    if not any(new_host.lower() in (e.lower() for e in p.emails) for p in people):
        fail(f"--to {new_host}: no such person in your organisation")


def _targets(
    client: WebexClient,
    old_host: str,
    new_host: str,
    site: str | None,
    wanted: list[str] | None,
    err: Console,
) -> tuple[list[Target], list[Outcome]]:
    """What to move, and what is settled without asking (already with the new host, someone else's)."""
    if wanted is None:
        started = time.monotonic()
        with err.status(f"Listing the meeting series {old_host} hosts..."):
            try:
                found = series_hosted_by(client, old_host, site)
            except (NotFoundError, MethodNotAllowedError) as exc:
                fail(f"this server can't list meetings ({exc}); give the IDs with --ids FILE")
        err.print(f"Listed {len(found)} series in {time.monotonic() - started:.1f} s.")
        return [Target(m.id, m.title) for m in found], []
    targets: list[Target] = []
    settled: list[Outcome] = []
    with err.status(f"Looking up {len(wanted)} meetings..."):
        for mid in wanted:
            try:
                meeting = client.get_meeting(mid)
            except (NotFoundError, MethodNotAllowedError, ApiError):
                targets.append(Target(mid))  # the reassign answer will say what is wrong with it
                continue
            host = (meeting.host_email or "").lower()
            if host == new_host.lower():
                settled.append(Outcome(mid, meeting.title, MOVED, f"already hosted by {new_host}"))
            elif host and host != old_host.lower():
                settled.append(Outcome(mid, meeting.title, SKIPPED, f"hosted by {host}, not {old_host}"))
            else:
                targets.append(Target(mid, meeting.title))
    return targets, settled


def _plan(
    client: WebexClient, out: Console, err: Console, new_host: str, targets: list[Target], site: str | None
) -> list[Outcome]:
    if not targets:
        return []
    started = time.monotonic()
    try:
        with _progress(err) as bar:
            task = bar.add_task("Preview", total=len(targets))
            verdicts = preview(client, new_host, targets, site, lambda n: bar.advance(task, n))
        err.print(f"Previewed {len(targets)} series in {time.monotonic() - started:.1f} s.")
    except PreviewNotSupported:
        out.print(
            "[yellow]Preview not supported by this server[/yellow] (Webex has none): the plan shows "
            "no verdicts; each meeting's verdict comes with the real run."
        )
        return plan_outcomes(targets, None)
    except (UnauthorizedError, ForbiddenError) as exc:
        fail(str(exc))
    except WebexError as exc:
        out.print(f"[yellow]Preview failed[/yellow] ({escape(str(exc))}); the plan shows no verdicts.")
        return plan_outcomes(targets, None)
    return plan_outcomes(targets, verdicts)


def _show_plan(out: Console, planned: Sequence[Outcome]) -> None:
    if not planned:
        return
    table = Table(title="Plan", title_justify="left")
    table.add_column("Meeting series ID", overflow="fold", no_wrap=False)
    table.add_column("Title", overflow="fold")
    table.add_column("Verdict", overflow="fold")
    for o in planned[:PLAN_ROWS]:
        verdict = o.result if not o.reason else f"{o.result}: {o.reason}"
        style = "green" if o.result == WOULD_MOVE else ("" if o.result == PLANNED else "red")
        verdict = escape(verdict)
        table.add_row(o.meeting_id, escape(o.title), f"[{style}]{verdict}[/{style}]" if style else verdict)
    out.print(table)
    if len(planned) > PLAN_ROWS:
        out.print(f"... and {len(planned) - PLAN_ROWS} more (all of them are in the --report file).")
    counts: dict[str, int] = {}
    for o in planned:
        counts[o.result] = counts.get(o.result, 0) + 1
    out.print("Plan: " + ", ".join(f"{n} {what}" for what, n in counts.items()))


def _execute(
    client: WebexClient,
    err: Console,
    book: Journal,
    new_host: str,
    site: str | None,
    old_host: str,
    targets: list[Target],
) -> list[Outcome]:
    if not targets:
        return []
    book.append({"kind": "start", "from": old_host, "to": new_host, "site": site, "count": len(targets)})
    started = time.monotonic()
    with _progress(err) as bar:
        task = bar.add_task("Reassigning", total=len(targets))
        job = ReassignJob(client, new_host, site, book, lambda done: bar.advance(task, len(done)))
        outcomes = job.run(targets)
    err.print(f"Sent {len(targets)} series in {time.monotonic() - started:.1f} s.")
    if job.interrupted:
        err.print(
            f"[red]Interrupted:[/red] {escape(job.interrupted)}\n"
            f"What moved is in the journal {book.path}; run the same command again to move the rest."
        )
    return outcomes


def _summary(out: Console, outcomes: Sequence[Outcome]) -> None:
    groups: dict[tuple[str, str], int] = {}
    for o in outcomes:
        reason = "" if o.result == MOVED else o.reason
        groups[(o.result, reason)] = groups.get((o.result, reason), 0) + 1
    table = Table(title="Summary", title_justify="left")
    table.add_column("Result")
    table.add_column("Meetings", justify="right")
    table.add_column("Why", overflow="fold")
    order = {MOVED: 0, REFUSED: 1, SKIPPED: 2, FAILED: 3}
    for (result, reason), n in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 9), -kv[1])):
        style = {MOVED: "green", REFUSED: "yellow"}.get(result, "red")
        table.add_row(f"[{style}]{result}[/{style}]", str(n), escape(reason))
    out.print(table)
    moved = sum(o.result == MOVED for o in outcomes)
    out.print(f"{moved} of {len(outcomes)} meeting series moved.")


def _write_reassign_report(path: Path, outcomes: Sequence[Outcome]) -> None:
    rows = [[o.meeting_id, o.title, o.result, o.reason] for o in outcomes]
    write_report(path, ["id", "title", "result", "reason"], rows)


# -- pmr refresh ----------------------------------------------------------------------------------


def pmr_refresh(
    site: Annotated[str, typer.Option("--site", help="Site URL, e.g. example.webex.com.")],
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv", help="CSV with an 'email' or 'personId' column and a 'personalMeetingRoomId' column."
        ),
    ] = None,
    system_generated: Annotated[
        bool,
        typer.Option("--system-generated", help="Let the site's rule generate the new IDs (needs --people)."),
    ] = False,
    people: Annotated[
        Path | None,
        typer.Option("--people", help="With --system-generated: CSV with an 'email' or 'personId' column."),
    ] = None,
    execute: Execute = False,
    yes: Yes = False,
    report: ReportPath = None,
    token: Token = None,
    base_url: BaseUrl = DEFAULT_BASE_URL,
    journal: JournalPath = None,
) -> None:
    """Give people new personal meeting room IDs, 100 per call; dry run unless --execute."""
    if csv_file is not None and (system_generated or people is not None):
        usage_error("use either --csv FILE, or --system-generated --people FILE, not both")
    if csv_file is None and not (system_generated and people is not None):
        usage_error("give --csv FILE (explicit IDs), or --system-generated --people FILE")
    source = csv_file or people
    assert source is not None
    try:
        rows = read_people(source, need_room_ids=csv_file is not None)
    except CsvProblem as exc:
        usage_error(f"{exc}. Nothing was sent.")
    token = _common_checks(token, report, execute, yes)

    out, err = _out(), _err()
    with client_factory(base_url, token) as client:
        with err.status(f"Reading the current room IDs of {len(rows)} people..."):
            old = old_room_ids(client, rows, site)
        _show_pmr_plan(out, rows, old, site)
        if not execute:
            outcomes = [PmrOutcome(r.who, old.get(r.who, ""), r.new_id or GENERATED, "planned") for r in rows]
            if report:
                _write_pmr_report(report, outcomes)
            out.print("\nDry run: nothing was changed; add --execute to refresh the IDs.")
            raise typer.Exit(0)
        if not yes:
            _confirm(f"Refresh the personal room IDs of {len(rows)} people on {site}?")
        mode = "generated" if csv_file is None else "explicit"
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        book = Journal(journal or default_journal_path("pmr", base_url, site.lower(), mode, digest))
        with _progress(err) as bar:
            task = bar.add_task("Refreshing", total=len(rows))
            outcomes, interrupted = PmrJob(client, site, book, lambda n: bar.advance(task, n)).run(rows, old)
            bar.update(task, completed=len(rows))
        if interrupted:
            err.print(
                f"[red]Interrupted.[/red] Finished batches are in the journal {book.path}; run the same "
                "command again to do the rest (the same batches get the same Idempotency-Key)."
            )

    _pmr_summary(out, outcomes)
    if report:
        _write_pmr_report(report, outcomes)
        out.print(f"Report: {report}")
    raise typer.Exit(0 if all(o.result == "refreshed" for o in outcomes) else 1)


def _show_pmr_plan(out: Console, rows: Sequence[PmrRow], old: dict[str, str], site: str) -> None:
    table = Table(title=f"Plan: personal room IDs on {site}", title_justify="left")
    table.add_column("Person", overflow="fold")
    table.add_column("Current ID", overflow="fold")
    table.add_column("New ID", overflow="fold")
    for r in rows[:PLAN_ROWS]:
        table.add_row(escape(r.who), escape(old.get(r.who, "")), escape(r.new_id or GENERATED))
    out.print(table)
    if len(rows) > PLAN_ROWS:
        out.print(f"... and {len(rows) - PLAN_ROWS} more (all of them are in the --report file).")


def _pmr_summary(out: Console, outcomes: Sequence[PmrOutcome]) -> None:
    groups: dict[tuple[str, str], int] = {}
    for o in outcomes:
        groups[(o.result, o.reason)] = groups.get((o.result, o.reason), 0) + 1
    table = Table(title="Summary", title_justify="left")
    table.add_column("Result")
    table.add_column("People", justify="right")
    table.add_column("Why", overflow="fold")
    for (result, reason), n in groups.items():
        style = "green" if result == "refreshed" else "red"
        table.add_row(f"[{style}]{result}[/{style}]", str(n), escape(reason))
    out.print(table)


def _write_pmr_report(path: Path, outcomes: Sequence[PmrOutcome]) -> None:
    rows = [[o.person, o.old_id, o.new_id, o.result, o.reason] for o in outcomes]
    write_report(
        path, ["person", "oldPersonalMeetingRoomId", "newPersonalMeetingRoomId", "result", "reason"], rows
    )


def register(app: typer.Typer) -> None:
    """Add ``reassign`` and the ``pmr`` group to the ``meetadmin`` command."""
    app.command("reassign")(reassign)
    pmr_app = typer.Typer(help="Personal meeting room IDs.", no_args_is_help=True)
    pmr_app.command("refresh")(pmr_refresh)
    app.add_typer(pmr_app, name="pmr")
