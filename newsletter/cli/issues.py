"""`newsletter issues …`: create an issue, send it, watch it, pause, resume or cancel it."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import click
from flask import current_app

from newsletter.background.periodic import LEASE_NAME
from newsletter.cli.context import needs_schema
from newsletter.compose.issues import create_issue, get_issue
from newsletter.delivery import control
from newsletter.delivery.control import progress, send_issue
from newsletter.delivery.in_process import send_in_process
from newsletter.delivery.reconfirmation import start_reconfirmation
from newsletter.errors import NotFoundError
from newsletter.extensions import current_app_object, db
from newsletter.mail.sink import stop_sink
from newsletter.models import ImportJob, IssueStatus, Lease
from newsletter.models.base import get_by_id, utcnow


@click.group("issues")
def issues() -> None:
    """Create and send newsletter issues."""


@issues.command("create")
@click.option("--list", "list_slugs", multiple=True, required=True, help="A list (repeatable).")
@click.option("--subject", required=True)
@click.option(
    "--body-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The body, in Markdown.",
)
@needs_schema
def create(list_slugs: tuple[str, ...], subject: str, body_file: Path) -> None:
    """Create a draft issue; prints its id alone on stdout."""
    issue = create_issue(subject, _read_body(body_file), list(list_slugs), "cli")
    click.echo(issue.id)


def _read_body(path: Path) -> str:
    """The body file's text: UTF-8 (a byte-order mark dropped), else Windows-1252 with a note.

    Notepad's "ANSI" and older Word exports are Windows-1252; reading them as such keeps the
    accents, and the note says to check them.
    """
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        click.echo(
            f"note: {path.name} is not UTF-8; it was read as Windows-1252 (check accented "
            "letters in the preview)",
            err=True,
        )
        return raw.decode("cp1252", errors="replace")


@issues.command("send")
@click.argument("issue_id", type=int)
@click.option("--wait", is_flag=True, help="Show progress and wait until every row is final.")
@needs_schema
def send(issue_id: int, wait: bool) -> None:
    """Queue an issue for sending."""
    issue = get_issue(issue_id)
    redis = bool(current_app.config.get("REDIS_URL"))
    recipients = send_issue(issue, "cli", dispatch=redis)
    click.echo(f"issue {issue_id}: {recipients} recipients", err=True)
    if not wait:
        if not redis:
            click.echo("recorded; a running `newsletter serve` sends it", err=True)
        return
    raise click.exceptions.Exit(_wait(issue_id, send_here=not redis and not _serve_is_running()))


@issues.command("reconfirm")
@click.argument("job_id", type=int)
@click.option("--wait", is_flag=True, help="Show progress and wait until every row is final.")
@needs_schema
def reconfirm(job_id: int, wait: bool) -> None:
    """Send one confirmation request to each person an import left pending.

    For an import run with `--consent reconfirm`; once per import. Prints the id of the
    reconfirmation alone on stdout: `issues status|pause|resume|cancel ID` work on it.
    """
    job = get_by_id(ImportJob, job_id)
    if job is None:
        raise NotFoundError(f"no import with the id {job_id}")
    redis = bool(current_app.config.get("REDIS_URL"))
    issue = start_reconfirmation(job, "cli", dispatch=redis)
    click.echo(issue.id)
    click.echo(f"import {job_id}: {progress(issue).recipients} people asked to confirm", err=True)
    if not wait:
        if not redis:
            click.echo("recorded; a running `newsletter serve` sends it", err=True)
        return
    raise click.exceptions.Exit(_wait(issue.id, send_here=not redis and not _serve_is_running()))


@issues.command("status")
@click.argument("issue_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@needs_schema
def status(issue_id: int, as_json: bool) -> None:
    """Counts of the issue's recipients by delivery state."""
    counts = progress(get_issue(issue_id)).as_dict()
    if as_json:
        click.echo(json.dumps(counts))
        return
    for key, value in counts.items():
        click.echo(f"{key}: {value}")


def _control(name: str, help_text: str):
    @issues.command(name, help=help_text)
    @click.argument("issue_id", type=int)
    @needs_schema
    def command(issue_id: int) -> None:
        issue = get_issue(issue_id)
        if name == "resume":
            control.resume(issue, "cli", dispatch=bool(current_app.config.get("REDIS_URL")))
        else:
            getattr(control, name)(issue, "cli")
        click.echo(f"issue {issue_id} is {issue.status.value}", err=True)

    return command


pause = _control("pause", "Pause a sending issue; `resume` carries on.")
resume = _control("resume", "Carry on sending a paused issue.")
cancel = _control("cancel", "Cancel an issue: nothing more of it is sent.")


def _serve_is_running() -> bool:
    """A live periodic-runner lease means a `serve` (or worker) will pick the work up."""
    lease = db.session.get(Lease, LEASE_NAME)
    db.session.commit()
    return lease is not None and lease.expires_at > utcnow()


def _wait(issue_id: int, send_here: bool) -> int:
    """Show progress until every row is final: 0 when sent, 1 when paused or cancelled."""
    app = current_app_object()
    failure: list[BaseException] = []
    if send_here:
        thread = threading.Thread(target=_send_here, args=(app, issue_id, failure), daemon=True)
        thread.start()
    bar = ProgressBar()
    while True:
        issue = get_issue(issue_id)
        counts = progress(issue)
        db.session.commit()
        bar.show(counts)
        if failure:
            raise failure[0]
        if issue.status in (IssueStatus.PAUSED, IssueStatus.CANCELLED):
            bar.done(f"issue {issue_id} is {issue.status.value}")
            return 1
        if counts.open == 0 and issue.status == IssueStatus.SENT:
            bar.done(f"issue {issue_id} is sent")
            return 0
        time.sleep(0.5)


def _send_here(app, issue_id: int, failure: list[BaseException]) -> None:
    with app.app_context():
        try:
            send_in_process(issue_id)
        except BaseException as error:  # handed to the main thread, which reports it
            failure.append(error)
        finally:
            if not app.config.get("SMTP_URL"):
                stop_sink()


class ProgressBar:
    """A one-line bar on stderr (a new line every few seconds when stderr is not a terminal)."""

    WIDTH = 30

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first_final: int | None = None
        self.last_line = 0.0
        self.tty = sys.stderr.isatty()

    def show(self, counts) -> None:
        total = counts.recipients or 1
        done = counts.final
        if self.first_final is None:
            self.first_final = done
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (done - self.first_final) / elapsed
        eta = f"{(total - done) / rate:.0f}s" if rate > 0 and done < total else "-"
        filled = int(self.WIDTH * done / total)
        line = (
            f"[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done}/{counts.recipients} "
            f"sent {counts.counts['sent']} failed {counts.counts['failed']} "
            f"skipped {counts.counts['skipped']} {rate:.0f}/s ETA {eta}"
        )
        if self.tty:
            click.echo(f"\r{line}", err=True, nl=False)
        elif time.monotonic() - self.last_line >= 5 or done == counts.recipients:
            self.last_line = time.monotonic()
            click.echo(line, err=True)

    def done(self, message: str) -> None:
        if self.tty:
            click.echo("", err=True)
        click.echo(message, err=True)
