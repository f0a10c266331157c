"""System mail to subscribers: the confirmation request and a fresh preferences link."""

from __future__ import annotations

import logging

from flask import current_app, render_template

from newsletter import suppression
from newsletter.config import site_title
from newsletter.extensions import db
from newsletter.mail.system import failures_recorded, send_system_message, system_message
from newsletter.models import Subscriber
from newsletter.models.base import utcnow
from newsletter.subscriptions.confirmation import confirmation_subject, name_pending_lists
from newsletter.subscriptions.links import confirmation_token, preferences_token
from newsletter.urls import external_url

logger = logging.getLogger(__name__)


def _identity() -> dict[str, str]:
    return {
        "org_name": current_app.config["ORG_NAME"],
        "org_address": current_app.config["ORG_ADDRESS"],
        "site_title": site_title(current_app.config),
    }


def _mailable(subscriber_id: int) -> Subscriber | None:
    """The person, unless they are gone or an admin-only suppression stands."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or suppression.blocking_reasons(subscriber.email_key):
        return None
    return subscriber


def _send(subscriber: Subscriber, subject: str, template: str, context: dict) -> None:
    """Render `template` (.txt and .html) and send it to the person as system mail."""
    subscriber_id, email = subscriber.id, subscriber.email
    with failures_recorded(template, f"subscriber:{subscriber_id}", email):
        message = system_message(
            to=email,
            to_name=subscriber.name or "",
            subject=subject,
            text=render_template(f"email/{template}.txt", **context),
            html=render_template(f"email/{template}.html", **context),
        )
        # End the read transaction before sending: the built-in sink writes to this database.
        db.session.commit()
        send_system_message(message)
    logger.info("%s sent to subscriber %s", template, subscriber_id)


def send_confirmation(subscriber_id: int) -> bool:
    """Mail a link that confirms every pending list; False when there is nothing to do.

    Idempotent: a person who confirmed, left, was erased or is now blocked gets nothing. The
    link names the lists (newsletter/subscriptions/confirmation.py), so it never confirms one
    asked for later.
    """
    subscriber = _mailable(subscriber_id)
    if subscriber is None:
        return False
    named = name_pending_lists(subscriber, utcnow())
    if not named:
        return False
    token = confirmation_token(subscriber, [s.list_id for s in named])
    context = _identity() | {
        "lists": [s.mailing_list for s in named],
        "confirm_url": external_url("public.confirm", token=token),
    }
    subject = confirmation_subject(current_app.config["ORG_NAME"])
    _send(subscriber, subject, "confirmation", context)
    return True


def send_preferences_link(subscriber_id: int) -> bool:
    """Mail a fresh preferences link (after an old one expired)."""
    subscriber = _mailable(subscriber_id)
    if subscriber is None:
        return False
    token = preferences_token(subscriber)
    context = _identity() | {"preferences_url": external_url("public.preferences", token=token)}
    subject = f"Your {context['site_title']} preferences"
    _send(subscriber, subject, "preferences_link", context)
    return True
