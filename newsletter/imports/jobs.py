"""Import jobs: creating one, finding one to resume, claiming it, and running it to the end.

The CLI and the background actor both come through `run_job` (or `run_dry_job`, for a dry run
of an upload), so an import behaves the same whichever started it; both go through one loop
(`_run_claimed`). A job belongs to one process at a time (`holder`); a holder that stops
showing life (no batch committed for STALE_AFTER, or a dead process on this machine) can be
taken over, and the new holder carries on from the job's checkpoint. Uploads, their check in
a worker and the preview's start are in uploads.py.
"""

from __future__ import annotations

import os
import socket
import unicodedata
from collections.abc import Callable, Iterator
from datetime import timedelta

import sqlalchemy as sa

from newsletter import audit, suppression, webhooks
from newsletter.background import enqueue
from newsletter.errors import NewsletterError
from newsletter.extensions import db
from newsletter.imports.errors import ImportBusyError, ImportFileError
from newsletter.imports.importer import Importer, Reject, job_checkpoint
from newsletter.imports.merge import Counts, ImportContext
from newsletter.imports.reading import RecordStream
from newsletter.imports.retention import discard_upload
from newsletter.imports.rows import BATCH_SIZE, Prepared, RowContext, prepare, prepare_in_parallel
from newsletter.imports.sources import Source
from newsletter.models import (
    Account,
    ConsentMode,
    ImportFile,
    ImportJob,
    ImportStatus,
    MailingList,
)
from newsletter.models.base import changed_rows, utcnow

STALE_AFTER = timedelta(minutes=2)
Progress = Callable[[int, int, int], None]  # rows done, bytes done, bytes total


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def create_job(
    source: Source,
    stream: RecordStream,
    mailing_list: MailingList,
    consent: ConsentMode,
    column_map: dict | None = None,
    actor: Account | str = "cli",
    content: bytes | None = None,
) -> ImportJob:
    """A queued job for this file and list; `content` keeps an upload's bytes with it."""
    return _add_job(
        mailing_list,
        consent,
        actor,
        file_name=source.name,
        sha256=source.sha256,
        size=source.size,
        wanted=stream.format,
        column_map=column_map,
        bytes_total=stream.bytes_total,
        warnings=list(source.warnings),
        content=content,
    )


def _add_job(
    mailing_list: MailingList,
    consent: ConsentMode,
    actor: Account | str,
    *,
    file_name: str,
    sha256: str,
    size: int,
    wanted: str,
    column_map: dict | None,
    bytes_total: int,
    warnings: list[str],
    content: bytes | None,
    previewing: bool = False,
    audited: bool = True,
) -> ImportJob:
    account = actor if isinstance(actor, Account) else None
    job = ImportJob(
        list_id=mailing_list.id,
        created_by_id=account.id if account else None,
        actor=account.email if account else str(actor),
        file_name=file_name[:255],
        file_sha256=sha256,
        file_size=size,
        format=wanted,
        column_map=column_map or {},
        consent_mode=consent,
        status=ImportStatus.QUEUED,
        bytes_total=bytes_total,
        warnings=warnings,
        previewing=previewing,
    )
    db.session.add(job)
    db.session.flush()
    if content is not None:
        db.session.add(ImportFile(job_id=job.id, content=content))
    action = "import.uploaded" if previewing else "import.queued"
    if audited:
        audit.record(
            action if content is not None else "import.started",
            target=f"list:{mailing_list.slug}",
            detail=_audit_detail(job),
            actor=actor,
        )
    db.session.commit()
    return job


def find_resumable(
    source: Source,
    stream: RecordStream,
    mailing_list: MailingList,
    consent: ConsentMode,
    column_map: dict | None = None,
) -> ImportJob | None:
    """An unfinished earlier run of the same file into the same list with the same options."""
    candidates = db.session.scalars(
        sa.select(ImportJob)
        .where(
            ImportJob.file_sha256 == source.sha256,
            ImportJob.list_id == mailing_list.id,
            ImportJob.format == stream.format,
            ImportJob.consent_mode == consent,
            ImportJob.status != ImportStatus.DONE,
        )
        .order_by(ImportJob.id.desc())
    )
    return next((job for job in candidates if (job.column_map or {}) == (column_map or {})), None)


