"""Actors that send system mail."""

from __future__ import annotations

import dramatiq

from newsletter.mail.transport import PermanentSmtpError

QUEUE_SYSTEM = "system"


# A relay's permanent refusal is final: retrying would only be refused again.
@dramatiq.actor(
    actor_name="send_test_mail",
    queue_name=QUEUE_SYSTEM,
    max_retries=3,
    throws=(PermanentSmtpError,),
)
def send_test_mail(account_id: int) -> None:
    """Send a test message to the account's address, proving the SMTP path works."""
    from newsletter.mail.system import send_test_message

    send_test_message(account_id)
