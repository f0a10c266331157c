"""The batch store on SQLite: claims and writes through the pool, each call one transaction
(delivery/store.py describes the stores)."""

from __future__ import annotations

import sqlalchemy as sa

from newsletter.delivery.store_base import StoreBase
from newsletter.delivery.types import DELIVERY, ISSUE, Claim, Outcome, Person, Recipient
from newsletter.models import DeliveryStatus, IssueStatus, Subscriber, Subscription
from newsletter.models.base import utcnow
from newsletter.suppression import standing_hashes


class SqliteBatchStore(StoreBase):
    """Claims and writes through the pool, each call one transaction."""

    def claim(self, size: int) -> Claim:
        scope, now = self.scope, utcnow()
        due = (
            sa.select(DELIVERY.c.id)
            .where(
                DELIVERY.c.issue_id == scope.issue_id,
                DELIVERY.c.id.between(scope.first_id, scope.last_id),
                DELIVERY.c.status == DeliveryStatus.QUEUED,
                sa.or_(DELIVERY.c.next_attempt_at.is_(None), DELIVERY.c.next_attempt_at <= now),
            )
            .order_by(DELIVERY.c.id)
            .limit(size)
            .with_for_update(skip_locked=True)
        )
        claim = (
            sa.update(DELIVERY)
            .where(DELIVERY.c.id.in_(due.scalar_subquery()))
            .where(DELIVERY.c.status == DeliveryStatus.QUEUED)
            .values(
                status=DeliveryStatus.SENDING,
                attempts=DELIVERY.c.attempts + 1,
                claimed_at=now,
                claimed_by=scope.owner,
            )
            .returning(
                DELIVERY.c.id, DELIVERY.c.subscriber_id, DELIVERY.c.email, DELIVERY.c.attempts
            )
        )
        with self.transaction() as connection:
            status = connection.scalar(
                sa.select(ISSUE.c.status).where(ISSUE.c.id == scope.issue_id)
            )
            if status != IssueStatus.SENDING:
                return Claim([], status)
            rows = connection.execute(claim).all()
            recipients = [
                Recipient(row.id, row.email, row.attempts, row.subscriber_id)
                for row in sorted(rows, key=lambda row: row.id)
            ]
            self.check(connection, recipients)
        return Claim(recipients)

    def check(self, connection: sa.Connection, recipients: list[Recipient]) -> None:
        """Mark who left the issue's lists or was suppressed since the ledger was written."""
        subscriber, subscription = Subscriber.__table__, Subscription.__table__
        wanted = sa.exists().where(
            subscription.c.subscriber_id == subscriber.c.id,
            subscription.c.list_id.in_(self.scope.list_ids),
            subscription.c.status == self.wanted,
        )
        ids = [r.subscriber_id for r in recipients if r.subscriber_id is not None]
        people = {
            row.id: Person(*row)
            for row in connection.execute(
                sa.select(
                    subscriber.c.id, subscriber.c.name, subscriber.c.unsubscribe_token,
                    subscriber.c.email_key, wanted.label("wanted"),
                ).where(subscriber.c.id.in_(ids))
            )
        }  # fmt: skip
        hashes = self.key_hashes(people)
        found = connection.scalars(standing_hashes(hashes))
        self.mark(recipients, people, {hashes[key_hash] for key_hash in found})

    def record(self, outcomes: list[Outcome], *, progress: bool) -> IssueStatus:
        return self.write(outcomes, progress=progress)

    def close(self) -> None:
        pass
