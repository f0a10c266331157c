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

The stores live in store_sqlite.py and store_postgres.py; what they share (checking the
claimed people, writing outcomes) in store_base.py.

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

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import sqlalchemy as sa

from newsletter.delivery.store_postgres import PostgresBatchStore
from newsletter.delivery.store_sqlite import SqliteBatchStore
from newsletter.delivery.types import BatchScope, Claim, Outcome
from newsletter.models import IssueStatus


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
