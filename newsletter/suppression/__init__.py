"""The suppression list: addresses that must not be mailed, keyed by an HMAC, every reason kept.

Entries hold an HMAC of the address's canonical key, never the address, made with a key of
their own (stored in the database unless SUPPRESSION_KEY is set) so that rotating SECRET_KEY
never forgets a suppression. Each entry keeps every reason it was given; lifting stamps a
reason, never deletes it. A person lifts `left_all`, `erased` and `imported_unsubscribed` by
opting in again; the other reasons only an admin lifts. `hasher`/`address_hash` and
`standing_hashes` are the one hash and the one "reason still standing" query; `suppressed_sql`
is that query as a test of a stored hash (each person keeps theirs in `subscriber.key_hash`).
`sync_flags` copies its answer into `subscriber.suppressed`, a flag for the subscribers page's
filter and count only (the send path always asks `suppressed_sql`): every change of a standing
reason here, in manual.py and in the import's bulk writes calls it in the same transaction.

Commits: `suppress`, `lift` and `lift_self_liftable` change the session and leave the commit
to their caller, which commits them with the change that caused them; manual.py's functions,
called by the admin views, commit.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from newsletter import webhooks
from newsletter.extensions import db
from newsletter.keys import get_setting
from newsletter.models import (
    AppSetting,
    Subscriber,
    SuppressionEntry,
    SuppressionEntryReason,
    SuppressionReason,
)
from newsletter.models.base import utcnow
from newsletter.models.enums import SELF_LIFTABLE_REASONS

SUPPRESSION_KEY = "suppression_key"  # its name among the stored settings
_STORED_KEY_CACHE = "newsletter.stored_suppression_key"
_BLOCK = 64  # SHA-256's block size in bytes


def suppression_key() -> bytes:
    """SUPPRESSION_KEY from the environment, else the one generated once into the database.

    It lives apart from SECRET_KEY so that rotating SECRET_KEY never forgets a suppression.
    """
    configured = current_app.config.get("SUPPRESSION_KEY")
    if configured:
        return configured.encode()
    # The stored key never changes once written, so each process reads it once, not on
    # every sign-up (it would otherwise be a query per hash).
    cached = current_app.extensions.get(_STORED_KEY_CACHE)
    if cached is None:
        cached = current_app.extensions[_STORED_KEY_CACHE] = _stored_suppression_key()
    return cached


def _stored_suppression_key() -> bytes:
    stored = get_setting(SUPPRESSION_KEY)
    if stored is None:
        try:
            db.session.add(AppSetting(key=SUPPRESSION_KEY, value=secrets.token_urlsafe(48)))
            db.session.commit()
        except IntegrityError:
            # Another process generated it first; use theirs.
            db.session.rollback()
        stored = get_setting(SUPPRESSION_KEY)
    assert stored is not None  # written just now, here or by the other process
    return stored.encode()


def hasher(secret: bytes | None = None) -> Callable[[str], str]:
    """The suppression list's hash: HMAC-SHA256 (RFC 2104) of a canonical address key, hex.

    The one definition of the hash; `secret` defaults to the suppression key. Bulk callers
    (the import hashes every row) take the function once and call it per address.
    """
    return _keyed_hash(suppression_key() if secret is None else secret)


@lru_cache(maxsize=8)
def _keyed_hash(secret: bytes) -> Callable[[str], str]:
    # HMAC-SHA256 with the padded key's inner and outer hash states made once per key, so each
    # address costs two copies and two updates; hmac.new would set the key up on every call.
    key = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    key = key.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def hash_key(canonical: str) -> str:
        step = inner.copy()
        step.update(canonical.encode())
        result = outer.copy()
        result.update(step.digest())
        return result.hexdigest()

    return hash_key


def address_hash(key: str) -> str:
    """The suppression list's hash of one canonical address key."""
    return hasher()(key)


# A suppression reason stands until it is lifted; this is the one test of that.
STANDING = SuppressionEntryReason.lifted_at.is_(None)


def standing_hashes(key_hashes: Iterable[str] | None = None) -> sa.Select:
    """SELECT the key hash of every entry with a standing reason (among `key_hashes` if given)."""
    query = (
        select(SuppressionEntry.key_hash)
        .join(SuppressionEntryReason, SuppressionEntryReason.entry_id == SuppressionEntry.id)
        .where(STANDING)
        .distinct()
    )
    if key_hashes is not None:
        query = query.where(SuppressionEntry.key_hash.in_(list(key_hashes)))
    return query


