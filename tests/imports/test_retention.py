"""Evidence IP addresses carried over by an import are removed after the retention period."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from newsletter.extensions import db
from newsletter.imports.retention import blank_old_import_evidence
from newsletter.models import ConsentEvent
from newsletter.models.base import utcnow
from tests.factories import export_file


def test_old_import_events_lose_their_evidence_ip_addresses_only(run_import, news):
    """OPTIN_IP and CONFIRM_IP go; the times and everything else stay; new events untouched."""
    run_import(export_file("subscribed_members_export.csv"))
    old = utcnow() - timedelta(days=800)
    db.session.execute(
        update(ConsentEvent).where(ConsentEvent.id.in_(select(ConsentEvent.id).limit(2)))
        .values(recorded_at=old)
    )  # fmt: skip
    db.session.commit()
    assert blank_old_import_evidence() == 2
    db.session.expire_all()
    events = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    for event in events[:2]:
        assert not {"OPTIN_IP", "CONFIRM_IP"} & set(event.detail["evidence"])
        assert "OPTIN_TIME" in event.detail["evidence"] and event.detail["sha256"]
    assert "CONFIRM_IP" in events[2].detail["evidence"]
    assert blank_old_import_evidence() == 0
