"""Writing events: one outbox row per event, in the transaction of the change it reports.

`emit` is called by the domain functions (sign-up, confirmation, unsubscribe, suppression,
erasure, an issue finishing, a bounce, an import finishing) before they commit: the event and
one `pending` delivery per endpoint that wants its type are written with the change, so a
rolled-back change leaves no event and a committed one always has its event. Once the session
commits, a `deliver_webhooks` message per endpoint says "go look"; a lost message only delays
delivery until the sweep (dispatch.py).

Which endpoints want which type is read once per process every CACHE_SECONDS (and at once
after an endpoint changes in this process), so an event nobody wants costs no query.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy import event as orm_event

from newsletter.background import enqueue
from newsletter.extensions import current_app_object, db
from newsletter.models import Subscriber, WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint
from newsletter.models import WebhookEvent as EventRow
from newsletter.models.base import utcnow
from newsletter.webhooks.events import EventType

CACHE_SECONDS = 5.0
_CACHE = "webhooks.wanted"
_PENDING_NUDGES = "webhooks.nudges"

EVENT = EventRow.__table__
DELIVERY = WebhookDelivery.__table__
ENDPOINT = WebhookEndpoint.__table__
OPEN = (WebhookDeliveryStatus.PENDING, WebhookDeliveryStatus.HELD)


@dataclass(frozen=True)
class _Wanted:
    read_at: float
    by_type: dict[str, tuple[int, ...]]
    any_endpoint: bool


def forget_wanted(app: Flask | None = None) -> None:
    """Read the endpoints again at the next event (this process changed one)."""
    (app or current_app_object()).extensions.pop(_CACHE, None)


def _wanted() -> _Wanted:
    app = current_app_object()
    cached: _Wanted | None = app.extensions.get(_CACHE)
    now = time.monotonic()
    if cached is not None and now - cached.read_at < CACHE_SECONDS:
        return cached
    by_type: dict[str, list[int]] = {}
    # Its own connection: the caller's session (and whether it is in a transaction) is untouched.
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(ENDPOINT.c.id, ENDPOINT.c.event_types)).all()
    for endpoint_id, types in rows:
        for event_type in types.split():
            by_type.setdefault(event_type, []).append(endpoint_id)
    fresh = _Wanted(now, {k: tuple(v) for k, v in by_type.items()}, bool(rows))
    app.extensions[_CACHE] = fresh
    return fresh


def wanted(event_type: EventType) -> bool:
    """True when an endpoint (enabled or not: a disabled one keeps its backlog) wants it."""
    return bool(_wanted().by_type.get(event_type.value))


def begin_if_wanted(event_type: EventType) -> None:
    """Open the session's transaction when the event will be written, so the change and its
    event commit together (a sign-up otherwise writes in one autocommitted statement)."""
    if wanted(event_type):
        db.session.connection()


def envelope(event_type: str, data: dict, at: str) -> dict:
    """The JSON body of Standard Webhooks: type, timestamp and data."""
    return {"type": event_type, "timestamp": at, "data": data}


def emit(
    event_type: EventType,
    subscriber_id: int | None,
    data: dict,
    *,
    connection: sa.Connection | None = None,
) -> int | None:
    """Write the event and its deliveries in the caller's transaction; the event id, or None
    when no endpoint wants it. `data` holds ids and states, never an address or a name."""
    endpoint_ids = _wanted().by_type.get(event_type.value)
    if not endpoint_ids:
        return None
    now = utcnow()
    body = {"subscriber_id": subscriber_id, **data} if subscriber_id is not None else data
    payload = envelope(event_type.value, body, now.isoformat().replace("+00:00", "Z"))
    in_session = connection is None
    writer = db.session.connection() if connection is None else connection
    event_id = writer.execute(
        sa.insert(EVENT)
        .values(type=event_type.value, subscriber_id=subscriber_id, payload=payload, created_at=now)
        .returning(EVENT.c.id)
    ).scalar_one()
    retry_until = now + timedelta(hours=float(current_app.config["WEBHOOK_RETRY_HOURS"]))
    writer.execute(
        sa.insert(DELIVERY),
        [
            {
                "event_id": event_id,
                "endpoint_id": endpoint_id,
                "subscriber_id": subscriber_id,
                "status": WebhookDeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "retry_until": retry_until,
                "created_at": now,
            }
            for endpoint_id in endpoint_ids
        ],
    )
    _nudge_after_commit(endpoint_ids, in_session)
    return event_id


def emit_for_address(event_type: EventType, email_key: str, data: dict) -> int | None:
    """`emit` for the person holding the address (by canonical key), if anyone does."""
    if not wanted(event_type):
        return None
    subscriber_id = db.session.scalar(
        sa.select(Subscriber.id).where(Subscriber.email_key == email_key)
    )
    if subscriber_id is None:
        return None  # nobody held: an event naming no one would tell a receiver nothing
    return emit(event_type, subscriber_id, data)


def note_erasure(subscriber_id: int | None) -> None:
    """An erased person's undelivered events are dropped; then `subscriber.erased` is written."""
    if subscriber_id is None or not _wanted().any_endpoint:
        return
    db.session.execute(
        sa.update(DELIVERY)
        .where(DELIVERY.c.subscriber_id == subscriber_id, DELIVERY.c.status.in_(OPEN))
        .values(status=WebhookDeliveryStatus.DROPPED, claimed_until=None)
    )
    emit(EventType.SUBSCRIBER_ERASED, subscriber_id, {})


def _nudge_after_commit(endpoint_ids: tuple[int, ...], in_session: bool) -> None:
    """Enqueue a delivery message per endpoint once the event is committed."""
    if not in_session:
        # A Core transaction of the caller's: its commit cannot be awaited here, so the
        # message waits a second; the sweep covers a longer transaction.
        for endpoint_id in endpoint_ids:
            enqueue.deliver_webhooks(endpoint_id, delay_ms=1000)
        return
    session = db.session()
    pending: set[int] | None = session.info.get(_PENDING_NUDGES)
    if pending is None:
        pending = session.info[_PENDING_NUDGES] = set()
        orm_event.listen(session, "after_commit", _send_nudges, once=True)
        orm_event.listen(session, "after_soft_rollback", _forget_nudges, once=True)
    pending.update(endpoint_ids)


def _send_nudges(session) -> None:
    for endpoint_id in sorted(session.info.pop(_PENDING_NUDGES, ())):
        enqueue.deliver_webhooks(endpoint_id)


def _forget_nudges(session, previous_transaction) -> None:
    session.info.pop(_PENDING_NUDGES, None)
