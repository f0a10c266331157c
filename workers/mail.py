"""Actors that send system mail. They take ids, and sending twice is harmless."""

from __future__ import annotations

from typing import Any

import dramatiq

from newsletter.background import enqueue
from newsletter.delivery.trial_send import send_test_issue
from newsletter.mail.system import send_test_message
from newsletter.mail.transport import PermanentSmtpError
from newsletter.subscriptions import mail as subscription_mail

MAX_RETRIES = 8


def retry_when(retries: int, exception: Exception) -> bool:
    """Retry a relay's 4xx replies and dropped connections with backoff; never a 5xx.

    A permanent refusal would only be refused again, and so would a message that cannot be
    built (`UnsendableMessage`, recorded once by `mail.system.failures_recorded`). Other
    failures (a database outage) are retried the same way, so mail is delayed rather than
    lost; backoff doubles from 5 s to 10 min, about 20 minutes in all.
    """
    return not isinstance(exception, PermanentSmtpError) and retries < MAX_RETRIES


_MAIL_OPTIONS: dict[str, Any] = {
    "queue_name": enqueue.QUEUE_SYSTEM,
    "retry_when": retry_when,
    "min_backoff": 5_000,
    "max_backoff": 600_000,
    "throws": (PermanentSmtpError,),
}


@dramatiq.actor(actor_name=enqueue.SEND_TEST_MAIL, **_MAIL_OPTIONS)
def send_test_mail(account_id: int) -> None:
    """Send a test message to the account's address, proving the SMTP path works."""
    send_test_message(account_id)


@dramatiq.actor(actor_name=enqueue.SEND_CONFIRMATION, **_MAIL_OPTIONS)
def send_confirmation(subscriber_id: int) -> None:
    """Send the double opt-in confirmation mail for every list the person is pending on."""
    subscription_mail.send_confirmation(subscriber_id)


@dramatiq.actor(actor_name=enqueue.SEND_PREFERENCES_LINK, **_MAIL_OPTIONS)
def send_preferences_link(subscriber_id: int) -> None:
    """Send a fresh preferences link to the person."""
    subscription_mail.send_preferences_link(subscriber_id)


@dramatiq.actor(actor_name=enqueue.SEND_ISSUE_TEST, **_MAIL_OPTIONS)
def send_issue_test(issue_id: int, addresses: list[str]) -> None:
    """Send an issue, marked [TEST], to a few addresses; no ledger row, no count."""
    send_test_issue(issue_id, addresses)
