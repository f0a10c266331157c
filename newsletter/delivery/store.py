"""Where a batch reads and writes: one interface, one implementation per database.

A batch talks to its rows through a `BatchStore`, chosen once per batch by `store_for`:

- `claim` moves up to `size` queued rows of the batch's id range to `sending` (one
  `UPDATE … RETURNING`, with `FOR UPDATE SKIP LOCKED` on PostgreSQL), so any number of workers
  can work on the same range without sending a row twice, and checks each against the present:
  the person must still exist, still be on one of the issue's lists (confirmed for an issue,
  pending for a reconfirmation request) and not be suppressed, or the row is skipped with the
  reason. A claim finds nothing once the issue no longer sends, and says so.
- `record` writes outcomes and returns the issue's status, so pause and cancel take effect
  within a few messages. Only rows that are still the batch's own (`claimed_by`) and still
  open move: a row another batch has claimed since, or finished, is never overwritten
  (statuses only move forward). A row the sweep freed from a batch that then turned out to be
  alive, and that nobody has claimed again, still takes that batch's outcome: the message did
  go, so it is not sent twice.

Transactions. `SqliteBatchStore` runs each call as one transaction through the pool
(`engine.begin()`). `PostgresBatchStore` keeps one connection of its own for the batch, in
autocommit with `synchronous_commit` off, and sends each claim and each write of sent rows as
one prepared statement (one round trip, where a pooled transaction takes five and builds its
statements anew); writes of other outcomes, which are rare, go as one pooled transaction
with `synchronous_commit` off for it. Outcomes need not wait for the WAL flush: a worker that
dies after a write loses nothing, and only a crash of PostgreSQL itself could forget the last
fraction of a second of them, which the sweep then sends again.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from newsletter.delivery.types import (
    DELIVERY,
    ISSUE,
    OPEN_STATUSES,
    BatchScope,
    Claim,
    Outcome,
    Person,
    Recipient,
)
from newsletter.models import DeliveryStatus, IssueList, IssueStatus, Subscriber, Subscription
from newsletter.models import SubscriptionStatus as Wanted
from newsletter.models.base import utcnow
from newsletter.subscriptions.confirmation import counted_mail_sql
from newsletter.suppression import standing_hashes

if TYPE_CHECKING:
    import psycopg


class BatchStore(Protocol):
    """The rows of one batch, as the batch sees them."""

    def claim(self, size: int) -> Claim:
        """Claim up to `size` due rows of the range, each checked against the present."""

    def record(self, outcomes: list[Outcome], *, progress: bool) -> IssueStatus:
        """Write `outcomes` (and, with `progress`, the issue's progress time); its status."""

    def next_retry(self) -> datetime | None:
        """When the first queued row of the range is due again, if any is queued."""

    def close(self) -> None:
        """Let go of what the store holds; the batch is over."""


def store_for(engine: sa.Engine, scope: BatchScope, hash_key: Callable[[str], str]) -> BatchStore:
    """The store for this database; `hash_key` is the suppression list's hash."""
    if engine.dialect.name == "postgresql":
        return PostgresBatchStore(engine, scope, hash_key)
    return SqliteBatchStore(engine, scope, hash_key)


class _Store:
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


class SqliteBatchStore(_Store):
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


# The claim as one statement: the rows claimed as SqliteBatchStore.claim does, with the people
# they are for and whether each is still wanted on one of the issue's lists.
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
    " COALESCE((SELECT bool_or(u.status = %(wanted)s)"
    f" FROM {Subscription.__table__.name} AS u"
    " WHERE u.subscriber_id = s.id AND u.list_id = ANY(%(lists)s)), false)"
    f" FROM claimed AS c LEFT JOIN {Subscriber.__table__.name} AS s ON s.id = c.subscriber_id"
    " ORDER BY c.id"
)
STATUS_SQL = f"SELECT status FROM {ISSUE.name} WHERE id = %(issue)s"
# The write of sent rows, the common one, with the issue's status read back.
SENT_SQL = (
    f"WITH sent AS (UPDATE {DELIVERY.name} SET status = %(sent)s, sent_at = %(now)s,"
    " last_error = NULL WHERE id = ANY(%(ids)s) AND claimed_by = %(owner)s"
    " AND (status = %(sending)s OR status = %(queued)s))"
    f" SELECT status FROM {ISSUE.name} WHERE id = %(issue)s"
)


