"""The subscriber's rights: everything held about a person (access), and erasure.

Both take an address, find the person by its canonical key and the suppression entry by its
HMAC, and write to the audit log by ids only: after an erasure the log must not hold the
address either. Erasure deletes the person, their subscriptions, consent events, bounces and
deliveries (the issues' counts keep them, folded), and leaves the suppression entry with
`erased` added to whatever reasons it had, so a bounce or complaint stays in force. Only a fresh
sign-up confirmed by its link lifts `erased`: consent evidence is deleted only here, and the
suppression entry outlives the person. `export_person` and `erase_person` commit, with their
audit record.

Erasure also reaches every other place the address may be stored (`_forget_elsewhere`):
messages to it in the built-in sink's outbox are deleted, so is any stored import upload that
holds it, delivery rows that lost their link to the person, and the address is blanked where it
was written as text (import rejects, import jobs' errors and warnings, audit details,
suppression notes), the person's name too wherever it stands beside the address. A name alone
is left: it cannot be told from someone else's. `tests/test_erasure_everywhere.py` searches every
table and the database file afterwards, so a new place that stores addresses fails there first.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from newsletter import suppression
from newsletter.addresses import Address, canonical_key, parse_address
from newsletter.audit import Actor, record
from newsletter.consent import describe_events
from newsletter.delivery.counts import fold_and_delete
from newsletter.errors import NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.imports.retention import discard_uploads_mentioning
from newsletter.mail.addresses import ascii_domain
from newsletter.models import (
    AllowedTestAddress,
    AuditEvent,
    Bounce,
    ConsentEvent,
    ConsentWording,
    Delivery,
    ImportJob,
    ImportReject,
    Issue,
    MailingList,
    OutboxMessage,
    Subscriber,
    Subscription,
    SuppressionEntry,
    SuppressionEntryReason,
    SuppressionReason,
)
from newsletter.models.base import changed_rows, utcnow
from newsletter.subscriptions.people import find_subscriber


def lookup_address(raw: str) -> Address:
    """The address as the person gave it; a stored one that no longer validates still works."""
    try:
        return parse_address(raw)
    except ValidationError:
        text = (raw or "").strip()
        if "@" not in text:
            raise
        return Address(email=text, key=canonical_key(text))


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_person(raw_address: str, actor: Actor) -> dict:
    """Everything held about the address, as JSON-ready data; audited. NotFoundError if none."""
    address = lookup_address(raw_address)
    subscriber = find_subscriber(address.key)
    entry = suppression.find_entry(address.key)
    if subscriber is None and entry is None:
        raise NotFoundError("nothing is held about that address")
    data = {
        "exported_at": utcnow().isoformat(),
        "address": address.email,
        "profile": _profile(subscriber) if subscriber else None,
        "subscriptions": _subscriptions(subscriber) if subscriber else [],
        "consent_events": _events(subscriber) if subscriber else [],
        "deliveries": _deliveries(subscriber) if subscriber else [],
        "bounces": _bounces(subscriber) if subscriber else [],
        "suppression": _suppression(entry) if entry else None,
    }
    if subscriber is not None:
        target = f"subscriber:{subscriber.id}"
    else:
        assert entry is not None  # one of the two was found
        target = f"suppression:{entry.id}"
    record("subscriber.exported", target=target, actor=actor)
    db.session.commit()
    return data


def _profile(subscriber: Subscriber) -> dict:
    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "attributes": subscriber.attributes,
        "created_via": subscriber.created_via.value,
        "created_at": _when(subscriber.created_at),
        "updated_at": _when(subscriber.updated_at),
        "confirmation_sent_at": _when(subscriber.confirmation_sent_at),
    }


def _subscriptions(subscriber: Subscriber) -> list[dict]:
    return [
        {
            "list": s.mailing_list.slug,
            "list_name": s.mailing_list.name,
            "status": s.status.value,
            "opt_in_level": s.opt_in_level.value,
            "requested_via": s.requested_via.value,
            "created_at": _when(s.created_at),
            "confirmed_at": _when(s.confirmed_at),
            "unsubscribed_at": _when(s.unsubscribed_at),
        }
        for s in subscriber.subscriptions
    ]


def _events(subscriber: Subscriber) -> list[dict]:
    # Looked up by possibly empty columns (an event without a list or a wording): None finds None.
    slugs: dict[int | None, str] = dict(
        db.session.execute(sa.select(MailingList.id, MailingList.slug)).all()
    )
    versions = {e.wording_version for e in subscriber.consent_events if e.wording_version}
    wordings: dict[str | None, str] = dict(
        db.session.execute(
            sa.select(ConsentWording.version, ConsentWording.text).where(
                ConsentWording.version.in_(versions)
            )
        ).all()
    )
    return [
        {
            "occurred_at": _when(e.occurred_at),
            "recorded_at": _when(e.recorded_at),
            "action": e.action.value,
            "method": e.method.value,
            "list": slugs.get(e.list_id),
            "opt_in_level": e.opt_in_level.value if e.opt_in_level else None,
            "source": e.source,
            "ip_address": e.ip_address,
            "user_agent": e.user_agent,
            "wording": wordings.get(e.wording_version),
            "source_system": e.source_system,
            "import_job_id": e.import_job_id,
            "detail": e.detail,
            # The same fields in words, as the admin's history shows them.
            "description": description,
        }
        for e, description in zip(
            subscriber.consent_events, describe_events(subscriber.consent_events), strict=True
        )
    ]


def _deliveries(subscriber: Subscriber) -> list[dict]:
    rows = db.session.execute(
        sa.select(Delivery, Issue.subject)
        .join(Issue, Issue.id == Delivery.issue_id)
        .where(Delivery.subscriber_id == subscriber.id)
        .order_by(Delivery.id)
    )
    return [
        {
            "issue_id": d.issue_id,
            "subject": subject,
            "email": d.email,
            "status": d.status.value,
            "attempts": d.attempts,
            "sent_at": _when(d.sent_at),
            "last_error": d.last_error,
        }
        for d, subject in rows
    ]


def subscriber_bounces(subscriber_id: int) -> list[Bounce]:
    return list(
        db.session.scalars(
            sa.select(Bounce).where(Bounce.subscriber_id == subscriber_id).order_by(Bounce.id)
        )
    )


def _bounces(subscriber: Subscriber) -> list[dict]:
    return [
        {
            "received_at": _when(b.received_at),
            "kind": b.kind.value,
            "issue_id": b.issue_id,
            "status_code": b.status_code,
            "diagnostic": b.diagnostic,
        }
        for b in subscriber_bounces(subscriber.id)
    ]


def _suppression(entry: SuppressionEntry) -> dict:
    return {
        "created_at": _when(entry.created_at),
        "reasons": [
            {
                "reason": r.reason.value,
                "given_at": _when(r.given_at),
                "note": r.note,
                "lifted_at": _when(r.lifted_at),
                "lifted_by": r.lifted_by,
            }
            for r in entry.reasons
        ],
    }


@dataclass(frozen=True)
class Erasure:
    subscriber_id: int | None
    entry_id: int
    reasons: list[str]
    deliveries: int


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
    return Erasure(subscriber_id, entry.id, reasons, deliveries)


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
