"""The import loop: validate and de-duplicate rows, then apply them a batch at a time.

Each batch commits with the job's counters and its checkpoint (records handled), so a run
killed half-way resumes after the last committed batch; the merge rules make a batch that is
applied again change nothing, so even a lost commit cannot duplicate anyone.

On PostgreSQL a batch's writes run in a writer thread on a connection of its own while this
thread plans the next batch, so the server's work on one batch overlaps Python's on the next
(the thread waits on the socket without the GIL). That is safe because a batch's rows are the
first sighting of their addresses in the file: no row of batch N+1 can be one batch N writes.
A batch carrying repeats of earlier batches' addresses ("late" rows) waits for the write
before it is planned; a write that fails is done again the ordinary way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from newsletter.extensions import db
from newsletter.imports.merge import BatchPlanner, Counts, ImportContext, Plan
from newsletter.imports.rows import Prepared
from newsletter.imports.store import BatchStore
from newsletter.models import ImportJob
from newsletter.models.base import utcnow

RETRIES = 3


@dataclass
class Reject:
    line: int
    file: str
    value: str
    reason: str


class Importer:
    """Applies prepared batches by the merge rules, one transaction per batch."""

    def __init__(
        self,
        context: ImportContext,
        *,
        dry_run: bool = False,
        on_rejects: Callable[[list[Reject]], None] | None = None,
        on_batch: Callable[[int, int, Counts], None] | None = None,
        checkpoint: Callable[[sa.Connection, int, int, Counts], None] | None = None,
        counts: Counts | None = None,
        rows_done: int = 0,
    ) -> None:
        self.context = context
        self.dry_run = dry_run
        self.on_rejects = on_rejects
        self.on_batch = on_batch
        self.checkpoint = checkpoint
        self.counts = counts or Counts()
        self.rows_done = rows_done

    def run(self, batches: Iterable[Prepared]) -> Counts:
        if self.dry_run or db.session.connection().dialect.name != "postgresql":
            for batch in batches:
                self._apply(batch)
            return self.counts
        return self._run_overlapped(batches)

    def _apply(self, batch: Prepared) -> None:
        counts = Counts(rejected=len(batch.rejects), duplicates=batch.duplicates)
        plan = self._write(batch, counts)
        self._done(batch, counts, plan)

    def _done(self, batch: Prepared, counts: Counts, plan: Plan) -> None:
        counts.add(plan.counts)
        rejects = _rejects(batch, plan)
        self.rows_done += batch.size
        self.counts.add(counts)
        if self.on_rejects and rejects:
            self.on_rejects(rejects)
        if self.on_batch:
            self.on_batch(self.rows_done, batch.bytes_done, self.counts)

    # Overlapped (PostgreSQL) -------------------------------------------------------------

    def _run_overlapped(self, batches: Iterable[Prepared]) -> Counts:
        writer_connection = db.engine.connect()
        pending: tuple[Prepared, Counts, Plan, Future] | None = None
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="import-writer") as writer:
                for batch in batches:
                    if batch.late and pending:  # its repeats may be people `pending` writes
                        self._settle(pending)
                        pending = None
                    counts = Counts(rejected=len(batch.rejects), duplicates=batch.duplicates)
                    plan = self._plan(batch)
                    if pending:
                        if not self._settle(pending):  # written again, the ordinary way:
                            plan = self._plan(batch)  # plan on what that write left
                        pending = None
                    future = writer.submit(
                        self._write_planned, writer_connection, batch, counts, plan
                    )
                    pending = (batch, counts, plan, future)
                if pending:
                    self._settle(pending)
                    pending = None
        finally:
            if pending:
                pending[3].exception()  # let the write finish before its connection closes
            writer_connection.close()
        return self.counts

    def _plan(self, batch: Prepared) -> Plan:
        """Plan on this thread's connection and end its read-only transaction at once."""
        try:
            store = BatchStore(db.session.connection())
            store.use_indexes()
            return BatchPlanner(self.context, store, utcnow()).plan(batch.rows, batch.late)
        finally:
            db.session.rollback()

    def _settle(self, pending: tuple[Prepared, Counts, Plan, Future]) -> bool:
        """Wait for a batch's write and report it; True if it went through as planned."""
        batch, counts, plan, future = pending
        try:
            future.result()
        except IntegrityError:  # a concurrent sign-up won a race: plan and write it again
            self._apply(batch)
            return False
        self._done(batch, counts, plan)
        return True

    def _store_plan(
        self,
        connection: sa.Connection,
        store: BatchStore,
        batch: Prepared,
        counts: Counts,
        plan: Plan,
    ) -> None:
        """Write a planned batch, its rejects and its checkpoint (the caller commits)."""
        _write_plan(store, plan)
        self._store_rejects(store, _rejects(batch, plan))
        if self.checkpoint:
            total = Counts()
            for part in (self.counts, counts, plan.counts):
                total.add(part)
            self.checkpoint(connection, self.rows_done + batch.size, batch.bytes_done, total)

    def _write_planned(
        self, connection: sa.Connection, batch: Prepared, counts: Counts, plan: Plan
    ) -> None:
        """Write a planned batch with its checkpoint, in one transaction (the writer thread)."""
        with connection.begin():
            store = BatchStore(connection)
            connection.execute(sa.text("SET LOCAL synchronous_commit = off"))
            self._store_plan(connection, store, batch, counts, plan)

    def _write(self, batch: Prepared, counts: Counts) -> Plan:
        """Plan and write one batch in one transaction, retried if a concurrent sign-up wins."""
        for attempt in range(RETRIES):
            try:
                connection = db.session.connection()
                store = BatchStore(connection)
                store.use_indexes()
                if store.postgres and not self.dry_run:
                    # A database crash may lose the last few batches, but each batch commits
                    # with its checkpoint, so a resumed run simply does them again.
                    connection.execute(sa.text("SET LOCAL synchronous_commit = off"))
                plan = BatchPlanner(self.context, store, utcnow()).plan(batch.rows, batch.late)
                if self.dry_run:
                    db.session.rollback()
                    return plan
                self._store_plan(connection, store, batch, counts, plan)
                db.session.commit()
                return plan
            except IntegrityError:
                db.session.rollback()
                if attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _store_rejects(self, store: BatchStore, rejects: list[Reject]) -> None:
        if self.context.job_id is None:
            return
        store.insert_rejects(
            [
                {
                    "job_id": self.context.job_id,
                    "line": r.line,
                    "file": r.file[:255],
                    "value": r.value[:1000],
                    "reason": r.reason[:300],
                }
                for r in rejects
            ]
        )


