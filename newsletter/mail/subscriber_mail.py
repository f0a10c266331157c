"""System mail to subscribers: the confirmation request and a fresh preferences link."""

from __future__ import annotations

import logging
from email.headerregistry import Address

from flask import current_app, render_template

from newsletter import subscriptions, suppression
from newsletter.extensions import db
from newsletter.mail.system import send_system_message, system_message
from newsletter.models import Subscriber
from newsletter.urls import external_url

logger = logging.getLogger(__name__)


def _recipient(subscriber: Subscriber) -> str:
    # The headerregistry quotes or encodes the display name; it can never add a header.
    return str(Address(display_name=subscriber.name or "", addr_spec=subscriber.email))


def _identity() -> dict[str, str]:
    return {
        "org_name": current_app.config["ORG_NAME"],
        "org_address": current_app.config["ORG_ADDRESS"],
    }


def send_confirmation(subscriber_id: int) -> bool:
    """Mail the confirmation link for every pending list; False when there is nothing to do.

    Idempotent: a person who confirmed, left, was erased or is now blocked gets nothing.
    """
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or suppression.blocking_reasons(subscriber.email_key):
        return False
    pending = subscriptions.pending_lists(subscriber)
    if not pending:
        return False
    context = _identity() | {
        "lists": pending,
        "confirm_url": external_url(
            "public.confirm", token=subscriptions.confirmation_token(subscriber)
        ),
    }
    message = system_message(
        to=_recipient(subscriber),
        subject=f"Confirm your subscription to {context['org_name']}",
        text=render_template("email/confirmation.txt", **context),
        html=render_template("email/confirmation.html", **context),
    )
    # End the read transaction before sending: the built-in sink writes to this database.
    db.session.commit()
    send_system_message(message)
    logger.info("confirmation sent to subscriber %s", subscriber_id)
    return True


def send_preferences_link(subscriber_id: int) -> bool:
    """Mail a fresh preferences link (after an old one expired)."""
    subscriber = db.session.get(Subscriber, subscriber_id)
    if subscriber is None or suppression.blocking_reasons(subscriber.email_key):
        return False
    context = _identity() | {
        "preferences_url": external_url(
            "public.preferences", token=subscriptions.preferences_token(subscriber)
        ),
    }
    message = system_message(
        to=_recipient(subscriber),
        subject=f"Your {context['org_name']} newsletter preferences",
        text=render_template("email/preferences_link.txt", **context),
        html=render_template("email/preferences_link.html", **context),
    )
    db.session.commit()
    send_system_message(message)
    logger.info("preferences link sent to subscriber %s", subscriber_id)
    return True