def _holder_is_gone(holder: str | None) -> bool:
    """True when the holder was a process on this machine that no longer runs."""
    if not holder or ":" not in holder:
        return True
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def claim(job: ImportJob, holder: str) -> None:
    """Make this process the job's holder, or ImportBusyError if a live process holds it."""
    now = utcnow()
    table = ImportJob.__table__
    may_take = sa.or_(
        table.c.holder.is_(None),
        table.c.holder == holder,
        table.c.status.in_([ImportStatus.QUEUED.value, ImportStatus.FAILED.value]),
        table.c.heartbeat_at < now - STALE_AFTER,
    )
    if _holder_is_gone(job.holder):
        may_take = sa.or_(may_take, table.c.holder == job.holder)
    result = db.session.execute(
        table.update()
        .where(table.c.id == job.id, table.c.status != ImportStatus.DONE.value, may_take)
        .values(
            holder=holder,
            heartbeat_at=now,
            status=ImportStatus.RUNNING.value,
            started_at=sa.func.coalesce(table.c.started_at, now),
            error=None,
        )
    )
    db.session.commit()
    if changed_rows(result) != 1:
        raise ImportBusyError(
            f"import job {job.id} of this file is running in another process ({job.holder}); "
            "wait for it, or run this again once it has stopped"
        )
    db.session.refresh(job)


def contexts_for(
    job: ImportJob | None, source: Source, stream: RecordStream, list_id: int, consent: ConsentMode
) -> tuple[ImportContext, RowContext]:
    """What the merge rules and the row preparation need to know about this import."""
    context = ImportContext(
        list_id=list_id,
        consent=consent,
        source_system=stream.format,
        job_id=job.id if job else None,
        account_id=job.created_by_id if job else None,
        source=source.name,
    )
    rows = RowContext(
        file_name=source.name,
        file_sha256=source.sha256,
        consent=consent.value,
        address_hash=suppression.hasher(),
    )
    return context, rows


def run_job(
    job: ImportJob,
    source: Source,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    parallel: bool = False,
) -> ImportJob:
    """Claim the job and import (or resume) it to the end; the job holds the result."""
    return _run_claimed(job, source, batch_size, parallel, progress)


def run_dry_job(job: ImportJob, source: Source, batch_size: int = BATCH_SIZE) -> ImportJob:
    """A dry run of an uploaded file: what the import would do, worked out against the
    database batch by batch, with nothing written but the job's own counters (which the job
    page shows live). Run again, it starts from the beginning."""
    return _run_claimed(job, source, batch_size, parallel=False, progress=None)


def _run_claimed(
    job: ImportJob,
    source: Source,
    batch_size: int,
    parallel: bool,
    progress: Progress | None,
) -> ImportJob:
    """Claim the job, run its import (a dry run if `job.dry_run`) to the end, record the end."""
    holder = holder_id()
    claim(job, holder)
    mailing_list = db.session.get(MailingList, job.list_id) if job.list_id else None
    try:
        if mailing_list is None:  # the list's row went (the foreign key sets NULL)
            raise ImportFileError(f"the list of import job {job.id} no longer exists")
        stream = RecordStream(source, job.format, job.column_map)
        importer, row_context = _importer_for(job, holder, source, stream, progress)
        skip = 0 if job.dry_run else job.rows_done
        importer.run(
            _batches(source, job.format, job.column_map, row_context, batch_size, skip, parallel)
        )
    except BaseException as error:
        db.session.rollback()
        # The actor retries anything but a NewsletterError (a file it cannot read, a list
        # gone): only then is the upload still needed.
        retried = not isinstance(error, NewsletterError)
        _finish(job, ImportStatus.FAILED, mailing_list, error=_describe(error), retried=retried)
        raise
    _finish(job, ImportStatus.DONE, mailing_list)
    return job


def _importer_for(
    job: ImportJob, holder: str, source: Source, stream: RecordStream, progress: Progress | None
) -> tuple[Importer, RowContext]:
    """The job's importer: a real run resumes from the job's checkpoint; a dry run writes
    nothing but its counters on the job, and starts from the beginning."""
    assert job.list_id is not None  # checked by the caller
    if job.dry_run:
        context, row_context = contexts_for(None, source, stream, job.list_id, job.consent_mode)
        on_batch = _reporter(progress, stream) or _dry_run_counters(job)
        return Importer(context, dry_run=True, on_batch=on_batch), row_context
    context, row_context = contexts_for(job, source, stream, job.list_id, job.consent_mode)
    importer = Importer(
        context,
        checkpoint=job_checkpoint(job.id, holder),
        on_batch=_reporter(progress, stream),
        counts=Counts(**job.counts),
        rows_done=job.rows_done,
    )
    return importer, row_context


