"""The suppression list (DESIGN.md invariant 4): keyed by an HMAC, every reason kept."""

from __future__ import annotations

import hashlib
import hmac

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from newsletter.extensions import db
from newsletter.models import SuppressionEntry, SuppressionEntryReason, SuppressionReason
from newsletter.models.base import utcnow
from newsletter.models.enums import SELF_LIFTABLE_REASONS
from newsletter.settings import suppression_key


def address_hash(key: str) -> str:
    """HMAC-SHA256 of a canonical address key under the suppression key."""
    return hmac.new(suppression_key(), key.encode(), hashlib.sha256).hexdigest()


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
        entry = find_entry(key)
    return entry


def suppress(key: str, reason: SuppressionReason, note: str = "") -> bool:
    """Give the address `reason`; False if that reason already stands. The caller commits."""
    entry = _entry_for(key)
    if reason in entry.active_reasons:
        return False
    entry.reasons.append(SuppressionEntryReason(reason=reason, note=note[:500]))
    return True


def lift(key: str, reasons: set[SuppressionReason], by: str) -> list[SuppressionReason]:
    """Lift the given reasons that stand; return those lifted. The caller commits."""
    entry = find_entry(key)
    if entry is None:
        return []
    lifted = []
    for row in entry.reasons:
        if row.lifted_at is None and row.reason in reasons:
            row.lifted_at = utcnow()
            row.lifted_by = by[:100]
            lifted.append(row.reason)
    return lifted


def lift_self_liftable(key: str, by: str) -> list[SuppressionReason]:
    """What a person lifts by confirming a sign-up or rejoining from a preferences link."""
    return lift(key, set(SELF_LIFTABLE_REASONS), by)
