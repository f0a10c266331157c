"""Recording what happened to a batch's rows, finishing an issue, and retrying later.

Outcomes only move rows that are still the batch's own (`claimed_by`) and still open: a row
another batch has claimed since, or finished, is never overwritten (statuses only move forward).
A row the sweep freed from a batch that then turned out to be alive, and that nobody has claimed
again, still takes that batch's outcome: the message did go, so it is not sent twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa

from newsletter.delivery import OPEN_STATUSES
from newsletter.delivery.ledger import DELIVERY
from newsletter.extensions import db
from newsletter.models import DeliveryStatus, Issue, IssueStatus, Subscriber
from newsletter.models.base import utcnow

if TYPE_CHECKING:
    from newsletter.delivery.claims import Recipient
    from newsletter.delivery.sender import Outcome

ISSUE = Issue.__table__


def write_outcomes(connection: sa.Connection, outcomes: list[Outcome], owner: str) -> None:
    """Move claimed rows to their outcome; only rows `owner` claimed last, still open, move."""
    now = utcnow()
    # Spelled as ORs: an IN list would expand per call, which executemany cannot do.
    ours = sa.and_(
        DELIVERY.c.claimed_by == owner,
        sa.or_(*(DELIVERY.c.status == status for status in OPEN_STATUSES)),
    )
    sent = [o.delivery_id for o in outcomes if o.status == DeliveryStatus.SENT]
    if sent:
        connection.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.id.in_(sent), ours)
            .values(status=DeliveryStatus.SENT, sent_at=now, last_error=None)
        )
    others = [
        {
            "row_id": o.delivery_id,
            "new_status": o.status,
            "error": o.error,
            "retry_at": o.next_attempt_at,
            "undo": 1 if o.untried else 0,
        }
        for o in outcomes
        if o.status != DeliveryStatus.SENT
    ]
    if others:
        connection.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.id == sa.bindparam("row_id"), ours)
            .values(
                status=sa.bindparam("new_status", type_=DELIVERY.c.status.type),
                last_error=sa.bindparam("error"),
                next_attempt_at=sa.bindparam("retry_at", type_=DELIVERY.c.next_attempt_at.type),
                attempts=DELIVERY.c.attempts - sa.bindparam("undo", type_=sa.Integer),
                claimed_at=None,
            ),
            others,
        )


class SentRecorder:
    """PostgreSQL's path for the common write: rows sent, and the issue's status read back.

    The batch keeps one connection in autocommit with `synchronous_commit` off for the session
    (a worker that dies after a write loses nothing; only a crash of PostgreSQL itself could
    forget the last fraction of a second of outcomes, which the sweep then sends again). A
    write is then one prepared statement and one round trip, where a transaction through the
    pool takes five (BEGIN, SET LOCAL, UPDATE, SELECT, COMMIT) and builds its statements anew.
    Only the batch's own open rows move, as in `write_outcomes`.
    """

    SQL = (
        f"WITH sent AS (UPDATE {DELIVERY.name} SET status = %(sent)s, sent_at = %(now)s,"
        " last_error = NULL WHERE id = ANY(%(ids)s) AND claimed_by = %(owner)s"
        " AND (status = %(sending)s OR status = %(queued)s))"
        f" SELECT status FROM {ISSUE.name} WHERE id = %(issue)s"
    )

    def __init__(self, engine: sa.Engine, issue_id: int, owner: str) -> None:
        self.issue_id = issue_id
        self.owner = owner
        self.pooled = engine.raw_connection()
        try:
            self.connection = self.pooled.driver_connection
            self.connection.autocommit = True
            self.connection.execute("SET synchronous_commit TO off")
        except BaseException:
            self.pooled.invalidate()
            raise
        self.cursor = self.connection.cursor()

    @property
    def open(self) -> bool:
        """False once closed, or dropped after a failed statement."""
        return self.pooled is not None

    def record_sent(self, delivery_ids: list[int]) -> IssueStatus:
        """Mark `delivery_ids` sent; the issue's status as it is now."""
        params = {
            "sent": DeliveryStatus.SENT.value,
            "sending": DeliveryStatus.SENDING.value,
            "queued": DeliveryStatus.QUEUED.value,
            "owner": self.owner,
            "now": utcnow(),
            "ids": delivery_ids,
            "issue": self.issue_id,
        }
        return IssueStatus(self.fetch(self.SQL, params)[0][0])

    def fetch(self, sql: str, params: dict) -> list[tuple]:
        """The rows of one prepared statement on this connection (its writes, the claims)."""
        try:
            self.cursor.execute(sql, params, prepare=True)
            return self.cursor.fetchall()
        except BaseException:
            self.close(broken=True)
            raise

    def close(self, broken: bool = False) -> None:
        """Give the connection back to the pool as it was, or drop it if it failed."""
        if self.pooled is None:
            return
        pooled, self.pooled = self.pooled, None
        if not broken:
            try:
                self.cursor.close()
                self.connection.execute("RESET synchronous_commit")
                self.connection.autocommit = False
            except Exception:
                broken = True
        if broken:
            pooled.invalidate()
        pooled.close()