def _dry_run_counters(job: ImportJob) -> Callable[[int, int, Counts], None]:
    """After each batch of a dry run, its counters on the job (the page shows them live)."""
    table = ImportJob.__table__

    def report(rows: int, bytes_done: int, counts: Counts) -> None:
        db.session.execute(
            table.update()
            .where(table.c.id == job.id)
            .values(
                rows_done=rows, bytes_done=bytes_done, heartbeat_at=utcnow(), **counts.as_dict()
            )
        )
        db.session.commit()

    return report


def _batches(
    source, wanted, column_map, row_context, batch_size, skip, parallel
) -> Iterator[Prepared]:
    def make_batches() -> Iterator[Prepared]:
        stream = RecordStream(source, wanted, column_map)
        return prepare(stream, stream.bytes_done, row_context, batch_size, skip)

    return prepare_in_parallel(make_batches) if parallel else make_batches()


def _reporter(progress: Progress | None, stream: RecordStream):
    if progress is None:
        return None
    return lambda rows, bytes_done, counts: progress(rows, bytes_done, stream.bytes_total)


def _describe(error: BaseException) -> str:
    """One line fit to store and show: NUL and other control characters (a header read in the
    wrong encoding carries them, and PostgreSQL refuses NUL in text) become spaces."""
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    text = "".join(" " if unicodedata.category(c) == "Cc" else c for c in str(error)).strip()
    return " ".join(text.split())[:500] if text else type(error).__name__


describe = _describe  # for a page that shows a refused file's reason (the upload form)


def _finish(
    job: ImportJob,
    status: ImportStatus,
    mailing_list: MailingList | None,
    error: str = "",
    retried: bool = False,
) -> None:
    """Record how the job ended, audited; commits. The upload goes with it unless a worker
    will retry the job (`retried`: it failed on something other than the file itself)."""
    db.session.refresh(job)
    job.status = status
    job.finished_at = utcnow()
    job.holder = None
    if status is ImportStatus.DONE:
        job.bytes_done = job.bytes_total
    # A finished dry run keeps it (until the retention job), to be imported from its page.
    keep = job.dry_run if status is ImportStatus.DONE else retried
    if not keep:
        discard_upload(job)  # it holds every address and name of the file: not kept past use
    job.error = error or None
    actor = db.session.get(Account, job.created_by_id) if job.created_by_id else job.actor
    done = "import.dry_run_completed" if job.dry_run else "import.completed"
    audit.record(
        done if status is ImportStatus.DONE else "import.failed",
        target=f"list:{mailing_list.slug}" if mailing_list else "",
        detail=_audit_detail(job) | ({"error": error} if error else {}),
        actor=actor,
    )
    webhooks.emit(
        webhooks.EventType.IMPORT_FINISHED,
        None,
        {
            "import_id": job.id,
            "list": mailing_list.slug if mailing_list else None,
            "status": status.value,
            "dry_run": job.dry_run,
            "counts": dict(job.counts),
        },
    )
    db.session.commit()
    if status is ImportStatus.DONE and job.send_welcome and not job.dry_run and job.list_id:
        enqueue.queue_welcomes(job.list_id)  # the people it confirmed get the welcome message


def _audit_detail(job: ImportJob) -> dict:
    return {
        "job": job.id,
        "file": job.file_name,
        "sha256": job.file_sha256,
        "format": job.format,
        "consent": job.consent_mode.value,
        **({"dry_run": True} if job.dry_run else {}),
        **job.counts,
    }


def dry_run(
    source: Source,
    stream: RecordStream,
    mailing_list: MailingList,
    consent: ConsentMode,
    on_rejects: Callable[[list[Reject]], None] | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    column_map: dict | None = None,
    parallel: bool = False,
) -> Counts:
    """What an import would do, worked out against the database, with nothing written."""
    context, row_context = contexts_for(None, source, stream, mailing_list.id, consent)
    importer = Importer(
        context,
        dry_run=True,
        on_rejects=on_rejects,
        on_batch=_reporter(progress, stream),
    )
    return importer.run(
        _batches(source, stream.format, column_map, row_context, batch_size, 0, parallel)
    )
