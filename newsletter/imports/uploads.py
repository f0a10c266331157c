"""Uploaded imports: keeping the file with a job, checking it in a worker, the preview's
start, and what the job pages show.

The admin's upload is stored as it came, with a job (`queue_upload`, or `keep_upload` when the
admin wants a preview first and then `start`s it, as an import or a dry run); the worker checks
the stored file (`run_uploaded_job`) and hands it to `jobs.run_job` or `jobs.run_dry_job`. A
finished dry run's file can be imported for real (`import_after_dry_run`).
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from flask import current_app

from newsletter import audit
from newsletter.background import enqueue
from newsletter.extensions import db
from newsletter.imports.errors import ImportFileError
from newsletter.imports.formats import FORMATS
from newsletter.imports.jobs import (
    _add_job,
    _audit_detail,
    _describe,
    _finish,
    run_dry_job,
    run_job,
)
from newsletter.imports.limits import Limits
from newsletter.imports.reading import RecordStream
from newsletter.imports.sources import Source, open_bytes
from newsletter.models import Account, ConsentMode, ImportFile, ImportJob, ImportStatus, MailingList


def limits() -> Limits:
    """What an import file may hold, from the app's settings (IMPORT_MAX_…)."""
    return Limits.from_config(current_app.config)


def uploaded_source(job: ImportJob) -> Source:
    """The source of a job whose file was uploaded (its bytes are in the database)."""
    stored = db.session.get(ImportFile, job.id)
    if stored is None:
        if job.file_deleted_at is not None:
            raise ImportFileError(
                f"the uploaded file of import job {job.id} has been deleted; upload it again"
            )
        raise ImportFileError(f"import job {job.id} has no stored file")
    return open_bytes(job.file_name, stored.content, limits())


def queue_upload(
    name: str,
    content: bytes,
    mailing_list: MailingList,
    wanted: str,
    consent: ConsentMode,
    actor: Account,
) -> ImportJob:
    """Keep an uploaded file with a new job and hand it to a worker, which checks and reads it.

    Nothing here opens the file: unpacking and parsing a hostile upload would cost the web
    worker its memory and time, so the request only stores the bytes (Flask has already
    capped their size, MAX_CONTENT_LENGTH). The job's format stays what was asked for
    (maybe "auto") until the worker has recognised it; a file it cannot read fails the job
    with the reason, and nothing is imported."""
    job = keep_upload(name, content, mailing_list, wanted, consent, actor, previewing=False)
    enqueue.run_import(job.id)
    return job


def run_uploaded_job(job_id: int) -> None:
    """What the background actor does: check the stored file, then run (or resume) the job.

    A file that cannot be read, or breaks a limit, fails the job with the reason before any
    row is read into the database."""
    job = db.session.get(ImportJob, job_id)
    if job is None or job.status is ImportStatus.DONE:
        return
    try:
        source = uploaded_source(job)
        stream = RecordStream(source, job.format, job.column_map)
    except ImportFileError as error:
        db.session.rollback()
        mailing_list = db.session.get(MailingList, job.list_id) if job.list_id else None
        _finish(job, ImportStatus.FAILED, mailing_list, error=_describe(error))
        return
    if (job.format, job.bytes_total) != (stream.format, stream.bytes_total):
        job.format = stream.format
        job.bytes_total = stream.bytes_total
        job.warnings = list(source.warnings)
        db.session.commit()
    if job.dry_run:
        run_dry_job(job, source)
    else:
        run_job(job, source)


