"""What an import reports: the summary line (a fixed format scripts read) and the rejects as CSV."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TextIO

import sqlalchemy as sa

from newsletter import spreadsheet
from newsletter.extensions import db
from newsletter.imports.importer import Reject
from newsletter.models import ImportReject

REJECTS_HEADER = ("line", "value", "reason", "file")
PAGE = 5000


def summary_line(counts: dict[str, int]) -> str:
    """`imported N, updated N, unchanged N, suppressed N, rejected N, duplicates N`."""
    return (
        f"imported {counts['imported']}, updated {counts['updated']}, "
        f"unchanged {counts['unchanged']}, suppressed {counts['suppressed']}, "
        f"rejected {counts['rejected']}, duplicates {counts['duplicates']}"
    )


class RejectsWriter:
    """Rejected rows as CSV: line number, the raw value, the reason, and the file it came from.

    The value and the file name are whatever the upload held: written spreadsheet-safe."""

    def __init__(self, stream: TextIO) -> None:
        self.writer = spreadsheet.writer(stream, lineterminator="\n")
        self.writer.writerow(REJECTS_HEADER)

    def write(self, rejects: Iterable[Reject]) -> None:
        self.writer.writerows((r.line, r.value, r.reason, r.file) for r in rejects)


def job_rejects(job_id: int) -> Iterator[Reject]:
    """A job's rejected rows in file order, read a page at a time."""
    last_id = 0
    while True:
        page = db.session.execute(
            sa.select(
                ImportReject.id,
                ImportReject.line,
                ImportReject.file,
                ImportReject.value,
                ImportReject.reason,
            )
            .where(ImportReject.job_id == job_id, ImportReject.id > last_id)
            .order_by(ImportReject.id)
            .limit(PAGE)
        ).all()
        if not page:
            return
        for row in page:
            yield Reject(row.line, row.file, row.value, row.reason)
        last_id = page[-1].id
