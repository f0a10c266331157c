"""Privacy by default for carried-over evidence: the IP addresses inside old import events.

The retention job blanks each event's `ip_address` after CONSENT_RETENTION_DAYS; an import
event also keeps the old provider's OPTIN_IP and CONFIRM_IP, as given, in its detail. This
removes those too, after the same period, leaving the times and the rest of the evidence.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from newsletter.extensions import db
from newsletter.models import ConsentEvent, ConsentMethod
from newsletter.models.base import utcnow

EVIDENCE_IPS = ("OPTIN_IP", "CONFIRM_IP")
PAGE = 1000


def blank_old_import_evidence(now: datetime | None = None) -> int:
    """Drop evidence IP addresses from import events older than the period; returns count."""
    days = int(current_app.config.get("CONSENT_DETAILS_RETENTION_DAYS", 730))
    cutoff = (now or utcnow()) - timedelta(days=days)
    table = ConsentEvent.__table__
    blanked, last_id = 0, 0
    while True:
        rows = db.session.execute(
            sa.select(table.c.id, table.c.detail)
            .where(
                table.c.id > last_id,
                table.c.method == ConsentMethod.IMPORT.value,
                table.c.recorded_at < cutoff,
                sa.cast(table.c.detail, sa.Text).like('%\\_IP"%', escape="\\"),
            )
            .order_by(table.c.id)
            .limit(PAGE)
        ).all()
        if not rows:
            return blanked
        changes = []
        for row in rows:
            detail = dict(row.detail or {})
            evidence = {k: v for k, v in (detail.get("evidence") or {}).items()
                        if k not in EVIDENCE_IPS}  # fmt: skip
            if evidence != detail.get("evidence"):
                changes.append({"b_id": row.id, "b_detail": {**detail, "evidence": evidence}})
        if changes:
            # Core, not the ORM: consent events refuse ORM rewrites (AppendOnlyError).
            db.session.execute(
                table.update()
                .where(table.c.id == sa.bindparam("b_id"))
                .values(detail=sa.bindparam("b_detail")),
                changes,
            )
        db.session.commit()
        blanked += len(changes)
        last_id = rows[-1].id
