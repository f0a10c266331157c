"""What both batch stores share: checking the claimed people against the present, and
writing outcomes through SQLAlchemy Core (delivery/store.py describes the stores)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from newsletter.delivery.types import (
    DELIVERY,
    ISSUE,
    OPEN_STATUSES,
    BatchScope,
    Outcome,
    Person,
    Recipient,
)
from newsletter.models import DeliveryStatus, IssueList, IssueStatus, Subscriber, Subscription
from newsletter.models import SubscriptionStatus as Wanted
from newsletter.models.base import utcnow
from newsletter.subscriptions.confirmation import counted_mail_sql


class StoreBase:
    """What both stores share: checking claimed people, and writing outcomes through Core."""

    def __init__(
        self, engine: sa.Engine, scope: BatchScope, hash_key: Callable[[str], str]
    ) -> None:
        self.engine = engine
        self.scope = scope
        self.hash_key = hash_key
        # A reconfirmation asks people who are pending; an issue goes to the confirmed.
        self.wanted = Wanted.PENDING if scope.reconfirmation else Wanted.CONFIRMED

    def key_hashes(self, people: dict[int, Person]) -> dict[str, int]:
        """The suppression list's key hash of each person's address, to the person's id."""
        return {self.hash_key(p.email_key): p.id for p in people.values()}

    def mark(
        self, recipients: list[Recipient], people: dict[int, Person], suppressed: set[int]
    ) -> None:
        """Fill in each recipient's person, or the reason the row is skipped."""
        for recipient in recipients:
            person = (
                people.get(recipient.subscriber_id) if recipient.subscriber_id is not None else None
            )
            if person is None:
                recipient.skip_reason = "the subscriber no longer exists"
            elif not person.wanted:
                recipient.skip_reason = (
                    "no longer pending: confirmed or left since"
                    if self.scope.reconfirmation
                    else "unsubscribed since the issue started sending"
                )
            elif person.id in suppressed:
                recipient.skip_reason = "suppressed since the issue started sending"
            else:
                recipient.name = person.name or ""
                recipient.token = person.unsubscribe_token
                recipient.email_key = person.email_key

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One pooled transaction."""
        with self.engine.begin() as connection:
            yield connection

    def write(self, outcomes: list[Outcome], *, progress: bool) -> IssueStatus:
        """Any outcomes, with the progress time, in one transaction; the issue's status."""
        scope = self.scope
        this_issue = ISSUE.c.id == scope.issue_id
        with self.transaction() as connection:
            if outcomes:
                write_outcomes(connection, outcomes, scope.owner)
                if scope.reconfirmation:
                    sent = [o.delivery_id for o in outcomes if o.status == DeliveryStatus.SENT]
                    mark_confirmation_sent(connection, sent)
            if progress:
                connection.execute(sa.update(ISSUE).where(this_issue).values(progress_at=utcnow()))
            status = connection.scalar(sa.select(ISSUE.c.status).where(this_issue))
            # A deleted issue is as good as cancelled: nothing more goes out.
            return IssueStatus.CANCELLED if status is None else status

    def next_retry(self) -> datetime | None:
        scope = self.scope
        with self.engine.connect() as connection:
            return connection.scalar(
                sa.select(sa.func.min(DELIVERY.c.next_attempt_at)).where(
                    DELIVERY.c.issue_id == scope.issue_id,
                    DELIVERY.c.id.between(scope.first_id, scope.last_id),
                    DELIVERY.c.status == DeliveryStatus.QUEUED,
                )
            )


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


def mark_confirmation_sent(connection: sa.Connection, delivery_ids: list[int]) -> None:
    """Note on each person whose request was recorded sent that a confirmation mail named the
    issue's list, and count it against the address (newsletter/subscriptions/confirmation.py)."""
    if not delivery_ids:
        return
    subscriber, subscription = Subscriber.__table__, Subscription.__table__
    now = utcnow()
    sent = sa.select(DELIVERY.c.subscriber_id).where(
        DELIVERY.c.id.in_(delivery_ids), DELIVERY.c.status == DeliveryStatus.SENT
    )
    issue_lists = sa.select(IssueList.list_id).where(
        IssueList.issue_id.in_(
            sa.select(DELIVERY.c.issue_id).where(DELIVERY.c.id.in_(delivery_ids))
        )
    )
    connection.execute(
        sa.update(subscription)
        .where(subscription.c.subscriber_id.in_(sent), subscription.c.list_id.in_(issue_lists))
        .values(confirmation_sent_at=now)
    )
    connection.execute(
        sa.update(subscriber)
        .where(subscriber.c.id.in_(sent))
        .values(counted_mail_sql(subscriber, now))
    )
