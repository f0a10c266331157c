"""Endpoints, as the admin (and later the API) manage them: one plain function per action.

URL rules: `https://` only, or `http://` while BASE_URL itself is http (development, tests);
no user name or password in the URL (a secret in a URL ends up in logs), a host, at most 2,000
characters. Admins are trusted: a URL may name an internal address (server-side request
forgery is theirs to avoid), which is why only admins may register one.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from newsletter import audit
from newsletter.audit import Actor
from newsletter.background import enqueue
from newsletter.config import DEFAULT_BASE_URL
from newsletter.errors import NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.models import WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint, WebhookEvent
from newsletter.models.base import get_by_id, utcnow
from newsletter.webhooks.events import EventType
from newsletter.webhooks.outbox import DELIVERY, forget_wanted

MAX_URL_LENGTH = 2000
RECENT = 50


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(raw: str) -> str:
    """The URL, stripped, or ValidationError with the sentence to show."""
    url = raw.strip()
    if not url:
        raise ValidationError("Enter the URL of the endpoint")
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError(f"The URL must be {MAX_URL_LENGTH:,} characters or fewer")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (a port that is no number raises here)
    except ValueError as error:
        raise ValidationError(
            "Enter a URL like https://crm.example.org/hooks/newsletter"
        ) from error
    base_scheme = urlsplit(current_app.config.get("BASE_URL") or DEFAULT_BASE_URL).scheme
    allowed = {"https", "http"} if base_scheme == "http" else {"https"}
    if parts.scheme not in allowed:
        raise ValidationError("The URL must start with https://")
    if not host:
        raise ValidationError("Enter a URL like https://crm.example.org/hooks/newsletter")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("The URL must not contain a user name or password")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValidationError("The URL must not contain spaces or control characters")
    return url


def check_event_types(raw: list[str]) -> list[EventType]:
    known = {t.value: t for t in EventType}
    chosen = [known[value] for value in raw if value in known]
    if not chosen or len(chosen) != len(set(raw)):
        raise ValidationError("Choose at least one event")
    return sorted(set(chosen), key=list(EventType).index)


def list_endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def disabled_endpoints() -> list[WebhookEndpoint]:
    """Endpoints switched off (the dashboard's notice)."""
    return list(
        db.session.scalars(
            sa.select(WebhookEndpoint)
            .where(WebhookEndpoint.enabled.is_(False))
            .order_by(WebhookEndpoint.id)
        )
    )


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_by_id(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFoundError("no such webhook endpoint")
    return endpoint


def create(url: str, event_types: list[str], description: str, actor: Actor) -> NewEndpoint:
    """Register an endpoint (enabled); its secret is returned once. Commits."""
    endpoint = WebhookEndpoint(
        url=check_url(url),
        event_types=" ".join(check_event_types(event_types)),
        description=description.strip()[:200],
        secret=new_secret(),
    )
    db.session.add(endpoint)
    db.session.flush()
    audit.record(
        "webhook.created",
        target=f"webhook:{endpoint.id}",
        detail={"url": endpoint.url, "events": endpoint.wanted},
        actor=actor,
    )
    db.session.commit()
    forget_wanted()
    return NewEndpoint(endpoint, endpoint.secret)


def disable(endpoint_id: int, actor: Actor, reason: str = "Disabled by an admin.") -> None:
    """Stop delivering to the endpoint; its events keep being written. Commits."""
    endpoint = get_endpoint(endpoint_id)
    if endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_at = utcnow()
        endpoint.disabled_reason = reason[:500]
        audit.record("webhook.disabled", target=f"webhook:{endpoint.id}", actor=actor)
    db.session.commit()


def enable(endpoint_id: int, actor: Actor) -> int:
    """Deliver to the endpoint again from now on; its backlog (pending rows, and rows given up
    while it was failing) is held for an admin to replay or discard. How many are held."""
    endpoint = get_endpoint(endpoint_id)
    if endpoint.enabled:
        return 0
    since = endpoint.failing_since or endpoint.disabled_at
    backlog = DELIVERY.c.status == WebhookDeliveryStatus.PENDING
    if since is not None:
        backlog = sa.or_(
            backlog,
            sa.and_(
                DELIVERY.c.status == WebhookDeliveryStatus.FAILED, DELIVERY.c.created_at >= since
            ),
        )
    held = db.session.execute(
        sa.update(DELIVERY)
        .where(DELIVERY.c.endpoint_id == endpoint.id, backlog)
        .values(status=WebhookDeliveryStatus.HELD, claimed_until=None)
    )
    endpoint.enabled = True
    endpoint.disabled_at = None
    endpoint.disabled_reason = None
    endpoint.failing_since = None
    count = int(getattr(held, "rowcount", 0) or 0)
    audit.record(
        "webhook.enabled", target=f"webhook:{endpoint.id}", detail={"held": count}, actor=actor
    )
    db.session.commit()
    return count


def held_count(endpoint_id: int) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(DELIVERY)
            .where(
                DELIVERY.c.endpoint_id == endpoint_id,
                DELIVERY.c.status == WebhookDeliveryStatus.HELD,
            )
        )
        or 0
    )