def _standing_sql() -> str:
    """`suppression.standing_hashes` for one array of hashes, as SQL text for psycopg.

    Its expanding IN list becomes `= ANY(%(hashes)s)`, so one prepared statement serves any
    number of hashes.
    """
    sql = str(standing_hashes(["-"]).compile(dialect=postgresql.psycopg.dialect()))
    sql, found = re.subn(r"IN \(__\[POSTCOMPILE_\w+\]\)", "= ANY(%(hashes)s)", sql)
    assert found == 1, sql
    return " ".join(sql.split())


SUPPRESSED_SQL = _standing_sql()


class PostgresBatchStore(_Store):
    """Claims and sent rows as prepared statements on the batch's own autocommit connection."""

    def __init__(
        self, engine: sa.Engine, scope: BatchScope, hash_key: Callable[[str], str]
    ) -> None:
        super().__init__(engine, scope, hash_key)
        self.pooled: Any = engine.raw_connection()
        try:
            # psycopg's own connection, under SQLAlchemy's pool wrapper.
            self.connection = cast("psycopg.Connection[Any]", self.pooled.driver_connection)
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

    def fetch(self, sql: str, params: dict) -> list[tuple]:
        """The rows of one prepared statement on this connection."""
        try:
            self.cursor.execute(sql, params, prepare=True)
            return self.cursor.fetchall()
        except BaseException:
            self.close(broken=True)
            raise

    def claim(self, size: int) -> Claim:
        """The claim and the people in one statement, the suppression check in a second."""
        scope = self.scope
        rows = self.fetch(
            CLAIM_SQL,
            {
                "issue": scope.issue_id, "first": scope.first_id, "last": scope.last_id,
                "now": utcnow(), "limit": size, "lists": scope.list_ids, "owner": scope.owner,
                "queued": DeliveryStatus.QUEUED.value, "sending": DeliveryStatus.SENDING.value,
                "issue_sending": IssueStatus.SENDING.value, "wanted": self.wanted.value,
            },
        )  # fmt: skip
        if not rows:
            # Nothing left, or nothing claimed because the issue no longer sends.
            status = IssueStatus(self.fetch(STATUS_SQL, {"issue": scope.issue_id})[0][0])
            return Claim([], status if status != IssueStatus.SENDING else None)
        recipients = [Recipient(row[0], row[2], row[3], row[1]) for row in rows]
        people = {row[4]: Person(*row[4:]) for row in rows if row[4] is not None}
        hashes = self.key_hashes(people)
        found = self.fetch(SUPPRESSED_SQL, {"hashes": list(hashes)}) if hashes else []
        self.mark(recipients, people, {hashes[key_hash] for (key_hash,) in found})
        return Claim(recipients)

    def record(self, outcomes: list[Outcome], *, progress: bool) -> IssueStatus:
        """Sent rows alone in one round trip; anything else as one pooled transaction."""
        if (
            self.open
            and not progress
            and all(outcome.status == DeliveryStatus.SENT for outcome in outcomes)
            # A reconfirmation also notes when each person was asked (`write`).
            and not self.scope.reconfirmation
        ):
            return self.record_sent([outcome.delivery_id for outcome in outcomes])
        return self.write(outcomes, progress=progress)

    def record_sent(self, delivery_ids: list[int]) -> IssueStatus:
        """Mark `delivery_ids` sent; the issue's status as it is now."""
        params = {
            "sent": DeliveryStatus.SENT.value,
            "sending": DeliveryStatus.SENDING.value,
            "queued": DeliveryStatus.QUEUED.value,
            "owner": self.scope.owner,
            "now": utcnow(),
            "ids": delivery_ids,
            "issue": self.scope.issue_id,
        }
        return IssueStatus(self.fetch(SENT_SQL, params)[0][0])

    @contextmanager
    def transaction(self) -> Iterator[sa.Connection]:
        """One pooled transaction, not waiting for the WAL flush."""
        with self.engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
            yield connection

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
