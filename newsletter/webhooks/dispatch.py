"""Delivering events: claim a batch of one endpoint's due deliveries, POST each, record.

- **Claim.** One `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING` (the lock
  clause is PostgreSQL's; SQLite serialises writers) sets `claimed_until` on up to
  WEBHOOK_BATCH_SIZE pending rows that are due and unclaimed (or whose claim lapsed: a dead
  worker's), so any number of workers share an endpoint without sending a row twice at once.
- **Order per subscriber.** A row is claimed only when no earlier event of the same person is
  still pending for the endpoint (claimed or not). A batch thus holds at most one event per
  person, and a person's next event waits until the one before is delivered or given up.
- **Outcome.** A 2xx is `delivered`. Anything else is an attempt failed: due again after
  WEBHOOK_RETRY_DELAY doubled per attempt (at most WEBHOOK_MAX_DELAY), or `failed` once past
  its `retry_until` (a day after it was written, resent or replayed). An endpoint that gives no
  answer at all fails the rest of the batch with it rather than wait on each time-out.
- **Disabling.** An endpoint's `failing_since` is set by its first failure after a success and
  cleared by a success; when every attempt has failed for WEBHOOK_DISABLE_AFTER_HOURS it is
  disabled with the reason (endpoints.py: re-enabling holds its backlog for replay).
- **Messages.** A batch that came back full enqueues the next message for the endpoint before
  it sends, so other worker threads take the following batches meanwhile; a message then
  claims again until nothing is due or its time is up, and enqueues a delayed message for the
  endpoint's next retry. The sweep enqueues any endpoint whose due rows nobody took for
  SWEEP_AFTER seconds: a lost message or a dead worker only delays delivery.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from newsletter.background import enqueue
from newsletter.extensions import db
from newsletter.models import WebhookDeliveryStatus
from newsletter.models.base import utcnow
from newsletter.webhooks.outbox import DELIVERY, ENDPOINT, EVENT
from newsletter.webhooks.sending import Attempt, body_bytes, pool, post

logger = logging.getLogger(__name__)

PENDING = WebhookDeliveryStatus.PENDING
# A message claims again for this long at most, then hands over to a new message.
MESSAGE_SECONDS = 20.0
RECORD_EVERY = 50
# The sweep enqueues an endpoint whose due rows have waited this long unclaimed.
SWEEP_AFTER = timedelta(seconds=30)


@dataclass
class Claimed:
    delivery_id: int
    event_id: int
    attempts: int
    retry_until: datetime
    payload: dict


@dataclass(frozen=True)
class Endpoint:
    id: int
    url: str
    secret: str
    failing_since: datetime | None


def message_id(event_id: int) -> str:
    """The `webhook-id` of an event: the same on every attempt and every endpoint."""
    return f"evt_{event_id}"


def _claim_seconds() -> float:
    """How long a batch holds its rows unrenewed: three request time-outs (renewed every
    quarter of it between requests), so a dead worker's rows are free again soon after."""
    return max(5.0, 3 * float(current_app.config["WEBHOOK_TIMEOUT"]))


def claim(endpoint_id: int, size: int, now: datetime) -> list[Claimed]:
    """Claim up to `size` due deliveries of the endpoint, at most one per person, in order."""
    earlier = DELIVERY.alias("earlier")
    # The person's earliest pending event, as a scalar subquery: PostgreSQL runs it per row as
    # one index probe (ix_webhook_delivery_order), where NOT EXISTS became an anti-join that
    # read every pending row per candidate when its statistics were stale.
    first_of_person = (
        sa.select(sa.func.min(earlier.c.event_id))
        .where(
            earlier.c.endpoint_id == endpoint_id,
            earlier.c.subscriber_id == DELIVERY.c.subscriber_id,
            earlier.c.status == PENDING,
        )
        .scalar_subquery()
    )
    due = (
        sa.select(DELIVERY.c.id)
        .where(
            DELIVERY.c.endpoint_id == endpoint_id,
            DELIVERY.c.status == PENDING,
            DELIVERY.c.next_attempt_at <= now,
            sa.or_(DELIVERY.c.claimed_until.is_(None), DELIVERY.c.claimed_until < now),
            sa.or_(DELIVERY.c.subscriber_id.is_(None), DELIVERY.c.event_id == first_of_person),
        )
        .order_by(DELIVERY.c.event_id)
        .limit(size)
        .with_for_update(skip_locked=True)
    )
    until = now + timedelta(seconds=_claim_seconds())
    with db.engine.begin() as connection:
        rows = connection.execute(
            sa.update(DELIVERY)
            .where(DELIVERY.c.id.in_(due.scalar_subquery()))
            .values(claimed_until=until)
            .returning(
                DELIVERY.c.id, DELIVERY.c.event_id, DELIVERY.c.attempts, DELIVERY.c.retry_until
            )
        ).all()
        if not rows:
            return []
        payloads = dict(
            connection.execute(
                sa.select(EVENT.c.id, EVENT.c.payload).where(
                    EVENT.c.id.in_([row.event_id for row in rows])
                )
            ).all()
        )
    claimed = [
        Claimed(r.id, r.event_id, r.attempts, r.retry_until, payloads[r.event_id]) for r in rows
    ]
    claimed.sort(key=lambda c: c.event_id)
    return claimed


