"""The actor that delivers an endpoint's due webhook events. Safe to run twice: rows are claimed."""

from __future__ import annotations

import dramatiq

from newsletter.background import enqueue
from newsletter.webhooks.dispatch import deliver_due


@dramatiq.actor(
    actor_name=enqueue.DELIVER_WEBHOOKS,
    queue_name=enqueue.QUEUE_WEBHOOKS,
    # HTTP failures are per delivery; this retries only a failure outside HTTP (the database
    # away), and the sweep covers a message lost even so.
    max_retries=5,
    min_backoff=5_000,
    max_backoff=120_000,
    time_limit=10 * 60_000,
)
def deliver_webhooks(endpoint_id: int) -> None:
    """POST the endpoint's due events, a batch at a time, each signed."""
    deliver_due(endpoint_id)
