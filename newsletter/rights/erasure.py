"""Erasure: the person's rows go, a suppression entry stays, and every copy of the address
elsewhere is deleted or blanked (`_forget_elsewhere`)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from newsletter import suppression, webhooks
from newsletter.addresses import Address
from newsletter.audit import Actor, record
from newsletter.delivery.counts import fold_and_delete
from newsletter.errors import NotFoundError
from newsletter.extensions import db
from newsletter.imports.retention import discard_uploads_mentioning
from newsletter.mail.addresses import ascii_domain
from newsletter.models import (
    AllowedTestAddress,
    AuditEvent,
    Bounce,
    ConsentEvent,
    Delivery,
    ImportJob,
    ImportReject,
    OutboxMessage,
    Subscriber,
    Subscription,
    SuppressionEntryReason,
    SuppressionReason,
)
from newsletter.models.base import changed_rows
from newsletter.rights.access import lookup_address
from newsletter.subscriptions.people import find_subscriber


@dataclass(frozen=True)
class Erasure:
    subscriber_id: int | None
    entry_id: int
    reasons: list[str]
    deliveries: int
    # Every spelling of the address looked for: for the places outside the database
    # (the queue's failed messages) that the caller then clears. Never logged or shown.
    addresses: tuple[str, ...] = ()


def erase_person(raw_address: str, actor: Actor) -> Erasure:
    """Delete everything about the address but its suppression entry (`erased` added)."""
    address = lookup_address(raw_address)
    subscriber = find_subscriber(address.key)
    if subscriber is None and suppression.find_entry(address.key) is None:
        raise NotFoundError("nothing is held about that address")
    deliveries = 0
    subscriber_id = subscriber.id if subscriber else None
    mentions = Mentions.of(address, subscriber.name if subscriber else "")
    if subscriber is not None:
        deliveries = _delete_person(subscriber)
    forgotten = _forget_elsewhere(mentions)
    deliveries += forgotten.pop("deliveries")
    suppression.suppress(address.key, SuppressionReason.ERASED)
    webhooks.note_erasure(subscriber_id)  # their undelivered events dropped; subscriber.erased
    entry = suppression.find_entry(address.key)
    assert entry is not None  # suppressed just above
    reasons = sorted(r.value for r in entry.active_reasons)
    target = f"subscriber:{subscriber_id}" if subscriber_id else f"suppression:{entry.id}"
    record(
        "subscriber.erased",
        target=target,
        detail={
            "suppression_entry": entry.id,
            "reasons": reasons,
            "deliveries": deliveries,
            **forgotten,
        },
        actor=actor,
    )
    db.session.commit()
    return Erasure(subscriber_id, entry.id, reasons, deliveries, mentions.forms)


def _delete_person(subscriber: Subscriber) -> int:
    """Delete the person and all rows about them; returns the deliveries folded."""
    person = subscriber.id
    delivery_ids = db.session.scalars(
        sa.select(Delivery.id).where(Delivery.subscriber_id == person)
    ).all()
    folded = fold_and_delete(delivery_ids)
    # Explicit deletes: SQLite enforces no ON DELETE CASCADE here.
    db.session.execute(sa.delete(Bounce).where(Bounce.subscriber_id == person))
    db.session.execute(sa.delete(ConsentEvent).where(ConsentEvent.subscriber_id == person))
    db.session.execute(sa.delete(Subscription).where(Subscription.subscriber_id == person))
    db.session.execute(sa.delete(Subscriber).where(Subscriber.id == person))
    db.session.expunge(subscriber)
    return folded


ERASED = "[erased]"  # what stands where an erased person's address or name was written


@dataclass(frozen=True)
class Mentions:
    """An erased person's address, in every spelling the product may have stored it, and
    their name: what to look for in text, and what to blank."""

    forms: tuple[str, ...]
    address: re.Pattern[str]
    name: re.Pattern[str] | None
    # The longest run of plain characters of the address: a LIKE on it finds the candidate
    # rows in SQL (JSON text escapes other characters), and Python then checks each one.
    probe: str

    @classmethod
    def of(cls, address: Address, name: str) -> Mentions:
        forms = {address.email, address.key}
        local, _, domain = address.email.rpartition("@")
        # A stored address that no longer validates keeps its own spelling only.
        with contextlib.suppress(Exception):
            forms.add(f"{local}@{ascii_domain(domain)}")
        ordered = tuple(sorted(forms, key=len, reverse=True))
        name = (name or "").strip()
        runs = re.findall(r"[A-Za-z0-9@._+-]+", address.email)
        return cls(
            forms=ordered,
            address=_pattern(ordered),
            # As a whole word: "Ann" is blanked, "Annual" is not.
            name=re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE) if name else None,
            probe=max(runs, key=len, default=""),
        )

    def found_in(self, value: Any) -> bool:
        if isinstance(value, str):
            return bool(self.address.search(value))
        if isinstance(value, bytes):
            return self.found_in(value.decode("utf-8", "replace"))
        if isinstance(value, dict):
            return any(self.found_in(k) or self.found_in(v) for k, v in value.items())
        if isinstance(value, list):
            return any(self.found_in(v) for v in value)
        return False

    def blanked(self, value: Any) -> Any:
        """The value with the address, and the name, replaced by ERASED (JSON walked)."""
        if isinstance(value, str):
            value = self.address.sub(ERASED, value)
            return self.name.sub(ERASED, value) if self.name else value
        if isinstance(value, dict):
            return {self.blanked(k): self.blanked(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.blanked(v) for v in value]
        return value

    def like(self, column: sa.ColumnElement | InstrumentedAttribute) -> sa.ColumnElement[bool]:
        """A SQL condition true at least for every row whose column mentions the address."""
        if len(self.probe) < 3:
            return sa.true()
        escaped = re.sub(r"([\\%_])", r"\\\1", self.probe)
        return sa.cast(column, sa.Text).ilike(f"%{escaped}%", escape="\\")


def _pattern(texts: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(re.escape(t) for t in texts), re.IGNORECASE)


def _forget_elsewhere(mentions: Mentions) -> dict[str, int]:
    """Remove the address (and the name beside it) from every place but the person's own rows;
    returns how many of each were deleted or blanked, for the erasure's audit record."""
    return {
        "deliveries": fold_and_delete(_unlinked_deliveries(mentions)),
        "outbox_messages": _delete_outbox_messages(mentions),
        "uploads": discard_uploads_mentioning(mentions.forms),
        "test_addresses": _delete_test_addresses(mentions),
        "blanked": sum(
            _blank_mentions(table, columns, mentions)
            for table, columns in (
                (ImportReject.__table__, ("value",)),
                (ImportJob.__table__, ("file_name", "error", "warnings")),
                (AuditEvent.__table__, ("target", "detail")),
                (SuppressionEntryReason.__table__, ("note",)),
            )
        ),
    }


