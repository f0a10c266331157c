"""The actor that records a sign-up the form received, after the form has answered.

The form's answer must not depend on what the address is (new, pending, confirmed, left or
suppressed), in its timing no more than in its words, so the request only validates, counts
its rate limits and enqueues; the state-dependent work happens here. The message carries the
request itself (address, name, list ids and the consent evidence) rather than an id, since
no row exists before this actor writes one; it is recorded once however often it is
delivered (`record_signup` finds a request event of the same time and stops).
"""

from __future__ import annotations

import dramatiq

from newsletter.background import enqueue
from newsletter.subscriptions.signup import SignupRequest, record_signup
from workers.mail import MAX_RETRIES


@dramatiq.actor(
    actor_name=enqueue.RECORD_SIGNUP,
    queue_name=enqueue.QUEUE_SYSTEM,
    # A database outage is retried, with backoff from 1 s to 5 min (about 20 minutes in all).
    max_retries=MAX_RETRIES,
    min_backoff=1_000,
    max_backoff=300_000,
)
def record_signup_request(signup: dict) -> None:
    """Record the sign-up and, when one is due, enqueue the confirmation mail."""
    result = record_signup(SignupRequest.from_message(signup))
    if result is not None and result.confirmation_due:
        enqueue.send_confirmation(result.subscriber_id)