def _backoff(attempts: int) -> timedelta:
    config = current_app.config
    delay = float(config["WEBHOOK_RETRY_DELAY"]) * 2 ** max(0, attempts - 1)
    return timedelta(seconds=min(delay, float(config["WEBHOOK_MAX_DELAY"])))


def _renew(claimed: list[Claimed]) -> None:
    """Hold the batch's unsent rows a while longer (a slow endpoint, not a dead worker)."""
    until = utcnow() + timedelta(seconds=_claim_seconds())
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(DELIVERY)
            .where(
                DELIVERY.c.id.in_([c.delivery_id for c in claimed]), DELIVERY.c.status == PENDING
            )
            .values(claimed_until=until)
        )


def send_batch(
    endpoint: Endpoint, claimed: list[Claimed]
) -> list[tuple[Claimed, Attempt, datetime]]:
    """POST each claimed event in order; one dead endpoint fails the rest of the batch at once."""
    manager = pool(float(current_app.config["WEBHOOK_TIMEOUT"]))
    outcomes: list[tuple[Claimed, Attempt, datetime]] = []
    renewed = time.monotonic()
    for n, item in enumerate(claimed):
        at = utcnow()
        attempt = post(
            manager,
            endpoint.url,
            endpoint.secret,
            message_id(item.event_id),
            at,
            body_bytes(item.payload),
        )
        outcomes.append((item, attempt, at))
        if attempt.unreachable:
            outcomes += [(rest, attempt, at) for rest in claimed[n + 1 :]]
            break
        if time.monotonic() - renewed > _claim_seconds() / 4:
            _renew(claimed[n + 1 :])
            renewed = time.monotonic()
    return outcomes


def record(endpoint: Endpoint, outcomes: list[tuple[Claimed, Attempt, datetime]]) -> None:
    """Write each attempt's outcome, and the endpoint's failing streak (or its disabling)."""
    if not outcomes:
        return
    now = utcnow()
    delivered = [(c, a, at) for c, a, at in outcomes if a.delivered]
    failed = [(c, a, at) for c, a, at in outcomes if not a.delivered]
    with db.engine.begin() as connection:
        if delivered:
            connection.execute(
                sa.update(DELIVERY)
                .where(DELIVERY.c.id == sa.bindparam("b_id"), DELIVERY.c.status == PENDING)
                .values(
                    status=WebhookDeliveryStatus.DELIVERED,
                    attempts=DELIVERY.c.attempts + 1,
                    delivered_at=sa.bindparam("b_at"),
                    last_attempt_at=sa.bindparam("b_at"),
                    last_status=sa.bindparam("b_status"),
                    last_error=None,
                    claimed_until=None,
                ),
                [
                    {"b_id": c.delivery_id, "b_at": at, "b_status": a.status}
                    for c, a, at in delivered
                ],
            )
        if failed:
            connection.execute(
                sa.update(DELIVERY)
                .where(DELIVERY.c.id == sa.bindparam("b_id"), DELIVERY.c.status == PENDING)
                .values(
                    status=sa.bindparam("b_final"),
                    attempts=DELIVERY.c.attempts + 1,
                    next_attempt_at=sa.bindparam("b_next"),
                    last_attempt_at=sa.bindparam("b_at"),
                    last_status=sa.bindparam("b_status"),
                    last_error=sa.bindparam("b_error"),
                    claimed_until=None,
                ),
                [_failure_values(c, a, at, now) for c, a, at in failed],
            )
        _note_streak(connection, endpoint, succeeded=bool(delivered), now=now)


def _failure_values(item: Claimed, attempt: Attempt, at: datetime, now: datetime) -> dict:
    give_up = now >= item.retry_until
    return {
        "b_id": item.delivery_id,
        "b_final": WebhookDeliveryStatus.FAILED if give_up else PENDING,
        "b_next": now + _backoff(item.attempts + 1),
        "b_at": at,
        "b_status": attempt.status,
        "b_error": (attempt.error or "")[:200] or None,
    }