def _unlinked_deliveries(mentions: Mentions) -> list[int]:
    """Delivery rows of the address whose link to a person was cut (ON DELETE SET NULL)."""
    rows = db.session.execute(
        sa.select(Delivery.id, Delivery.email).where(
            Delivery.subscriber_id.is_(None), mentions.like(Delivery.email)
        )
    )
    return [row.id for row in rows if mentions.found_in(row.email)]


def _delete_test_addresses(mentions: Mentions) -> int:
    """The address on the admins' list of test-send addresses, if it was there: deleted."""
    table = AllowedTestAddress.__table__
    result = db.session.execute(
        table.delete().where(
            sa.or_(table.c.email_key.in_(mentions.forms), table.c.email.in_(mentions.forms))
        )
    )
    return changed_rows(result)


def _delete_outbox_messages(mentions: Mentions) -> int:
    """Messages the built-in sink captured for the address: deleted whole."""
    table = OutboxMessage.__table__
    rows = db.session.execute(
        sa.select(table.c.id, table.c.recipients).where(mentions.like(table.c.recipients))
    )
    ids = [row.id for row in rows if mentions.found_in(row.recipients)]
    if ids:
        db.session.execute(table.delete().where(table.c.id.in_(ids)))
    return len(ids)


def _blank_mentions(table: sa.Table, columns: Sequence[str], mentions: Mentions) -> int:
    """Blank the address, and the name, in the rows of `table` whose `columns` mention the
    address; Core, so append-only rules of the ORM do not apply. Returns the rows changed."""
    cols = [table.c[name] for name in columns]
    key = next(iter(table.primary_key.columns))
    rows = db.session.execute(
        sa.select(key, *cols).where(sa.or_(*(mentions.like(col) for col in cols)))
    ).all()
    changed = 0
    for row in rows:
        values = {name: getattr(row, name) for name in columns}
        if not any(mentions.found_in(value) for value in values.values()):
            continue
        blanked = {name: mentions.blanked(value) for name, value in values.items()}
        db.session.execute(table.update().where(key == row[0]).values(**blanked))
        changed += 1
    return changed