def keep_upload(
    name: str,
    content: bytes,
    mailing_list: MailingList,
    wanted: str,
    consent: ConsentMode,
    actor: Account,
    previewing: bool = True,
) -> ImportJob:
    """Keep an upload whose preview the admin has seen, with a job that waits for them to
    start it (`start`); the retention job deletes it if they never do. Not `previewing`,
    the job is queued as it is (`queue_upload` hands it to a worker)."""
    if wanted not in FORMATS:
        raise ImportFileError(f"unknown format '{wanted}'; use one of {', '.join(FORMATS)}")
    if not content:
        raise ImportFileError(f"{name} is empty")
    return _add_job(
        mailing_list,
        consent,
        actor,
        file_name=name,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        wanted=wanted,
        column_map=None,
        bytes_total=0,  # counted by the worker's check (`checking` until then)
        warnings=[],
        content=content,
        previewing=previewing,
    )


def start(job: ImportJob, dry_run: bool, actor: Account) -> None:
    """Hand a previewed upload to a worker, as an import or as a dry run; audited."""
    if not job.previewing:
        raise ImportFileError(f"import job {job.id} has already been started")
    if db.session.get(ImportFile, job.id) is None:
        raise ImportFileError("its uploaded file has been deleted; upload it again")
    job.previewing = False
    job.dry_run = dry_run
    mailing_list = db.session.get(MailingList, job.list_id) if job.list_id else None
    audit.record(
        "import.dry_run_queued" if dry_run else "import.queued",
        target=f"list:{mailing_list.slug}" if mailing_list else "",
        detail=_audit_detail(job),
        actor=actor,
    )
    db.session.commit()
    enqueue.run_import(job.id)


def import_after_dry_run(job: ImportJob, actor: Account) -> ImportJob:
    """Import for real the file a finished dry run kept: a new job takes its stored upload."""
    if not (job.dry_run and job.status is ImportStatus.DONE):
        raise ImportFileError(f"import job {job.id} is not a finished dry run")
    mailing_list = db.session.get(MailingList, job.list_id) if job.list_id else None
    if mailing_list is None:
        raise ImportFileError("its list no longer exists")
    if db.session.get(ImportFile, job.id) is None:
        raise ImportFileError("its uploaded file has been deleted; upload it again")
    new = _add_job(
        mailing_list,
        job.consent_mode,
        actor,
        file_name=job.file_name,
        sha256=job.file_sha256,
        size=job.file_size,
        wanted=job.format,
        column_map=job.column_map,
        bytes_total=0,
        warnings=[],
        content=None,
        previewing=True,
        audited=False,  # `start` records it
    )
    new.send_welcome = job.send_welcome
    db.session.execute(
        sa.update(ImportFile).where(ImportFile.job_id == job.id).values(job_id=new.id)
    )
    db.session.commit()
    start(new, dry_run=False, actor=actor)
    return new


def imported_after(job: ImportJob) -> ImportJob | None:
    """The import a dry run's file was handed to, if any."""
    return db.session.scalar(
        sa.select(ImportJob)
        .where(
            ImportJob.id > job.id,
            ImportJob.file_sha256 == job.file_sha256,
            ImportJob.list_id == job.list_id,
            ImportJob.dry_run == sa.false(),
            ImportJob.previewing == sa.false(),
        )
        .order_by(ImportJob.id)
        .limit(1)
    )


def has_upload(job: ImportJob) -> bool:
    return (
        db.session.scalar(sa.select(ImportFile.job_id).where(ImportFile.job_id == job.id))
        is not None
    )


def checking(job: ImportJob) -> bool:
    """True while a worker has yet to check an uploaded file (its format is not yet known)."""
    return job.status is ImportStatus.QUEUED and job.bytes_total == 0 and not job.previewing


def status(job: ImportJob) -> dict:
    """What the progress bar and the report need, as JSON."""
    total = job.bytes_total or 0
    percent = (
        100
        if job.status is ImportStatus.DONE
        else (int(100 * job.bytes_done / total) if total else 0)
    )
    return {
        "id": job.id,
        "status": job.status.value,
        "finished": job.finished,
        "rows_done": job.rows_done,
        "bytes_done": job.bytes_done,
        "bytes_total": total,
        "percent": min(percent, 100),
        "error": job.error,
        "checking": checking(job),
        "dry_run": job.dry_run,
        **job.counts,
    }
