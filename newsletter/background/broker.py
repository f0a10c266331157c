"""The Dramatiq broker: Redis in production, in-process when embedded; made here and only here."""

from __future__ import annotations

import threading
from types import ModuleType

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask

from newsletter.background.middleware import AppContextMiddleware

# app.extensions key: True while worker threads of this process consume its in-process broker
# (read by /healthz, and by whoever decides whether enqueued work will be picked up).
EMBEDDED_WORKER = "embedded_worker"

_lock = threading.Lock()


def make_broker(app: Flask) -> dramatiq.Broker:
    """A Redis broker when REDIS_URL is set, else an in-process stub broker."""
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        return RedisBroker(url=redis_url)
    return StubBroker()


def is_in_process(broker: dramatiq.Broker) -> bool:
    """True for the embedded broker, whose messages only this process's threads can consume."""
    return isinstance(broker, StubBroker)


def load_actor_modules() -> tuple[ModuleType, ...]:
    """The modules of workers/ that declare actors, imported on first call.

    This is the one stated exception to the layering rule "workers/ imports newsletter, never
    the reverse": a worker must know every actor before it can consume its queues, so the
    commands that run workers (`serve`, `newsletter worker`) load the actors through
    `declare_actors`. Imported here, not at the top, so that importing newsletter never
    imports workers/; enqueueing needs only the queue (`ensure_queue`).
    """
    import workers.delivery
    import workers.imports
    import workers.mail
    import workers.signups
    import workers.webhooks

    return (workers.signups, workers.mail, workers.imports, workers.delivery, workers.webhooks)


def declared_actors() -> list[dramatiq.Actor]:
    """Every actor of workers/."""
    actors: list[dramatiq.Actor] = []
    for module in load_actor_modules():
        actors.extend(v for v in vars(module).values() if isinstance(v, dramatiq.Actor))
    return actors


def use_broker(app: Flask, broker: dramatiq.Broker) -> dramatiq.Broker:
    """Make `broker` the one this process and `app` use (for enqueueing; see declare_actors)."""
    with _lock:
        broker.add_middleware(AppContextMiddleware(app))
        dramatiq.set_broker(broker)
        app.extensions["dramatiq_broker"] = broker
    return broker


def declare_actors(broker: dramatiq.Broker) -> dramatiq.Broker:
    """Declare every actor of workers/ on `broker`, for a worker that consumes it."""
    with _lock:
        # Actors bind to the global broker when first imported; tests and `serve` may set a
        # new broker later in the same process, so declare every actor on this one.
        for actor in declared_actors():
            actor.broker = broker
            broker.declare_actor(actor)
    return broker


def ensure_queue(broker: dramatiq.Broker, queue_name: str) -> None:
    """Declare `queue_name` on `broker` unless it is already (the in-process broker refuses a
    message for an undeclared queue; the lock keeps two threads from declaring it twice)."""
    if queue_name not in broker.get_declared_queues():
        with _lock:
            broker.declare_queue(queue_name)


def get_broker(app: Flask) -> dramatiq.Broker:
    """The app's broker, created on first use."""
    broker = app.extensions.get("dramatiq_broker")
    if broker is None:
        broker = use_broker(app, make_broker(app))
    return broker
