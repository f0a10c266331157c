"""Consent evidence: who, when, how, from where, and what they saw.

Every sign-up, confirmation, import, unsubscribe, preference change, bounce and complaint
appends a consent event; subscription status is derived from them. `record_consent` adds the
event to the session and its caller commits it with the change it records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, has_request_context, request

from newsletter.extensions import db
from newsletter.models import (
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    ConsentWording,
    OptInLevel,
    Subscriber,
)
from newsletter.models.base import utcnow

_KNOWN_WORDINGS = "newsletter.known_consent_wordings"
# A form shows one wording per set of lists; this only bounds memory if lists churn.
_KNOWN_WORDINGS_MAX = 1000


@dataclass(frozen=True)
class Origin:
    """Where a consent action came from: page or command, and the requester's details."""

    source: str
    ip_address: str | None = None
    user_agent: str | None = None

    @classmethod
    def from_request(cls) -> Origin:
        """The current request's route, IP and user agent (unless recording them is off).

        The source is the route ("/confirm/<token>"), not the path: tokens in links are
        credentials (an unsubscribe token works for ever) and stay out of the evidence.
        """
        if not has_request_context():
            return cls(source="system")
        rule = request.url_rule
        source = rule.rule if rule is not None else request.path
        if not current_app.config.get("CONSENT_RECORD_REQUEST_DETAILS", True):
            return cls(source=source)
        agent = request.user_agent.string or None
        return cls(
            source=source,
            ip_address=request.remote_addr,
            user_agent=agent[:512] if agent else None,
        )


def wording_version(text: str) -> str:
    """The SHA-256 of `text`, stored once so the exact words can be shown later."""
    version = hashlib.sha256(text.encode()).hexdigest()
    # Wordings are never deleted, so one seen in the database stays there: each process looks
    # a version up once, not on every sign-up. Only versions read back are remembered, never
    # one merely added, whose transaction may still roll back.
    known = current_app.extensions.setdefault(_KNOWN_WORDINGS, set())
    if version in known:
        return version
    if db.session.get(ConsentWording, version) is None:
        db.session.merge(ConsentWording(version=version, text=text))
    elif len(known) < _KNOWN_WORDINGS_MAX:
        known.add(version)
    return version


def record_consent(
    subscriber: Subscriber,
    action: ConsentAction,
    method: ConsentMethod,
    origin: Origin,
    *,
    list_id: int | None = None,
    opt_in_level: OptInLevel | None = None,
    wording: str | None = None,
    occurred_at: datetime | None = None,
    detail: dict | None = None,
    **extra: object,
) -> ConsentEvent:
    """Append one consent event to the session; the caller commits with its change."""
    event = ConsentEvent(
        subscriber=subscriber,
        **event_values(
            action, method, origin, occurred_at or utcnow(),
            list_id=list_id, opt_in_level=opt_in_level,
            wording_version=wording_version(wording) if wording else None,
            detail=detail or {}, **extra,
        ),
    )  # fmt: skip
    db.session.add(event)
    return event


def event_values(
    action: ConsentAction,
    method: ConsentMethod,
    origin: Origin,
    occurred_at: datetime,
    **columns: object,
) -> dict[str, object]:
    """The columns of one consent event, for the ORM or a Core INSERT of many."""
    return {
        "action": action,
        "method": method,
        "occurred_at": occurred_at,
        "source": origin.source[:200],
        "ip_address": origin.ip_address,
        "user_agent": origin.user_agent,
        "detail": {},
        **columns,
    }
