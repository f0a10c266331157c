"""The import loop: validate and de-duplicate rows, then apply them a batch at a time.

Each batch commits with the job's counters and its checkpoint (records handled), so a run
killed half-way resumes after the last committed batch; the merge rules make a batch that is
applied again change nothing, so even a lost commit cannot duplicate anyone.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

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


@dataclass
class Prepared:
    """One batch, validated and de-duplicated, ready for the merge rules."""

    size: int  # records of the file this batch covers
    bytes_done: int
    rows: list[tuple[ImportRecord, Address]] = field(default_factory=list)
    # Repeats of an address first seen in an earlier batch (they may fill gaps).
    late: list[tuple[ImportRecord, Address]] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    duplicates: int = 0

    def packed(self) -> tuple:
        def pack(pairs):
            return [(r.as_tuple(), a.email, a.key) for r, a in pairs]

        return self.size, self.bytes_done, pack(self.rows), pack(self.late), [
            (r.line, r.file, r.value, r.reason) for r in self.rejects
        ], self.duplicates  # fmt: skip

    @classmethod
    def unpacked(cls, packed: tuple) -> Prepared:
        size, bytes_done, rows, late, rejects, duplicates = packed

        def unpack(pairs):
            return [(ImportRecord(*r), Address(email, key)) for r, email, key in pairs]

        return cls(size, bytes_done, unpack(rows), unpack(late),
                   [Reject(*r) for r in rejects], duplicates)  # fmt: skip


def prepare(
    records: Iterable[ImportRecord],
    bytes_done: Callable[[], int],
    batch_size: int = BATCH_SIZE,
    skip: int = 0,
) -> Iterator[Prepared]:
    """Validate and de-duplicate records a batch at a time (no database needed).

    The first `skip` records were handled by an earlier, interrupted run: only their
    addresses are noted, so that later repeats of them still count as duplicates.
    """
    validator = AddressValidator()
    seen: set[int] = set()
    batch = Prepared(0, 0)
    firsts: dict[str, tuple[ImportRecord, Address]] = {}
    for index, record in enumerate(records):
        address, reason = (None, record.problem)
        if reason is None:
            address, reason = validator.parse(record.email)
        if index < skip:
            if address is not None:
                seen.add(_fingerprint(address.key))
            continue
        batch.size += 1
        if address is None:
            batch.rejects.append(Reject(record.line, record.file, record.email, reason))
        else:
            fingerprint = _fingerprint(address.key)
            if fingerprint in seen:
                batch.duplicates += 1
                first = firsts.get(address.key)
                if first is None:
                    batch.late.append((record, address))
                elif not record.is_leaver and not first[0].is_leaver:
                    _merge_into(first[0], record)
            else:
                seen.add(fingerprint)
                firsts[address.key] = (record, address)
                batch.rows.append((record, address))
        if batch.size >= batch_size:
            batch.bytes_done = bytes_done()
            yield batch
            batch, firsts = Prepared(0, 0), {}
    if batch.size:
        batch.bytes_done = bytes_done()
        yield batch


def _prepare_in_child(connection, make_stream, batch_size: int, skip: int) -> None:
    try:
        stream = make_stream()
        for batch in prepare(stream, stream.bytes_done, batch_size, skip):
            connection.send(batch.packed())
        connection.send(None)
    except BaseException as error:  # the parent re-raises it
        connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        connection.close()


def prepare_in_parallel(
    make_stream: Callable[[], Iterable[ImportRecord]], batch_size: int, skip: int = 0
) -> Iterator[Prepared]:
    """prepare() in a forked child process, so that reading, parsing and validating use the
    second core while this process plans and writes. A few batches are buffered in the pipe.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_prepare_in_child, args=(sender, make_stream, batch_size, skip), daemon=True
    )
    child.start()
    sender.close()
    try:
        while True:
            try:
                packed = receiver.recv()
            except EOFError:
                raise RuntimeError("the import's reader process stopped unexpectedly") from None
            if packed is None:
                return
            if packed[0] == "error":
                raise RuntimeError(f"reading the file failed: {packed[1]}")
            yield Prepared.unpacked(packed)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()


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
        for batch in batches:
            self._apply(batch)
        return self.counts

    def _apply(self, batch: Prepared) -> None:
        counts = Counts(rejected=len(batch.rejects), duplicates=batch.duplicates)
        plan = self._write(batch, counts)
        counts.add(plan.counts)
        rejects = batch.rejects + [
            Reject(r.line, r.file, r.email, reason) for r, reason in plan.rejects
        ]
        self.rows_done += batch.size
        self.counts.add(counts)
        if self.on_rejects and rejects:
            self.on_rejects(rejects)
        if self.on_batch:
            self.on_batch(self.rows_done, batch.bytes_done, self.counts)

    def _write(self, batch: Prepared, counts: Counts) -> Plan:
        """Plan and write one batch in one transaction, retried if a concurrent sign-up wins."""
        for attempt in range(RETRIES):
            try:
                connection = db.session.connection()
                store = BatchStore(connection)
                plan = BatchPlanner(self.context, store, utcnow()).plan(batch.rows, batch.late)
                if self.dry_run:
                    db.session.rollback()
                    return plan
                _write_plan(store, plan)
                self._store_rejects(
                    store,
                    batch.rejects
                    + [Reject(r.line, r.file, r.email, reason) for r, reason in plan.rejects],
                )
                if self.checkpoint:
                    total = Counts()
                    for part in (self.counts, counts, plan.counts):
                        total.add(part)
                    self.checkpoint(
                        connection, self.rows_done + batch.size, batch.bytes_done, total
                    )
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
