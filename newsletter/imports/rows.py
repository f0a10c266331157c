"""Preparing batches: validate, de-duplicate, and flatten records into `Row`s.

This half of the work needs no database, so with more than one core the CLI runs it in a
forked child process while the parent plans and writes. What crosses the pipe is made cheap
to serialise: plain tuples of strings and numbers (a `Row` is built from one only in the
parent), JSON already serialised, times as POSIX timestamps, the whole batch in one `marshal`
call (pickling records' dicts, datetimes or NamedTuples would cost more than validating them).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import marshal
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from newsletter.addresses import AddressValidator
from newsletter.bidi import close_bidi
from newsletter.imports.errors import ImportFileError
from newsletter.imports.records import ImportRecord, RowKind
from newsletter.mail.addresses import header_text

BATCH_SIZE = 5000
MEMBER = RowKind.MEMBER.value


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


# How the default JSON encoder writes a string (ensure_ascii is its default).
_quote = json.encoder.encode_basestring_ascii
_encoder = json.JSONEncoder()
# The C accelerator, which typeshed leaves out of json.encoder's stubs.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
if _c_make_encoder is not None:
    # JSONEncoder.encode builds its C encoder anew on every call (most of its cost for a
    # small dict); this one is built once, with the default's settings less the check for
    # circular references (rows hold only strings, numbers and flat dicts of them).
    _c_encode = _c_make_encoder(
        None, _encoder.default, _quote, None, ": ", ", ", False, False, True
    )

    def dumps(value) -> str:
        """json.dumps(value) with the default settings, the encoder built once."""
        return "".join(_c_encode(value, 0))

else:  # pragma: no cover - CPython always has the C encoder

    def dumps(value) -> str:
        """json.dumps(value) with the default settings."""
        return _encoder.encode(value)


def moment(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


@dataclass(frozen=True)
class RowContext:
    """What flattening needs to know about the import (the rest of the event's detail)."""

    file_name: str
    file_sha256: str
    consent: str
    address_hash: Callable[[str], str]
    # The event detail's constant parts, as the default JSON encoder writes them.
    detail_head: str = field(init=False)
    detail_consent: str = field(init=False)

    def __post_init__(self) -> None:
        head = f'{{"file": {_quote(self.file_name)}, "sha256": {_quote(self.file_sha256)}, '
        object.__setattr__(self, "detail_head", head + '"line": ')
        object.__setattr__(self, "detail_consent", f', "consent": {_quote(self.consent)}')


# The subscriber.name column's length, which records.py cuts a name to.
_NAME_LENGTH = 200


def _plain(name: str) -> str:
    """A name fit for a header and a database: line breaks and control characters become one
    space, as the forms refuse them (a quoted CSV cell may hold anything, NUL included); a
    direction override or isolate left open is closed at its end, as the forms close it."""
    if name.isprintable():
        return name
    return close_bidi(" ".join(header_text(name).split()), _NAME_LENGTH)


def to_row(record: ImportRecord, email: str, key: str, context: RowContext) -> tuple:
    """The row as a plain tuple in `Row`'s field order (the planner makes it a `Row`).

    The event's detail is the JSON of {file, sha256, line, consent, member?, evidence?,
    source_ids?, note?}, written piece by piece exactly as json.dumps would write that dict.
    """
    detail = context.detail_head + str(record.line) + context.detail_consent
    if record.file != context.file_name:
        detail += ', "member": ' + _quote(record.file)
    evidence = record.evidence
    if evidence:
        detail += ', "evidence": ' + dumps(evidence)
    if record.source_ids:
        detail += ', "source_ids": ' + dumps(record.source_ids)
    if record.note:
        detail += ', "note": ' + _quote(record.note)
    ip = evidence.get("CONFIRM_IP") or evidence.get("OPTIN_IP") if evidence else None
    opted_in_at, confirmed_at, left_at = record.opted_in_at, record.confirmed_at, record.left_at
    kind = record.kind
    return (
        MEMBER if kind is RowKind.MEMBER else kind.value, key, email, context.address_hash(key),
        record.line, record.file,
        record.email, _plain(record.name), dumps(record.attributes) if record.attributes else "{}",
        detail + "}", ip[:64] if ip else None,
        opted_in_at.timestamp() if opted_in_at else None,
        confirmed_at.timestamp() if confirmed_at else None,
        left_at.timestamp() if left_at else None, record.note,
    )  # fmt: skip


@dataclass
class Prepared:
    """One batch, validated and de-duplicated; rows are plain tuples in `Row`'s field order."""

    size: int = 0  # records of the file this batch covers
    bytes_done: int = 0
    rows: list[tuple] = field(default_factory=list)
    # Repeats of an address first seen in an earlier batch (they may fill gaps).
    late: list[tuple] = field(default_factory=list)
    rejects: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, file, value, why
    duplicates: int = 0

    def pack(self) -> bytes:
        return marshal.dumps(
            (self.size, self.bytes_done, self.rows, self.late, self.rejects, self.duplicates)
        )


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
    check = AddressValidator().check
    seen: set[int] = set()
    add = seen.add
    records = iter(records)
    for record in itertools.islice(records, skip):  # an interrupted run's: note the addresses
        checked = record.problem or check(record.email)
        if checked.__class__ is tuple:
            add(fingerprint(checked[1]))
    size = duplicates = 0
    rejects: list[tuple[int, str, str, str]] = []
    # The first row of each address in this batch, and repeats of earlier batches' addresses,
    # as (record, normalised address, canonical key).
    firsts: dict[str, tuple[ImportRecord, str, str]] = {}
    late: list[tuple[ImportRecord, str, str]] = []
    for record in records:
        size += 1
        checked = record.problem or check(record.email)
        if type(checked) is str:
            rejects.append((record.line, record.file, record.email, checked))
        else:
            mark = fingerprint(checked[1])
            if mark not in seen:
                add(mark)
                firsts[checked[1]] = (record, *checked)
            else:
                duplicates += 1
                first = firsts.get(checked[1])
                if first is None:
                    late.append((record, *checked))
                elif not record.is_leaver and not first[0].is_leaver:
                    _merge_into(first[0], record)
        if size >= batch_size:
            yield _finish(size, duplicates, rejects, firsts, late, bytes_done, context)
            size = duplicates = 0
            rejects, firsts, late = [], {}, []
    if size:
        yield _finish(size, duplicates, rejects, firsts, late, bytes_done, context)


def _finish(
    size: int,
    duplicates: int,
    rejects: list[tuple[int, str, str, str]],
    firsts: dict[str, tuple[ImportRecord, str, str]],
    late: list[tuple[ImportRecord, str, str]],
    bytes_done: Callable[[], int],
    context: RowContext,
) -> Prepared:
    return Prepared(
        size=size,
        bytes_done=bytes_done(),
        rows=[to_row(*first, context) for first in firsts.values()],
        late=[to_row(*repeat, context) for repeat in late],
        rejects=rejects,
        duplicates=duplicates,
    )


def _merge_into(first: ImportRecord, repeat: ImportRecord) -> None:
    """A repeated row in the same batch fills what the first one left blank."""
    if not first.name and repeat.name:
        first.name = repeat.name
    for key, value in repeat.attributes.items():
        first.attributes.setdefault(key, value)


_END = b""


def _prepare_in_child(connection, make_batches: Callable[[], Iterator[Prepared]]) -> None:
    try:
        for batch in make_batches():
            connection.send_bytes(batch.pack())
        connection.send_bytes(_END)
    except BaseException as error:  # the parent raises it again
        said = (
            str(error) if isinstance(error, ImportFileError) else f"{type(error).__name__}: {error}"
        )
        connection.send_bytes(marshal.dumps(said))
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
                data = receiver.recv_bytes()
            except EOFError:
                raise RuntimeError("the import's reader process stopped unexpectedly") from None
            if data == _END:
                return
            message = marshal.loads(data)
            if isinstance(message, str):
                raise ImportFileError(f"reading the file failed: {message}")
            yield Prepared(*message)
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
