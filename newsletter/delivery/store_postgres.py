"""The batch store on PostgreSQL: claims and sent rows as prepared statements on the batch's
own autocommit connection (delivery/store.py describes the stores and their transactions)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from newsletter.delivery.store_base import StoreBase
from newsletter.delivery.types import DELIVERY, ISSUE, BatchScope, Claim, Outcome, Person, Recipient
from newsletter.models import DeliveryStatus, IssueStatus, Subscriber, Subscription
from newsletter.models.base import utcnow
from newsletter.suppression import standing_hashes

if TYPE_CHECKING:
    import psycopg


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


class PostgresBatchStore(StoreBase):
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
