"""Enqueueing work by actor name, so the web app never imports an actor module itself."""

from __future__ import annotations

import dramatiq
from flask import current_app


def enqueue(
    actor_name: str, queue_name: str, *args: object, delay_ms: int | None = None
) -> dramatiq.Message:
    """Send a message for `actor_name` on `queue_name` with positional id arguments."""
    from workers.broker import get_broker

    broker = get_broker(current_app._get_current_object())
    message = dramatiq.Message(
        queue_name=queue_name, actor_name=actor_name, args=args, kwargs={}, options={}
    )
    return broker.enqueue(message, delay=delay_ms)