def _note_streak(
    connection: sa.Connection, endpoint: Endpoint, *, succeeded: bool, now: datetime
) -> None:
    this = ENDPOINT.c.id == endpoint.id
    if succeeded:
        if endpoint.failing_since is not None:
            connection.execute(sa.update(ENDPOINT).where(this).values(failing_since=None))
        return
    if endpoint.failing_since is None:
        connection.execute(
            sa.update(ENDPOINT)
            .where(this, ENDPOINT.c.failing_since.is_(None))
            .values(failing_since=now)
        )
        return
    hours = float(current_app.config["WEBHOOK_DISABLE_AFTER_HOURS"])
    if now - endpoint.failing_since >= timedelta(hours=hours):
        disabled = connection.execute(
            sa.update(ENDPOINT)
            .where(this, ENDPOINT.c.enabled.is_(True))
            .values(
                enabled=False,
                disabled_at=now,
                disabled_reason=f"Every delivery failed for {hours:g} hours: turned off.",
            )
        )
        if disabled.rowcount:
            logger.warning(
                "webhooks: endpoint %s disabled: every attempt failed for %g hours",
                endpoint.id,
                hours,
            )


def _load_endpoint(endpoint_id: int) -> Endpoint | None:
    with db.engine.connect() as connection:
        row = connection.execute(
            sa.select(
                ENDPOINT.c.id, ENDPOINT.c.url, ENDPOINT.c.secret, ENDPOINT.c.failing_since
            ).where(ENDPOINT.c.id == endpoint_id, ENDPOINT.c.enabled.is_(True))
        ).first()
    return Endpoint(row.id, row.url, row.secret, row.failing_since) if row else None


def deliver_due(endpoint_id: int, *, seconds: float = MESSAGE_SECONDS) -> int:
    """The actor's work: batches of the endpoint's due events until none is due; how many
    attempts were made."""
    size = int(current_app.config["WEBHOOK_BATCH_SIZE"])
    started = time.monotonic()
    attempts = 0
    handed_on = False
    while time.monotonic() - started < seconds:
        endpoint = _load_endpoint(endpoint_id)
        if endpoint is None:
            return attempts  # disabled or deleted: its rows wait
        claimed = claim(endpoint_id, size, utcnow())
        if not claimed:
            break
        if len(claimed) == size and not handed_on:
            enqueue.deliver_webhooks(endpoint_id)
            handed_on = True
        # Outcomes are written every RECORD_EVERY posts: a worker killed mid-batch has sent at
        # most that many events unrecorded, which are then sent again (at least once).
        for first in range(0, len(claimed), RECORD_EVERY):
            outcomes = send_batch(endpoint, claimed[first : first + RECORD_EVERY])
            if outcomes[-1][1].unreachable:
                # No answer at all: the rest of the batch fails with it, unsent.
                outcomes += [(rest, *outcomes[-1][1:]) for rest in claimed[first + RECORD_EVERY :]]
            record(endpoint, outcomes)
            attempts += len(outcomes)
            if outcomes[-1][1].unreachable:
                break
    else:
        enqueue.deliver_webhooks(endpoint_id)  # time is up with work left: a fresh message
        return attempts
    _enqueue_next_retry(endpoint_id)
    return attempts


def _enqueue_next_retry(endpoint_id: int) -> None:
    """A delayed message for when the endpoint's next pending row is due (a retry, or a row
    another batch holds: should its worker be dead, the claim lapses then), if one waits."""
    now = utcnow()
    wake = sa.case(
        (DELIVERY.c.claimed_until > now, DELIVERY.c.claimed_until),
        else_=DELIVERY.c.next_attempt_at,
    )
    with db.engine.connect() as connection:
        due = connection.scalar(
            sa.select(sa.func.min(wake)).where(
                DELIVERY.c.endpoint_id == endpoint_id,
                DELIVERY.c.status == PENDING,
                sa.or_(DELIVERY.c.next_attempt_at > now, DELIVERY.c.claimed_until > now),
            )
        )
    if due is not None:
        enqueue.deliver_webhooks(endpoint_id, delay_ms=int((due - now).total_seconds() * 1000) + 50)


def sweep() -> list[int]:
    """Enqueue every enabled endpoint whose due rows nobody took for SWEEP_AFTER; their ids."""
    now = utcnow()
    with db.engine.connect() as connection:
        endpoint_ids = connection.scalars(
            sa.select(DELIVERY.c.endpoint_id)
            .join(ENDPOINT, ENDPOINT.c.id == DELIVERY.c.endpoint_id)
            .where(
                ENDPOINT.c.enabled.is_(True),
                DELIVERY.c.status == PENDING,
                DELIVERY.c.next_attempt_at <= now,
                # A lapsed claim is a dead worker's; an unclaimed row due a while is a lost
                # message's (a message may still be on its way for a fresh one).
                sa.or_(
                    DELIVERY.c.claimed_until < now,
                    sa.and_(
                        DELIVERY.c.claimed_until.is_(None),
                        DELIVERY.c.next_attempt_at < now - SWEEP_AFTER,
                    ),
                ),
            )
            .distinct()
        ).all()
    for endpoint_id in endpoint_ids:
        enqueue.deliver_webhooks(endpoint_id)
    if endpoint_ids:
        logger.info("webhooks sweep: enqueued endpoints %s", ", ".join(map(str, endpoint_ids)))
    return list(endpoint_ids)
