"""Fixtures for webhooks: a real receiver over a socket, an endpoint registered to it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from newsletter.extensions import db
from newsletter.models import WebhookDelivery
from newsletter.webhooks import endpoints
from newsletter.webhooks.dispatch import deliver_due
from newsletter.webhooks.events import EventType
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver():
    with WebhookReceiver() as running:
        yield running


@pytest.fixture
def endpoint(app, receiver, stub_broker):
    """An endpoint wanting every event, at the receiver."""
    made = endpoints.create(receiver.url, [t.value for t in EventType], "CRM", actor="test")
    return made


def deliver(endpoint_id: int) -> int:
    """Run the actor's work here, now."""
    return deliver_due(endpoint_id, seconds=5)


def deliveries(endpoint_id: int | None = None) -> list[WebhookDelivery]:
    db.session.expire_all()
    query = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(db.session.scalars(query))


def make_due(endpoint_id: int, earlier: timedelta = timedelta(0), **values) -> None:
    """Move the stored clock: every pending delivery due now (or `earlier` ago)."""
    from newsletter.models.base import utcnow

    table = WebhookDelivery.__table__
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(table)
            .where(table.c.endpoint_id == endpoint_id, table.c.status == "pending")
            .values(next_attempt_at=utcnow() - earlier, **values)
        )
