"""Claiming a batch's rows: `queued → sending`, a few at a time, with who they are for.

One `UPDATE … RETURNING` (with `FOR UPDATE SKIP LOCKED` on PostgreSQL) moves queued rows of
the batch's id range to `sending`, so any number of workers can work on the same range without
sending a row twice. Each claimed row is then checked against the present: the person must
still exist, still be on one of the issue's lists (confirmed for an issue, pending for a
reconfirmation request) and not be suppressed, or the row is skipped with the reason.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa

from newsletter.delivery.ledger import DELIVERY
from newsletter.delivery.outcomes import SentRecorder
from newsletter.extensions import db
from newsletter.models import (
    DeliveryStatus,
    Issue,
    IssueStatus,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionEntry,
    SuppressionEntryReason,
)
from newsletter.models.base import utcnow

ISSUE = Issue.__table__


@dataclass
class Recipient:
    delivery_id: int
    email: str
    attempts: int
    subscriber_id: int | None = None
    name: str = ""
    token: str = ""
    email_key: str = ""
    skip_reason: str | None = None


class Person(NamedTuple):
    id: int
    name: str | None
    unsubscribe_token: str
    email_key: str
    confirmed: bool


# PostgreSQL's claim (see Batch.claim_on_postgresql): the rows claimed as `claim` does, with the
# people they are for and whether each is still confirmed on one of the issue's lists.
CLAIM_SQL = (
    "WITH due AS ("
    f" SELECT id FROM {DELIVERY.name}"
    " WHERE issue_id = %(issue)s AND id BETWEEN %(first)s AND %(last)s AND status = %(queued)s"
    " AND (next_attempt_at IS NULL OR next_attempt_at <= %(now)s)"
    f" AND EXISTS (SELECT 1 FROM {ISSUE.name} WHERE id = %(issue)s AND status = %(issue_sending)s)"
    " ORDER BY id LIMIT %(limit)s FOR UPDATE SKIP LOCKED),"
    f" claimed AS (UPDATE {DELIVERY.name} AS d"
    " SET status = %(sending)s, attempts = d.attempts + 1, claimed_at = %(now)s,"
    " claimed_by = %(owner)s"
    " FROM due WHERE d.id = due.id AND d.status = %(queued)s"
    " RETURNING d.id, d.subscriber_id, d.email, d.attempts)"
    " SELECT c.id, c.subscriber_id, c.email, c.attempts,"
    " s.id, s.name, s.unsubscribe_token, s.email_key,"
    # Status is tested on the rows found by (subscriber_id, list_id), never used to find them:
    # a generic plan would otherwise AND in the status index, reading every confirmed row.
    " COALESCE((SELECT bool_or(u.status = %(confirmed)s)"
    f" FROM {Subscription.__table__.name} AS u"
    " WHERE u.subscriber_id = s.id AND u.list_id = ANY(%(lists)s)), false)"
    f" FROM claimed AS c LEFT JOIN {Subscriber.__table__.name} AS s ON s.id = c.subscriber_id"
    " ORDER BY c.id"
)
STATUS_SQL = f"SELECT status FROM {ISSUE.name} WHERE id = %(issue)s"
SUPPRESSED_SQL = (
    f"SELECT e.key_hash FROM {SuppressionEntry.__table__.name} AS e"
    f" JOIN {SuppressionEntryReason.__table__.name} AS r ON r.entry_id = e.id"
    " WHERE e.key_hash = ANY(%(hashes)s) AND r.lifted_at IS NULL"
)


class Claimer:
    """Claims the queued rows of one issue's id range for one batch.

    `owner` names the batch in `claimed_by`, so only its outcomes move the rows and only its
    heartbeat renews them. `recorder` is PostgreSQL's batch connection (prepared statements,
    one round trip a claim); without it (SQLite) claims go through the pool. `stopped` is set to
    the issue's status when a claim finds the issue no longer sending.
    """

    def __init__(
        self,
        issue_id: int,
        first_id: int,
        last_id: int,
        *,
        list_ids: list[int],
        reconfirmation: bool,
        suppression_key: bytes,
        claim_size: int,
        owner: str,
        recorder: SentRecorder | None = None,
    ) -> None:
        self.issue_id, self.first_id, self.last_id = issue_id, first_id, last_id
        self.list_ids = list_ids
        # A reconfirmation asks people who are pending; an issue goes to the confirmed.
        self.reconfirmation = reconfirmation
        self.wanted_status = (
            SubscriptionStatus.PENDING if reconfirmation else SubscriptionStatus.CONFIRMED
        )
        self.suppression_key = suppression_key
        self.claim_size = claim_size
        self.owner = owner
        self.recorder = recorder
        self.stopped: IssueStatus | None = None

    def claim(self) -> list[Recipient]:
        if self.recorder is not None:
            return self.claim_on_postgresql()
        now = utcnow()
        due = (
            sa.select(DELIVERY.c.id)
            .where(
                DELIVERY.c.issue_id == self.issue_id,
                DELIVERY.c.id.between(self.first_id, self.last_id),
                DELIVERY.c.status == DeliveryStatus.QUEUED,
                sa.or_(DELIVERY.c.next_attempt_at.is_(None), DELIVERY.c.next_attempt_at <= now),
            )
            .order_by(DELIVERY.c.id)
            .limit(self.claim_size)
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
                claimed_by=self.owner,
            )
            .returning(
                DELIVERY.c.id, DELIVERY.c.subscriber_id, DELIVERY.c.email, DELIVERY.c.attempts
            )
        )
        with db.engine.begin() as connection:
            status = connection.scalar(sa.select(ISSUE.c.status).where(ISSUE.c.id == self.issue_id))
            if status != IssueStatus.SENDING:
                self.stopped = status
                return []
            rows = connection.execute(claim).all()
            recipients = [
                Recipient(row.id, row.email, row.attempts, row.subscriber_id)
                for row in sorted(rows, key=lambda row: row.id)
            ]
            self.check_recipients(connection, recipients)
        return recipients

    def check_recipients(self, connection: sa.Connection, recipients: list[Recipient]) -> None:
        """Mark who left the issue's lists or was suppressed since the ledger was written."""
        subscriber, subscription = Subscriber.__table__, Subscription.__table__
        confirmed = sa.exists().where(
            subscription.c.subscriber_id == subscriber.c.id,
            subscription.c.list_id.in_(self.list_ids),
            subscription.c.status == self.wanted_status,
        )
        ids = [r.subscriber_id for r in recipients if r.subscriber_id is not None]
        people = {
            row.id: Person(*row)
            for row in connection.execute(
                sa.select(
                    subscriber.c.id, subscriber.c.name, subscriber.c.unsubscribe_token,
                    subscriber.c.email_key, confirmed.label("confirmed"),
                ).where(subscriber.c.id.in_(ids))
            )
        }  # fmt: skip
        hashes = self.key_hashes(people)
        entry, reason = SuppressionEntry.__table__, SuppressionEntryReason.__table__
        suppressed = {
            hashes[key_hash]
            for key_hash in connection.scalars(
                sa.select(entry.c.key_hash)
                .join(reason, reason.c.entry_id == entry.c.id)
                .where(entry.c.key_hash.in_(list(hashes)), reason.c.lifted_at.is_(None))
            )
        }
        self.mark(recipients, people, suppressed)

    def claim_on_postgresql(self) -> list[Recipient]:
        """`claim` and `check_recipients` in two prepared statements on the batch's connection."""
        rows = self.recorder.fetch(
            CLAIM_SQL,
            {
                "issue": self.issue_id, "first": self.first_id, "last": self.last_id,
                "now": utcnow(), "limit": self.claim_size, "lists": self.list_ids,
                "owner": self.owner,
                "queued": DeliveryStatus.QUEUED.value, "sending": DeliveryStatus.SENDING.value,
                "issue_sending": IssueStatus.SENDING.value,
                "confirmed": self.wanted_status.value,
            },
        )  # fmt: skip
        if not rows:
            # Nothing left, or nothing claimed because the issue no longer sends.
            status = IssueStatus(self.recorder.fetch(STATUS_SQL, {"issue": self.issue_id})[0][0])
            if status != IssueStatus.SENDING:
                self.stopped = status
            return []
        recipients = [Recipient(row[0], row[2], row[3], row[1]) for row in rows]
        people = {row[4]: Person(*row[4:]) for row in rows if row[4] is not None}
        hashes = self.key_hashes(people)
        found = self.recorder.fetch(SUPPRESSED_SQL, {"hashes": list(hashes)}) if hashes else []
        suppressed = {hashes[key_hash] for (key_hash,) in found}
        self.mark(recipients, people, suppressed)
        return recipients

    def key_hashes(self, people: dict[int, Person]) -> dict[str, int]:
        """The suppression list's key hash of each person's address, to the person's id."""
        return {
            hmac.new(self.suppression_key, p.email_key.encode(), hashlib.sha256).hexdigest(): p.id
            for p in people.values()
        }

    def mark(
        self, recipients: list[Recipient], people: dict[int, Person], suppressed: set[int]
    ) -> None:
        for recipient in recipients:
            person = people.get(recipient.subscriber_id)
            if person is None:
                recipient.skip_reason = "the subscriber no longer exists"
            elif not person.confirmed:
                recipient.skip_reason = (
                    "no longer pending: confirmed or left since"
                    if self.reconfirmation
                    else "unsubscribed since the issue started sending"
                )
            elif person.id in suppressed:
                recipient.skip_reason = "suppressed since the issue started sending"
            else:
                recipient.name = person.name or ""
                recipient.token = person.unsubscribe_token
                recipient.email_key = person.email_key
