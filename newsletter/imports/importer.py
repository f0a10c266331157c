"""The import loop: validate and de-duplicate rows, then apply them a batch at a time.

Each batch commits with the job's counters and its checkpoint (records handled), so a run
killed half-way resumes after the last committed batch; the merge rules make a batch that is
applied again change nothing, so even a lost commit cannot duplicate anyone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from newsletter.addresses import Address
from newsletter.extensions import db
from newsletter.imports.addresses import AddressValidator
from newsletter.imports.merge import BatchPlanner, Counts, ImportContext, Plan
from newsletter.imports.records import ImportRecord
from newsletter.imports.store import BatchStore
from newsletter.models import ImportJob
from newsletter.models.base import utcnow

BATCH_SIZE = 5000
RETRIES = 3


@dataclass
class Reject:
    line: int
    file: str
    value: str
    reason: str


def _fingerprint(key: str) -> int:
    # 96 bits: a million addresses collide with odds of about 1e-17, at a fraction of the
    # memory a set of the addresses themselves would take.
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=12).digest(), "big")


class Importer:
    """Runs records through validation, de-duplication and the merge rules."""

    def __init__(
        self,
        context: ImportContext,
        *,
        dry_run: bool = False,
        batch_size: int = BATCH_SIZE,
        on_rejects: Callable[[list[Reject]], None] | None = None,
        on_batch: Callable[[int, Counts], None] | None = None,
        checkpoint: Callable[[sa.Connection, int, Counts], None] | None = None,
    ) -> None:
        self.context = context
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.on_rejects = on_rejects
        self.on_batch = on_batch
        self.checkpoint = checkpoint
        self.validator = AddressValidator()
        self.seen: set[int] = set()
        self.counts = Counts()
        self.rows_done = 0

    def run(self, records: Iterable[ImportRecord], skip: int = 0) -> Counts:
        """Apply every record after the first `skip` (handled by an earlier, interrupted run)."""
        batch: list[ImportRecord] = []
        for record in records:
            if self.rows_done < skip:
                self._remember(record)
                self.rows_done += 1
                continue
            batch.append(record)
            if len(batch) >= self.batch_size:
                self._apply(batch)
                batch = []
        if batch:
            self._apply(batch)
        return self.counts

    def _remember(self, record: ImportRecord) -> None:
        """Note an already-handled row's address, so later repeats still count as duplicates."""
        if record.problem is None:
            address, _ = self.validator.parse(record.email)
            if address is not None:
                self.seen.add(_fingerprint(address.key))

    def _apply(self, batch: list[ImportRecord]) -> None:
        counts = Counts()
        rejects: list[Reject] = []
        firsts: dict[str, tuple[ImportRecord, Address]] = {}
        late: list[tuple[ImportRecord, Address]] = []
        for record in batch:
            reason = record.problem
            address = None
            if reason is None:
                address, reason = self.validator.parse(record.email)
            if address is None:
                rejects.append(Reject(record.line, record.file, record.email, reason))
                counts.rejected += 1
                continue
            fingerprint = _fingerprint(address.key)
            if fingerprint in self.seen:
                counts.duplicates += 1
                first = firsts.get(address.key)
                if first is None:
                    late.append((record, address))
                elif not record.is_leaver and not first[0].is_leaver:
                    _merge_into(first[0], record)
                continue
            self.seen.add(fingerprint)
            firsts[address.key] = (record, address)
        plan = self._write(list(firsts.values()), late, counts, rejects, len(batch))
        counts.add(plan.counts)
        rejects.extend(Reject(r.line, r.file, r.email, reason) for r, reason in plan.rejects)
        self.rows_done += len(batch)
        self.counts.add(counts)
        if self.on_rejects and rejects:
            self.on_rejects(rejects)
        if self.on_batch:
            self.on_batch(self.rows_done, self.counts)

    def _write(self, rows, late, counts: Counts, rejects: list[Reject], size: int) -> Plan:
        """Plan and write one batch in one transaction, retried if a concurrent sign-up wins."""
        for attempt in range(RETRIES):
            try:
                connection = db.session.connection()
                store = BatchStore(connection)
                plan = BatchPlanner(self.context, store, utcnow()).plan(rows, late)
                if self.dry_run:
                    db.session.rollback()
                    return plan
                _write_plan(store, plan)
                all_rejects = rejects + [
                    Reject(r.line, r.file, r.email, reason) for r, reason in plan.rejects
                ]
                self._store_rejects(store, all_rejects)
                if self.checkpoint:
                    total = Counts()
                    total.add(self.counts)
                    total.add(counts)
                    total.add(plan.counts)
                    self.checkpoint(connection, self.rows_done + size, total)
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


def _merge_into(first: ImportRecord, repeat: ImportRecord) -> None:
    """A repeated row in the same batch fills what the first one left blank."""
    if not first.name and repeat.name:
        first.name = repeat.name
    for key, value in repeat.attributes.items():
        first.attributes.setdefault(key, value)


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


def job_checkpoint(job_id: int, holder: str, bytes_done: Callable[[], int]):
    """A checkpoint that stores the job's counters and position with each batch.

    The UPDATE names the holder: if another process has taken the job over, nothing matches
    and the batch is rolled back instead of counted twice.
    """
    table = ImportJob.__table__

    def checkpoint(connection: sa.Connection, rows_done: int, counts: Counts) -> None:
        result = connection.execute(
            table.update()
            .where(table.c.id == job_id, table.c.holder == holder)
            .values(
                rows_done=rows_done,
                bytes_done=bytes_done(),
                heartbeat_at=utcnow(),
                **counts.as_dict(),
            )
        )
        if result.rowcount != 1:
            raise JobTakenOver(f"import job {job_id} was taken over by another process")

    return checkpoint


class JobTakenOver(RuntimeError):
    """Another process claimed the job this one was running."""
