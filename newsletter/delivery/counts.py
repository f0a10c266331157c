"""Per-issue counts that outlive the delivery rows they came from.

Delivery rows hold an address, so they do not stay for ever: rows older than
DELIVERY_RETENTION_DAYS, and every row of an erased person, are folded into
`issue_delivery_count` (issue, status, count) and deleted. An issue's counts are its folded
counts plus its remaining rows (`ledger.progress`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects import postgresql, sqlite

from newsletter.delivery.types import DELIVERY, FINAL_STATUSES
from newsletter.extensions import db
from newsletter.models import Bounce, Issue, IssueDeliveryCount
from newsletter.models.base import utcnow

COUNTS = IssueDeliveryCount.__table__
FOLD_CHUNK = 5000


def folded_counts(issue_id: int) -> dict[str, int]:
    """status → rows of the issue already folded away."""
    rows = db.session.execute(
        sa.select(COUNTS.c.status, COUNTS.c.count).where(COUNTS.c.issue_id == issue_id)
    )
    return {status: count for status, count in rows}


def _add_counts(counts: dict[tuple[int, str], int]) -> None:
    if not counts:
        return
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(COUNTS)
    # An upsert, so that retention and an erasure folding rows of one issue at once both count.
    statement = statement.on_conflict_do_update(
        index_elements=[COUNTS.c.issue_id, COUNTS.c.status],
        set_={"count": COUNTS.c.count + statement.excluded["count"]},
    )
    db.session.execute(
        statement,
        [{"issue_id": i, "status": s, "count": n} for (i, s), n in counts.items()],
    )


def fold_and_delete(delivery_ids: Iterable[int]) -> int:
    """Add these rows to their issues' counts and delete them; the caller commits."""
    ids = list(delivery_ids)
    for start in range(0, len(ids), FOLD_CHUNK):
        chunk = ids[start : start + FOLD_CHUNK]
        grouped = db.session.execute(
            sa.select(DELIVERY.c.issue_id, DELIVERY.c.status, sa.func.count())
            .where(DELIVERY.c.id.in_(chunk))
            .group_by(DELIVERY.c.issue_id, DELIVERY.c.status)
        )
        _add_counts({(issue_id, str(status)): n for issue_id, status, n in grouped})
        # SQLite enforces no foreign keys here, so unlink bounces as PostgreSQL's SET NULL would.
        db.session.execute(
            sa.update(Bounce.__table__)
            .where(Bounce.__table__.c.delivery_id.in_(chunk))
            .values(delivery_id=None)
        )
        db.session.execute(sa.delete(DELIVERY).where(DELIVERY.c.id.in_(chunk)))
    return len(ids)


def fold_old_deliveries(now: datetime | None = None) -> int:
    """Fold the settled rows of issues started before the retention period; returns count.

    An issue's rows are written together when it starts, so its start is the rows' age. Each
    chunk is folded and deleted in its own transaction: the counts never miss or repeat a row.
    """
    days = int(current_app.config.get("DELIVERY_RETENTION_DAYS", 730))
    cutoff = (now or utcnow()) - timedelta(days=days)
    old_issues = sa.select(Issue.id).where(Issue.started_at < cutoff)
    folded = 0
    while True:
        ids = list(
            db.session.scalars(
                sa.select(DELIVERY.c.id)
                .where(
                    DELIVERY.c.issue_id.in_(old_issues),
                    DELIVERY.c.status.in_(FINAL_STATUSES),
                )
                .order_by(DELIVERY.c.id)
                .limit(FOLD_CHUNK)
            )
        )
        if not ids:
            break
        folded += fold_and_delete(ids)
        db.session.commit()
    return folded