def sent_recorder(issue_id: int, owner: str) -> SentRecorder | None:
    """A SentRecorder on PostgreSQL; None elsewhere (SQLite writes through `write_outcomes`)."""
    if db.engine.dialect.name != "postgresql":
        return None
    return SentRecorder(db.engine, issue_id, owner)


def suppress_hard_bounces(recipients: list[Recipient]) -> None:
    """A 5.1.x refusal (no such mailbox) suppresses the address, with consent evidence."""
    from newsletter.consent import Origin, record_consent
    from newsletter.models import (
        Bounce,
        BounceKind,
        ConsentAction,
        ConsentMethod,
        Delivery,
        SuppressionReason,
    )
    from newsletter.suppression import suppress

    for recipient in recipients:
        subscriber = db.session.get(Subscriber, recipient.subscriber_id)
        if subscriber is None:
            continue
        if suppress(subscriber.email_key, SuppressionReason.HARD_BOUNCE, "refused at RCPT (5.1.x)"):
            # On the person's record with the bounces that come back later (newsletter/bounces/).
            delivery = db.session.get(Delivery, recipient.delivery_id)
            db.session.add(
                Bounce(
                    subscriber_id=subscriber.id,
                    issue_id=delivery.issue_id if delivery is not None else None,
                    delivery_id=recipient.delivery_id,
                    kind=BounceKind.HARD,
                    detector="smtp",
                    diagnostic="refused at RCPT (5.1.x)",
                )
            )
            record_consent(
                subscriber, ConsentAction.BOUNCED, ConsentMethod.BOUNCE, Origin(source="smtp"),
                detail={"delivery_id": recipient.delivery_id},
            )  # fmt: skip
    db.session.commit()


def finish_if_done(issue_id: int) -> bool:
    """Mark a sending issue sent once none of its rows is queued or sending."""
    with db.engine.begin() as connection:
        still_open = connection.scalar(
            sa.select(
                sa.exists().where(
                    DELIVERY.c.issue_id == issue_id, DELIVERY.c.status.in_(OPEN_STATUSES)
                )
            )
        )
        if still_open:
            return False
        finished = connection.execute(
            sa.update(ISSUE)
            .where(ISSUE.c.id == issue_id, ISSUE.c.status == IssueStatus.SENDING)
            .values(status=IssueStatus.SENT, finished_at=utcnow())
        )
    return finished.rowcount == 1


def requeue_later(issue_id: int, first_id: int, last_id: int, when: datetime) -> None:
    """Enqueue the batch again for when its first retried row is due."""
    from newsletter.delivery.ledger import BATCH_ACTOR, QUEUE_DELIVERY
    from newsletter.tasks import enqueue

    delay = max(0.0, (when - utcnow()).total_seconds())
    with db.engine.begin() as connection:
        # The sweep counts the batch as live until then, so it does not enqueue it twice.
        connection.execute(sa.update(ISSUE).where(ISSUE.c.id == issue_id).values(enqueued_at=when))
    enqueue(BATCH_ACTOR, QUEUE_DELIVERY, issue_id, first_id, last_id, delay_ms=int(delay * 1000))
