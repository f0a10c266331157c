"""Privacy by default for what imports keep: uploaded files, and carried-over evidence.

An uploaded file holds every address and name of an old list, so its bytes (`import_file`)
are kept only while an import may still need them: `discard_upload` deletes them when the
import finishes, and `delete_old_uploads` (a periodic job) deletes any still kept
IMPORT_UPLOAD_RETENTION_HOURS after the upload, imported or not; the job notes when
(`import_job.file_deleted_at`) so the admin can say the file is gone. An erasure deletes at once
any stored upload that mentions the person (`discard_uploads_mentioning`).

The retention job blanks each consent event's `ip_address` after CONSENT_RETENTION_DAYS; an
import event also keeps the old provider's OPTIN_IP and CONFIRM_IP, as given, in its detail.
`blank_old_import_evidence` removes those too, after the same period, leaving the times and the
rest of the evidence.
"""

from __future__ import annotations

import codecs
import io
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import IO

import sqlalchemy as sa
from flask import current_app

from newsletter.extensions import db
from newsletter.models import ConsentEvent, ConsentMethod, ImportFile, ImportJob, ImportStatus
from newsletter.models.base import changed_rows, utcnow

EVIDENCE_IPS = ("OPTIN_IP", "CONFIRM_IP")
PAGE = 1000
CHUNK = 1 << 16  # bytes read at a time when searching a stored upload
EXPIRED = "its uploaded file was deleted after {hours:g} hours without being imported"
ERASED = "its uploaded file was deleted because it held a person who has since been erased"


def discard_upload(job: ImportJob, now: datetime | None = None) -> bool:
    """Delete the job's stored upload, if it has one, noting when; the caller commits."""
    result = db.session.execute(sa.delete(ImportFile).where(ImportFile.job_id == job.id))
    if not changed_rows(result):
        return False
    job.file_deleted_at = now or utcnow()
    return True


def _give_up(job: ImportJob, why: str, now: datetime) -> None:
    """A job that never ran cannot run without its file: it fails, saying why."""
    if job.status is ImportStatus.QUEUED:
        job.previewing = False
        job.status = ImportStatus.FAILED
        job.finished_at = now
        job.error = why


def delete_old_uploads(now: datetime | None = None) -> int:
    """Delete the stored uploads of finished imports, and any kept past the retention period;
    returns how many. A queued job whose file goes fails with a sentence saying so."""
    now = now or utcnow()
    hours = float(current_app.config.get("IMPORT_UPLOAD_RETENTION_HOURS", 24))
    cutoff = now - timedelta(hours=hours)
    jobs = db.session.scalars(
        sa.select(ImportJob)
        .join(ImportFile, ImportFile.job_id == ImportJob.id)
        .where(
            sa.or_(
                # A finished dry run keeps its file, to be imported, until the cutoff.
                sa.and_(ImportJob.status == ImportStatus.DONE, ImportJob.dry_run == sa.false()),
                ImportJob.created_at < cutoff,
            )
        )
        .order_by(ImportJob.id)
    ).all()
    deleted = 0
    for job in jobs:
        if discard_upload(job, now):
            deleted += 1
            _give_up(job, EXPIRED.format(hours=hours), now)
    db.session.commit()
    return deleted


def discard_uploads_mentioning(forms: Iterable[str], now: datetime | None = None) -> int:
    """Delete every stored upload whose bytes hold one of `forms` (an address's spellings),
    inside a ZIP too; returns how many. The caller commits (an erasure, with its record)."""
    now = now or utcnow()
    needles = _needles(forms)
    if not needles:
        return 0
    deleted = 0
    job_ids = db.session.scalars(sa.select(ImportFile.job_id).order_by(ImportFile.job_id)).all()
    for job_id in job_ids:
        content = db.session.scalar(
            sa.select(ImportFile.content).where(ImportFile.job_id == job_id)
        )
        if content is None or not _mentions(content, needles):
            continue
        job = db.session.get(ImportJob, job_id)
        if job is not None and discard_upload(job, now):
            deleted += 1
            _give_up(job, ERASED, now)
    return deleted


def _needles(forms: Iterable[str]) -> set[str]:
    """The forms as they are compared: NFC, case folded (ZOË, zoë and zoe + U+0308 alike)."""
    return {_folded(form) for form in forms if form}


def _folded(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _mentions(content: bytes, needles: set[str]) -> bool:
    """Whether the stored bytes, or any member of them as a ZIP, hold one of the needles.

    A member that cannot be read (damaged, encrypted, an unknown compression) counts as
    mentioning them: what cannot be searched cannot be shown to be free of the person.
    """
    if _stream_mentions(io.BytesIO(content), needles):
        return True
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, *_UNREADABLE):
        return False  # not a ZIP: searched whole above
    with archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            try:
                with archive.open(member) as stream:
                    if _stream_mentions(stream, needles):
                        return True
            except (zipfile.BadZipFile, *_UNREADABLE):
                return True
    return False


_UNREADABLE = (OSError, EOFError, ValueError, RuntimeError, NotImplementedError, zlib.error)


# What a file may be written in: UTF-8 and Windows-1252, which the importer reads, and UTF-16,
# which Excel's "Unicode Text" writes (the importer refuses it, but it is stored until then).
_ENCODINGS = ("utf-8", "cp1252", "utf-16-le", "utf-16-be")


def _stream_mentions(stream: IO[bytes], needles: set[str]) -> bool:
    """Search a stream chunk by chunk, decoded each way a file may be written, normalised and
    case folded as the needles are; each decoding keeps enough of its text's end for a needle
    that runs across two chunks."""
    keep = max(len(needle) for needle in needles) + 8
    decoders = {name: codecs.getincrementaldecoder(name)(errors="replace") for name in _ENCODINGS}
    tails = dict.fromkeys(_ENCODINGS, "")
    while chunk := stream.read(CHUNK):
        for name, decoder in decoders.items():
            text = tails[name] + decoder.decode(chunk)
            if any(needle in _folded(text) for needle in needles):
                return True
            tails[name] = text[-keep:]
    return False


def blank_old_import_evidence(now: datetime | None = None) -> int:
    """Drop evidence IP addresses from import events older than the period; returns count."""
    days = int(current_app.config.get("CONSENT_DETAILS_RETENTION_DAYS", 730))
    cutoff = (now or utcnow()) - timedelta(days=days)
    table = ConsentEvent.__table__
    blanked, last_id = 0, 0
    while True:
        rows = db.session.execute(
            sa.select(table.c.id, table.c.detail)
            .where(
                table.c.id > last_id,
                table.c.method == ConsentMethod.IMPORT.value,
                table.c.recorded_at < cutoff,
                sa.cast(table.c.detail, sa.Text).like('%\\_IP"%', escape="\\"),
            )
            .order_by(table.c.id)
            .limit(PAGE)
        ).all()
        if not rows:
            return blanked
        changes = []
        for row in rows:
            detail = dict(row.detail or {})
            evidence = {k: v for k, v in (detail.get("evidence") or {}).items()
                        if k not in EVIDENCE_IPS}  # fmt: skip
            if evidence != detail.get("evidence"):
                changes.append({"b_id": row.id, "b_detail": {**detail, "evidence": evidence}})
        if changes:
            # Core, not the ORM: consent events refuse ORM rewrites (AppendOnlyError).
            db.session.execute(
                table.update()
                .where(table.c.id == sa.bindparam("b_id"))
                .values(detail=sa.bindparam("b_detail")),
                changes,
            )
        db.session.commit()
        blanked += len(changes)
        last_id = rows[-1].id