def _rejects(batch: Prepared, plan: Plan) -> list[Reject]:
    return [Reject(*r) for r in batch.rejects] + [
        Reject(row.line, row.file, row.raw, reason) for row, reason in plan.rejects
    ]


def _write_plan(store: BatchStore, plan: Plan) -> None:
    ids = store.insert_subscribers(list(plan.new_subscribers.values()))
    for row in plan.new_subscriptions:
        if isinstance(row["subscriber_id"], str):
            row["subscriber_id"] = ids[row["subscriber_id"]]
    for row in plan.events:
        if isinstance(row["subscriber_id"], str):
            row["subscriber_id"] = ids[row["subscriber_id"]]
    store.insert_subscriptions(plan.new_subscriptions)
    store.update_subscriptions(plan.subscription_updates)
    store.update_subscribers(list(plan.subscriber_updates.values()))
    store.insert_consent_events(plan.events)
    store.suppress(plan.suppressions)


def job_checkpoint(job_id: int, holder: str):
    """A checkpoint that stores the job's counters and position with each batch.

    The UPDATE names the holder: if another process has taken the job over, nothing matches
    and the batch is rolled back instead of counted twice.
    """
    table = ImportJob.__table__

    def checkpoint(
        connection: sa.Connection, rows_done: int, bytes_done: int, counts: Counts
    ) -> None:
        result = connection.execute(
            table.update()
            .where(table.c.id == job_id, table.c.holder == holder)
            .values(
                rows_done=rows_done,
                bytes_done=bytes_done,
                heartbeat_at=utcnow(),
                **counts.as_dict(),
            )
        )
        if result.rowcount != 1:
            raise JobTakenOver(f"import job {job_id} was taken over by another process")

    return checkpoint


class JobTakenOver(RuntimeError):
    """Another process claimed the job this one was running."""
