"""Import jobs: one migration of inherited subscribers, its file, progress and rejects."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from newsletter.models.base import Model, UTCDateTime, utcnow
from newsletter.models.enums import enum_column


class ImportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ConsentMode(StrEnum):
    """What an import does with people the old provider had as subscribed."""

    KEEP = "keep"  # carry their consent over: confirmed here
    RECONFIRM = "reconfirm"  # pending here until they confirm again


COUNTERS = ("imported", "updated", "unchanged", "suppressed", "rejected", "duplicates")


class ImportJob(Model):
    __tablename__ = "import_job"
    __table_args__ = (sa.Index("ix_import_job_file_sha256", "file_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("mailing_list.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("account.id", ondelete="SET NULL")
    )
    # Who started it, readable even if the account goes: an address, or "cli".
    actor: Mapped[str] = mapped_column(sa.String(320))
    file_name: Mapped[str] = mapped_column(sa.String(255))
    file_sha256: Mapped[str] = mapped_column(sa.String(64))
    file_size: Mapped[int] = mapped_column(sa.BigInteger)
    # The format asked for ("auto" resolved to what was detected) and the column mapping.
    format: Mapped[str] = mapped_column(sa.String(32))
    column_map: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    consent_mode: Mapped[ConsentMode] = mapped_column(enum_column(ConsentMode))
    status: Mapped[ImportStatus] = mapped_column(
        enum_column(ImportStatus), default=ImportStatus.QUEUED
    )
    # The process running it and when it last showed life: a crashed run's job can be resumed.
    holder: Mapped[str | None] = mapped_column(sa.String(128))
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Records of the file fully handled and committed: a resumed run skips this many.
    rows_done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    bytes_done: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    bytes_total: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    imported: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    updated: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    unchanged: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    suppressed: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    rejected: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    warnings: Mapped[list] = mapped_column(sa.JSON, default=list)
    error: Mapped[str | None] = mapped_column(sa.Text)
    # When an upload's stored bytes (import_file) were deleted: once the import finished, or
    # IMPORT_UPLOAD_RETENTION_HOURS after the upload, or by an erasure. None for a file never
    # stored (the command line) or still kept.
    file_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # An upload being previewed: stored, not yet started (no worker has it). False once the
    # admin starts it, as an import or as a dry run.
    previewing: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # A dry run: its counters say what the import would do; it writes nothing but this row.
    dry_run: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # The admin asked that each person imported as confirmed get the list's welcome message;
    # `welcome_queued_at` is when their ledger rows were written (delivery/welcome.py).
    send_welcome: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    welcome_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def counts(self) -> dict[str, int]:
        return {name: getattr(self, name) or 0 for name in COUNTERS}

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.status}>"


class ImportFile(Model):
    """An uploaded file's bytes, kept in the database so that any worker machine can read it."""

    __tablename__ = "import_file"

    job_id: Mapped[int] = mapped_column(
        sa.ForeignKey("import_job.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)


class ImportReject(Model):
    """One refused row of an import: where it was, what it held, and why."""

    __tablename__ = "import_reject"
    __table_args__ = (sa.Index("ix_import_reject_job", "job_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("import_job.id", ondelete="CASCADE"))
    line: Mapped[int] = mapped_column(sa.Integer)
    # The file inside a ZIP the row came from (the uploaded file's own name otherwise).
    file: Mapped[str] = mapped_column(sa.String(255), default="")
    value: Mapped[str] = mapped_column(sa.String(1000))
    reason: Mapped[str] = mapped_column(sa.String(300))
