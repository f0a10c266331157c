"""Actors that send system mail."""

from __future__ import annotations

import dramatiq

QUEUE_SYSTEM = "system"


@dramatiq.actor(actor_name="send_test_mail", queue_name=QUEUE_SYSTEM, max_retries=3)
def send_test_mail(account_id: int) -> None:
    """Send a test message to the account's address, proving the SMTP path works."""
    from newsletter.mail.system import send_test_message

    send_test_message(account_id)
