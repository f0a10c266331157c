"""Preparing batches: validate, de-duplicate, and flatten records into `Row`s.

This half of the work needs no database, so on a machine with two cores the CLI runs it in a
forked child process while the parent plans and writes. What crosses the pipe is made cheap
to pickle: flat tuples of strings and numbers, JSON already serialised, times as POSIX
timestamps (pickling the records' dicts and datetimes cost more than validating them).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from newsletter.addresses import Address
from newsletter.imports.addresses import AddressValidator
from newsletter.imports.records import ImportRecord, RowKind

BATCH_SIZE = 5000


class Row(NamedTuple):
    """A valid, first-seen row, ready for the merge rules."""

    kind: str  # a RowKind value
    key: str  # canonical key
    email: str  # normalised address
    key_hash: str  # the suppression list's HMAC of the key
    line: int
    file: str
    raw: str  # the address cell as given
    name: str
    attributes: str  # JSON object
    detail: str  # the import consent event's detail, JSON object
    ip: str | None
    opted_in_at: float | None
    confirmed_at: float | None
    left_at: float | None
    note: str

    @property
    def is_leaver(self) -> bool:
        return self.kind != RowKind.MEMBER


# The default encoder is built once; any keyword argument to json.dumps builds a new one.
_dumps = json.JSONEncoder().encode


def moment(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _timestamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


@dataclass(frozen=True)
class RowContext:
    """What flattening needs to know about the import (the rest of the event's detail)."""

    file_name: str
    file_sha256: str
    consent: str
    address_hash: Callable[[str], str]


def to_row(record: ImportRecord, address: Address, context: RowContext) -> Row:
    detail: dict = {
        "file": context.file_name,
        "sha256": context.file_sha256,
        "line": record.line,
        "consent": context.consent,
    }
    if record.file != context.file_name:
        detail["member"] = record.file
    if record.evidence:
        detail["evidence"] = record.evidence
    if record.source_ids:
        detail["source_ids"] = record.source_ids
    if record.note:
        detail["note"] = record.note
    ip = record.evidence.get("CONFIRM_IP") or record.evidence.get("OPTIN_IP")
    return Row(
        record.kind.value, address.key, address.email, context.address_hash(address.key),
        record.line, record.file, record.email, record.name,
        _dumps(record.attributes) if record.attributes else "{}", _dumps(detail),
        ip[:64] if ip else None, _timestamp(record.opted_in_at), _timestamp(record.confirmed_at),
        _timestamp(record.left_at), record.note,
    )  # fmt: skip


@dataclass
class Prepared:
    """One batch, validated and de-duplicated."""

    size: int = 0  # records of the file this batch covers
    bytes_done: int = 0
    rows: list[Row] = field(default_factory=list)
    # Repeats of an address first seen in an earlier batch (they may fill gaps).
    late: list[Row] = field(default_factory=list)
    rejects: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, file, value, why
    duplicates: int = 0


def fingerprint(key: str) -> int:
    # 96 bits: a million addresses collide with odds of about 1e-17, at a fraction of the
    # memory a set of the addresses themselves would take.
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=12).digest(), "big")


def prepare(
    records: Iterable[ImportRecord],
    bytes_done: Callable[[], int],
    context: RowContext,
    batch_size: int = BATCH_SIZE,
    skip: int = 0,
) -> Iterator[Prepared]:
    """Validate and de-duplicate records a batch at a time.

    The first `skip` records were handled by an earlier, interrupted run: only their
    addresses are noted, so that later repeats of them still count as duplicates.
    """
    validator = AddressValidator()
    seen: set[int] = set()
    batch = Prepared()
    firsts: dict[str, tuple[ImportRecord, Address]] = {}
    late: list[tuple[ImportRecord, Address]] = []
    for index, record in enumerate(records):
        address, reason = (None, record.problem)
        if reason is None:
            address, reason = validator.parse(record.email)
        if index < skip:
            if address is not None:
                seen.add(fingerprint(address.key))
            continue
        batch.size += 1
        if address is None:
            batch.rejects.append((record.line, record.file, record.email, reason))
        else:
            mark = fingerprint(address.key)
            if mark not in seen:
                seen.add(mark)
                firsts[address.key] = (record, address)
            else:
                batch.duplicates += 1
                first = firsts.get(address.key)
                if first is None:
                    late.append((record, address))
                elif not record.is_leaver and not first[0].is_leaver:
                    _merge_into(first[0], record)
        if batch.size >= batch_size:
            yield _finish(batch, firsts, late, bytes_done, context)
            batch, firsts, late = Prepared(), {}, []
    if batch.size:
        yield _finish(batch, firsts, late, bytes_done, context)


def _finish(batch: Prepared, firsts, late, bytes_done, context: RowContext) -> Prepared:
    batch.rows = [to_row(record, address, context) for record, address in firsts.values()]
    batch.late = [to_row(record, address, context) for record, address in late]
    batch.bytes_done = bytes_done()
    return batch


def _merge_into(first: ImportRecord, repeat: ImportRecord) -> None:
    """A repeated row in the same batch fills what the first one left blank."""
    if not first.name and repeat.name:
        first.name = repeat.name
    for key, value in repeat.attributes.items():
        first.attributes.setdefault(key, value)


def _prepare_in_child(connection, make_batches: Callable[[], Iterator[Prepared]]) -> None:
    try:
        for batch in make_batches():
            connection.send(batch)
        connection.send(None)
    except BaseException as error:  # the parent raises it again
        connection.send(f"{type(error).__name__}: {error}")
    finally:
        connection.close()


def prepare_in_parallel(make_batches: Callable[[], Iterator[Prepared]]) -> Iterator[Prepared]:
    """Run `make_batches` in a forked child process; batches come back through a pipe, a few
    buffered, so reading, parsing and validating use another core while this one writes."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_prepare_in_child, args=(sender, make_batches), daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            try:
                batch = receiver.recv()
            except EOFError:
                raise RuntimeError("the import's reader process stopped unexpectedly") from None
            if batch is None:
                return
            if isinstance(batch, str):
                raise RuntimeError(f"reading the file failed: {batch}")
            yield batch
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
