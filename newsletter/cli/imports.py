"""`newsletter import FILE --list SLUG`: migrate subscribers from another provider."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from newsletter.cli.context import needs_schema
from newsletter.extensions import db
from newsletter.imports import jobs
from newsletter.imports.errors import ImportFileError
from newsletter.imports.formats import FORMATS, MAPPABLE_FIELDS
from newsletter.imports.reading import RecordStream
from newsletter.imports.reports import RejectsWriter, job_rejects, summary_line
from newsletter.imports.sources import open_path
from newsletter.imports.uploads import limits
from newsletter.lists import get_list
from newsletter.models import ConsentMode

# Reading and validating in a second process pays off only with a second core for it.
PARALLEL = (os.cpu_count() or 1) > 1


def parse_map(values: tuple[str, ...]) -> dict[str, str]:
    """--map email=Destination --map name="Full name" as a dict; a usage error if malformed."""
    mapping = {}
    for value in values:
        field, sep, column = value.partition("=")
        field = field.strip().lower()
        if not sep or field not in MAPPABLE_FIELDS or not column.strip():
            raise click.BadParameter(
                f"{value!r}: use FIELD=COLUMN with FIELD one of {', '.join(MAPPABLE_FIELDS)}",
                param_hint="--map",
            )
        mapping[field] = column.strip()
    return mapping


class ProgressBar:
    """Rows, rate and ETA on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total_bytes: int) -> None:
        self.bar = None
        if sys.stderr.isatty():
            self.bar = click.progressbar(
                length=max(total_bytes, 1),
                label="Importing",
                file=sys.stderr,
                item_show_func=lambda text: text,
            )
            self.bar.__enter__()
        self.started = time.monotonic()
        self.first_rows: int | None = None
        self.last_bytes = 0

    def __call__(self, rows: int, bytes_done: int, bytes_total: int) -> None:
        if self.bar is None:
            return
        if self.first_rows is None:
            self.first_rows = rows
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (rows - self.first_rows) / elapsed
        step, self.last_bytes = bytes_done - self.last_bytes, bytes_done
        self.bar.update(max(step, 0), f"{rows:,} rows, {rate:,.0f} rows/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@click.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--list", "slug", required=True, help="Slug of the list to import into.")
@click.option(
    "--format",
    "wanted",
    type=click.Choice(FORMATS),
    default="auto",
    show_default=True,
    help="The export's format; auto recognises it from the header.",
)
@click.option(
    "--consent",
    type=click.Choice(["keep", "reconfirm"]),
    default="keep",
    show_default=True,
    help="keep: imported as confirmed; reconfirm: imported as pending, nothing sent.",
)
@click.option("--dry-run", is_flag=True, help="Report what would happen; write nothing.")
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the refused rows (line, value, reason, file) to this CSV.",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Take a field (email, name, first_name, last_name) from a named column.",
)
@click.option(
    "--welcome",
    is_flag=True,
    help="Send the list's welcome message (if it is on) to each person imported as confirmed.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 100_000),
    default=5000,
    show_default=True,
    help="Rows per committed batch.",
)
@needs_schema
def import_command(
    file: Path,
    slug: str,
    wanted: str,
    consent: str,
    dry_run: bool,
    rejects_path: Path | None,
    mapping: tuple[str, ...],
    welcome: bool,
    batch_size: int,
) -> None:
    """Import subscribers from a Mailchimp, listmonk, Mailman or CSV export into a list.

    The last line on stdout sums it up: imported, updated, unchanged, suppressed, rejected,
    duplicates. Run it again after an interruption and it carries on where it stopped.
    """
    column_map = parse_map(mapping)
    mailing_list = get_list(slug)
    source = open_path(file, limits())
    stream = RecordStream(source, wanted, column_map)
    for warning in source.warnings:
        click.echo(f"warning: {warning}", err=True)
    mode = ConsentMode(consent)
    progress = ProgressBar(stream.bytes_total)
    try:
        if dry_run:
            counts = _dry_run(
                jobs, source, stream, mailing_list, mode, column_map, rejects_path, progress,
                batch_size,
            )  # fmt: skip
        else:
            counts = _import(
                jobs, source, stream, mailing_list, mode, column_map, progress, batch_size,
                welcome,
            )  # fmt: skip
    finally:
        progress.close()
    if not dry_run and rejects_path is not None:
        with _open_rejects(rejects_path) as out:
            RejectsWriter(out).write(job_rejects(counts.pop("job")))
    counts.pop("job", None)
    if dry_run:  # stderr: the last line on stdout stays the summary the contract promises
        click.echo("dry run: nothing was written; the summary is what it would do", err=True)
    click.echo(summary_line(counts))


def _import(
    jobs, source, stream, mailing_list, mode, column_map, progress, batch_size, welcome=False
) -> dict:
    job = jobs.find_resumable(source, stream, mailing_list, mode, column_map)
    if job is None:
        job = jobs.create_job(source, stream, mailing_list, mode, column_map, actor="cli")
    if welcome and not job.send_welcome:
        job.send_welcome = True  # read when the job finishes (delivery/welcome.py)
        db.session.commit()
    elif job.rows_done:
        click.echo(
            f"resuming import job {job.id} after row {job.rows_done:,} of {source.name}", err=True
        )
    jobs.run_job(job, source, progress=progress, batch_size=batch_size, parallel=PARALLEL)
    return {**job.counts, "job": job.id}


def _dry_run(jobs, source, stream, mailing_list, mode, column_map, rejects_path, progress,
             batch_size):  # fmt: skip
    if rejects_path is None:
        counts = jobs.dry_run(
            source, stream, mailing_list, mode, progress=progress, batch_size=batch_size,
            column_map=column_map, parallel=PARALLEL,
        )  # fmt: skip
        return counts.as_dict()
    with _open_rejects(rejects_path) as out:
        writer = RejectsWriter(out)
        counts = jobs.dry_run(
            source, stream, mailing_list, mode, on_rejects=writer.write, progress=progress,
            batch_size=batch_size, column_map=column_map, parallel=PARALLEL,
        )  # fmt: skip
    return counts.as_dict()


def _open_rejects(path: Path):
    try:
        return path.open("w", newline="", encoding="utf-8")
    except OSError as error:
        raise ImportFileError(f"cannot write {path}: {error.strerror or error}") from error