def _retry_window():
    return timedelta(hours=float(current_app.config["WEBHOOK_RETRY_HOURS"]))


def replay(endpoint_id: int, actor: Actor) -> int:
    """Send the held backlog, oldest first, with a fresh day of retries; how many. Commits."""
    endpoint = get_endpoint(endpoint_id)
    now = utcnow()
    replayed = db.session.execute(
        sa.update(DELIVERY)
        .where(
            DELIVERY.c.endpoint_id == endpoint.id,
            DELIVERY.c.status == WebhookDeliveryStatus.HELD,
        )
        .values(
            status=WebhookDeliveryStatus.PENDING,
            next_attempt_at=now,
            retry_until=now + _retry_window(),
            claimed_until=None,
        )
    )
    count = int(getattr(replayed, "rowcount", 0) or 0)
    audit.record(
        "webhook.replayed", target=f"webhook:{endpoint.id}", detail={"count": count}, actor=actor
    )
    db.session.commit()
    if count and endpoint.enabled:
        enqueue.deliver_webhooks(endpoint.id)
    return count


def discard_backlog(endpoint_id: int, actor: Actor) -> int:
    """Drop the held backlog; how many. Commits."""
    endpoint = get_endpoint(endpoint_id)
    dropped = db.session.execute(
        sa.update(DELIVERY)
        .where(
            DELIVERY.c.endpoint_id == endpoint.id,
            DELIVERY.c.status == WebhookDeliveryStatus.HELD,
        )
        .values(status=WebhookDeliveryStatus.DROPPED)
    )
    count = int(getattr(dropped, "rowcount", 0) or 0)
    audit.record(
        "webhook.backlog_discarded",
        target=f"webhook:{endpoint.id}",
        detail={"count": count},
        actor=actor,
    )
    db.session.commit()
    return count


def resend(endpoint_id: int, delivery_id: int, actor: Actor) -> None:
    """Deliver one event to the endpoint again (at once, with a fresh day of retries). Commits."""
    endpoint = get_endpoint(endpoint_id)
    delivery = get_by_id(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        raise NotFoundError("no such delivery")
    if delivery.status == WebhookDeliveryStatus.DROPPED:
        raise ValidationError("This event was dropped (its person was erased) and cannot be sent")
    now = utcnow()
    delivery.status = WebhookDeliveryStatus.PENDING
    delivery.next_attempt_at = now
    delivery.retry_until = now + _retry_window()
    delivery.claimed_until = None
    audit.record(
        "webhook.resent",
        target=f"webhook:{endpoint.id}",
        detail={"delivery": delivery.id, "event": delivery.event_id},
        actor=actor,
    )
    db.session.commit()
    if endpoint.enabled:
        enqueue.deliver_webhooks(endpoint.id)


@dataclass(frozen=True)
class DeliveryLine:
    id: int
    event_id: int
    event_type: str
    status: WebhookDeliveryStatus
    attempts: int
    created_at: object
    last_attempt_at: object
    next_attempt_at: object
    last_status: int | None
    last_error: str | None


def recent_deliveries(endpoint_id: int, limit: int = RECENT) -> list[DeliveryLine]:
    """The endpoint's newest deliveries, newest first."""
    rows = db.session.execute(
        sa.select(
            WebhookDelivery.id,
            WebhookDelivery.event_id,
            WebhookEvent.type.label("event_type"),
            WebhookDelivery.status,
            WebhookDelivery.attempts,
            WebhookDelivery.created_at,
            WebhookDelivery.last_attempt_at,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.last_status,
            WebhookDelivery.last_error,
        )
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ).all()
    return [DeliveryLine(**row._asdict()) for row in rows]
