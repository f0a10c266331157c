"""The actor that sends one batch of an issue's ledger. Safe to run twice: rows are claimed."""

from __future__ import annotations

import dramatiq

from newsletter.background import enqueue
from newsletter.delivery.control import run_batch
from newsletter.delivery.ledger import requeue_later
from newsletter.delivery.welcome import queue_due


@dramatiq.actor(
    actor_name=enqueue.SEND_ISSUE_BATCH,
    queue_name=enqueue.QUEUE_DELIVERY,
    # A failure outside SMTP (the database away) is retried; SMTP failures are per row.
    max_retries=10,
    min_backoff=5_000,
    max_backoff=300_000,
    # A paced batch may take a long while; the sweep, not a time limit, catches stalls.
    time_limit=6 * 3_600_000,
)
def send_issue_batch(issue_id: int, first_id: int, last_id: int) -> None:
    """Send the queued rows first_id..last_id of the issue; retried rows come back later."""
    result = run_batch(issue_id, first_id, last_id)
    if result.retry_at is not None:
        requeue_later(issue_id, first_id, last_id, result.retry_at)


@dramatiq.actor(
    actor_name=enqueue.QUEUE_WELCOMES,
    queue_name=enqueue.QUEUE_SYSTEM,
    # Only a nudge: the delivery sweep writes the same rows every tick if this is lost.
    max_retries=3,
)
def queue_welcomes(list_id: int) -> None:
    """Write the list's welcome rows for people confirmed since the last look; enqueue them."""
    queue_due(list_id)