def suppressed_sql(key_hash: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    """SQL: true when a reason stands against the address whose hash is `key_hash`.

    The ledger, the send's count and the subscribers page's filter all test people with this,
    on `subscriber.key_hash`: an EXISTS, which the database plans as a semi-join (or, negated,
    an anti-join) served by the suppression list's unique hash and the person's hash index.
    """
    return (
        sa.exists()
        .where(SuppressionEntry.key_hash == key_hash)
        .where(SuppressionEntryReason.entry_id == SuppressionEntry.id)
        .where(STANDING)
    )


def sync_flags(
    key_hashes: Iterable[str] | None = None, connection: sa.Connection | None = None
) -> None:
    """Set `subscriber.suppressed` to `suppressed_sql` for the people with these hashes (for
    every person whose flag is wrong, when None), in one UPDATE, in the caller's transaction.

    The flag is display-only (the subscribers page's "suppressed" filter and count); mail is
    never sent or held on it. Through the session unless `connection` (a bulk writer's) is
    given; the session is flushed first, so reasons it holds unwritten count.
    """
    table = Subscriber.__table__
    standing = suppressed_sql(table.c.key_hash)
    statement = sa.update(table).where(table.c.suppressed != standing)
    if key_hashes is not None:
        hashes = sorted(set(key_hashes))
        if not hashes:
            return
        statement = statement.where(table.c.key_hash.in_(hashes))
    statement = statement.values(suppressed=standing)
    if connection is not None:
        connection.execute(statement)
        return
    db.session.flush()
    db.session.execute(statement)


def find_entry(key: str) -> SuppressionEntry | None:
    return db.session.scalar(
        select(SuppressionEntry).where(SuppressionEntry.key_hash == address_hash(key))
    )


def active_reasons(key: str) -> set[SuppressionReason]:
    """Every reason not yet lifted for this address."""
    entry = find_entry(key)
    return set(entry.active_reasons) if entry is not None else set()


def blocking_reasons(key: str) -> set[SuppressionReason]:
    """Reasons only an admin may lift; while one stands, no mail at all goes to the address."""
    return active_reasons(key) - SELF_LIFTABLE_REASONS


def _entry_for(key: str) -> SuppressionEntry:
    entry = find_entry(key)
    if entry is not None:
        return entry
    entry = SuppressionEntry(key_hash=address_hash(key))
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:
        # Another request suppressed the same address at the same moment.
        winner = find_entry(key)
        assert winner is not None  # its insert is what conflicted with ours
        return winner
    return entry


def suppress(key: str, reason: SuppressionReason, note: str = "") -> bool:
    """Give the address `reason`; False if that reason already stands. The caller commits."""
    entry = _entry_for(key)
    if reason in entry.active_reasons:
        return False
    entry.reasons.append(SuppressionEntryReason(reason=reason, note=note[:500]))
    sync_flags([entry.key_hash])
    webhooks.emit_for_address(
        webhooks.EventType.SUBSCRIBER_SUPPRESSED, key, {"reason": reason.value}
    )
    return True


def lift(key: str, reasons: set[SuppressionReason], by: str) -> list[SuppressionReason]:
    """Lift the given reasons that stand; return those lifted. The caller commits."""
    entry = find_entry(key)
    return lift_from_entry(entry, reasons, by) if entry is not None else []


def lift_from_entry(
    entry: SuppressionEntry, reasons: set[SuppressionReason], by: str
) -> list[SuppressionReason]:
    """Lift the given reasons that stand on `entry`; return those lifted. The caller commits."""
    lifted = []
    for row in entry.reasons:
        if row.standing and row.reason in reasons:
            row.lifted_at = utcnow()
            row.lifted_by = by[:100]
            lifted.append(row.reason)
    if lifted:
        sync_flags([entry.key_hash])
    return lifted


def lift_self_liftable(key: str, by: str) -> list[SuppressionReason]:
    """What a person lifts by confirming a sign-up or rejoining from a preferences link."""
    return lift(key, set(SELF_LIFTABLE_REASONS), by)
