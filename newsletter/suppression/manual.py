"""The suppression list by hand: look an address up, add addresses, remove an entry.

The list holds HMACs, not addresses, so "search" means hashing the address typed and finding
its entry. Adding gives the reason `manual`; removing (admins only, with a reason) lifts every
reason that stands and puts the self-liftable `left_all` in their place, so the address gets
no mail until the person opts in again by a confirmation or preferences link. Every change
goes to the audit log, by entry id, never by address. Each function here commits.
"""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from newsletter import suppression
from newsletter.addresses import Address, parse_address
from newsletter.audit import Actor, record
from newsletter.consent import Origin, record_consent
from newsletter.errors import ValidationError
from newsletter.extensions import db
from newsletter.models import (
    Account,
    ConsentAction,
    ConsentMethod,
    Subscriber,
    SuppressionEntry,
    SuppressionEntryReason,
    SuppressionReason,
)
from newsletter.spreadsheet import unescape

PAGE_SIZE = 50
MAX_NOTE = 500
MAX_ADDRESSES = 100_000


def recent_entries(before: int | None = None, limit: int = PAGE_SIZE):
    """Entries newest first, keyset-paged by id, and the id to page on from."""
    query = (
        sa.select(SuppressionEntry)
        .options(selectinload(SuppressionEntry.reasons))  # one query for a page's reasons
        .order_by(SuppressionEntry.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(SuppressionEntry.id < before)
    entries = list(db.session.scalars(query))
    older = entries[limit - 1].id if len(entries) > limit else None
    return entries[:limit], older


def reason_counts() -> dict[str, int]:
    """How many entries have each reason standing."""
    rows = db.session.execute(
        sa.select(SuppressionEntryReason.reason, sa.func.count())
        .where(suppression.STANDING)
        .group_by(SuppressionEntryReason.reason)
    )
    return {reason.value: n for reason, n in rows}


@dataclass
class Added:
    added: int = 0
    already: int = 0
    invalid: list[tuple[int, str]] = field(default_factory=list)


def add_addresses(addresses: list[str], note: str, actor: Actor) -> Added:
    """Suppress each address with the reason `manual`; invalid ones are listed, not fatal."""
    note = (note or "").strip()[:MAX_NOTE]
    result = Added()
    valid: list[Address] = []
    for line, raw in enumerate(addresses, start=1):
        try:
            valid.append(parse_address(raw))
        except ValidationError as error:
            result.invalid.append((line, str(error)))
    for address in {a.key: a for a in valid}.values():
        if suppression.suppress(address.key, SuppressionReason.MANUAL, note):
            result.added += 1
        else:
            result.already += 1
    if result.added:
        record(
            "suppression.added",
            detail={"added": result.added, "already": result.already, "note": note},
            actor=actor,
        )
    db.session.commit()
    return result


def addresses_from_csv(content: bytes) -> list[str]:
    """The `email` column of a CSV (any case), else its first column; blank lines skipped.

    Read a row at a time, keeping only the addresses, and refused as soon as it holds more
    than MAX_ADDRESSES: a file of blank lines or one endless row costs no more than its bytes."""
    header: list[str] | None = None
    column = 0
    addresses: list[str] = []
    reader = csv.reader(_text(content))
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                named = [n for n in ("email", "email address", "e-mail") if n in header]
                if named:
                    column = header.index(named[0])
                    continue
            # A cell a spreadsheet-safe export marked with "'" (our list export) reads as it was.
            addresses.append(unescape(row[column]).strip() if column < len(row) else "")
            if len(addresses) > MAX_ADDRESSES:
                raise ValidationError(f"A file may hold at most {MAX_ADDRESSES:,} addresses")
    except csv.Error as error:
        raise ValidationError(
            f"Line {reader.line_num} of the file cannot be read: {error}"
        ) from error
    if not addresses:
        raise ValidationError("The file has no addresses in it")
    return addresses


def _text(content: bytes) -> io.TextIOWrapper:
    """The upload as text without a decoded copy of it: UTF-8 if it is, else Windows-1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8-sig"
    view = memoryview(content)
    try:
        for start in range(0, len(content), 1 << 20):
            decoder.decode(view[start : start + (1 << 20)])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        encoding = "cp1252"
    return io.TextIOWrapper(io.BytesIO(content), encoding=encoding, errors="replace", newline="")


def remove_entry(entry_id: int, reason: str, actor: Account) -> list[str]:
    """Lift every standing reason of the entry (admins only); the address must opt in again."""
    why = _removal_reason(reason)
    entry = db.session.get(SuppressionEntry, entry_id)
    if entry is None:
        raise ValidationError("That suppression entry does not exist")
    lifted = _lift_by_admin(entry, why, actor)
    db.session.commit()
    return lifted


def lift_for_subscriber(key: str, reason: str, actor: Account) -> list[str]:
    """remove_entry for a known person's address, with a consent event on their record."""
    entry = suppression.find_entry(key)
    if entry is None:
        raise ValidationError("That address is not suppressed")
    lifted = _lift_by_admin(entry, _removal_reason(reason), actor)
    subscriber = db.session.scalar(sa.select(Subscriber).where(Subscriber.email_key == key))
    if subscriber is not None:
        record_consent(
            subscriber, ConsentAction.SUPPRESSION_LIFTED, ConsentMethod.ADMIN,
            Origin.from_request(), account_id=actor.id,
            detail={"reasons": lifted, "why": reason[:MAX_NOTE]},
        )  # fmt: skip
    db.session.commit()
    return lifted


def _removal_reason(reason: str) -> str:
    why = " ".join((reason or "").split())[:MAX_NOTE]
    if not why:
        raise ValidationError("Enter why the suppression is removed")
    return why


# An admin lifts every reason but a person's own leaving, which only the person lifts.
ADMIN_LIFTABLE = frozenset(SuppressionReason) - {SuppressionReason.LEFT_ALL}


def admin_may_remove(entry: SuppressionEntry) -> bool:
    """True when remove_entry would lift something: a reason other than `left_all` stands."""
    return any(reason in ADMIN_LIFTABLE for reason in entry.active_reasons)


def _lift_by_admin(entry: SuppressionEntry, why: str, actor: Account) -> list[str]:
    """Lift all but `left_all`, leaving `left_all` standing, audited; the caller commits."""
    by = actor.email if isinstance(actor, Account) else str(actor)
    lifted = [r.value for r in suppression.lift_from_entry(entry, set(ADMIN_LIFTABLE), by)]
    if not lifted:
        raise ValidationError("Nothing stands on that entry but a person's own leaving")
    if SuppressionReason.LEFT_ALL not in entry.active_reasons:
        entry.reasons.append(
            SuppressionEntryReason(
                reason=SuppressionReason.LEFT_ALL,
                note="suppression removed by an admin: needs a fresh opt-in",
            )
        )
        suppression.sync_flags([entry.key_hash])  # lift_from_entry unflagged; left_all stands
    record(
        "suppression.removed",
        target=f"suppression:{entry.id}",
        detail={"lifted": lifted, "reason": why},
        actor=actor,
    )
    return lifted
