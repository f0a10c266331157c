"""Enqueueing background work: one typed function per actor, the only place their names live.

Actor and queue names cross the process boundary inside every queued message, so a rename
would orphan the messages already waiting in Redis. They are spelled once, here; the actors in
workers/ take their names from these constants, and everything else enqueues through the
functions below, which send ids, never objects.
"""

from __future__ import annotations

from typing import Any

import dramatiq

from newsletter.background.broker import ensure_queue, get_broker
from newsletter.extensions import current_app_object

# Queues.
QUEUE_SYSTEM = "system"  # sign-ups, confirmations, preference links, test messages
QUEUE_DELIVERY = "delivery"  # batches of an issue's ledger
QUEUE_IMPORTS = "imports"  # uploaded imports
QUEUE_WEBHOOKS = "webhooks"  # webhook deliveries, a batch per endpoint

# Actors, each on one of the queues above.
RECORD_SIGNUP = "record_signup"
SEND_CONFIRMATION = "send_confirmation"
SEND_PREFERENCES_LINK = "send_preferences_link"
SEND_TEST_MAIL = "send_test_mail"
SEND_ISSUE_TEST = "send_issue_test"
SEND_ISSUE_BATCH = "send_issue_batch"
RUN_IMPORT = "run_import"
DELIVER_WEBHOOKS = "deliver_webhooks"
QUEUE_WELCOMES = "queue_welcomes"


def _enqueue(
    actor_name: str, queue_name: str, *args: object, delay_ms: int | None = None
) -> dramatiq.Message:
    broker = get_broker(current_app_object())
    ensure_queue(broker, queue_name)
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=queue_name, actor_name=actor_name, args=args, kwargs={}, options={}
    )
    return broker.enqueue(message, delay=delay_ms)


def record_signup(signup: dict[str, object]) -> dramatiq.Message:
    """Record a sign-up the form received (the one message that is no id: workers/signups.py)."""
    return _enqueue(RECORD_SIGNUP, QUEUE_SYSTEM, signup)


def send_confirmation(subscriber_id: int) -> dramatiq.Message:
    """Mail the person the confirmation link for every list they are pending on."""
    return _enqueue(SEND_CONFIRMATION, QUEUE_SYSTEM, subscriber_id)


def send_preferences_link(subscriber_id: int) -> dramatiq.Message:
    """Mail the person a fresh preferences link."""
    return _enqueue(SEND_PREFERENCES_LINK, QUEUE_SYSTEM, subscriber_id)


def send_test_mail(account_id: int) -> dramatiq.Message:
    """Mail a test message to the account's address."""
    return _enqueue(SEND_TEST_MAIL, QUEUE_SYSTEM, account_id)


def send_issue_test(issue_id: int, addresses: list[str]) -> dramatiq.Message:
    """Mail the issue, marked [TEST], to a few addresses."""
    return _enqueue(SEND_ISSUE_TEST, QUEUE_SYSTEM, issue_id, addresses)


def send_batch(
    issue_id: int, first_id: int, last_id: int, *, delay_ms: int | None = None
) -> dramatiq.Message:
    """Send the issue's queued ledger rows first_id..last_id, after `delay_ms` if given."""
    return _enqueue(
        SEND_ISSUE_BATCH, QUEUE_DELIVERY, issue_id, first_id, last_id, delay_ms=delay_ms
    )


def run_import(job_id: int) -> dramatiq.Message:
    """Run (or resume) the uploaded import job."""
    return _enqueue(RUN_IMPORT, QUEUE_IMPORTS, job_id)


def deliver_webhooks(endpoint_id: int, *, delay_ms: int | None = None) -> dramatiq.Message:
    """Deliver the endpoint's due webhook events, a batch at a time, after `delay_ms` if given."""
    return _enqueue(DELIVER_WEBHOOKS, QUEUE_WEBHOOKS, endpoint_id, delay_ms=delay_ms)


def queue_welcomes(list_id: int) -> dramatiq.Message:
    """Write the welcome message's ledger rows of the list's newly confirmed people, and send."""
    return _enqueue(QUEUE_WELCOMES, QUEUE_SYSTEM, list_id)
