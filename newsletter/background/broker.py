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
    the reverse": a broker must know every actor before a worker can consume its queues, so
    setting one up (for `serve`, `newsletter worker`, or a first enqueue) loads the actors.
    Imported here, not at the top, so that importing newsletter never imports workers/.
    """
    import workers.delivery
    import workers.imports
    import workers.mail

    return (workers.mail, workers.imports, workers.delivery)


def declared_actors() -> list[dramatiq.Actor]:
    """Every actor of workers/."""
    actors: list[dramatiq.Actor] = []
    for module in load_actor_modules():
        actors.extend(v for v in vars(module).values() if isinstance(v, dramatiq.Actor))
    return actors


def use_broker(app: Flask, broker: dramatiq.Broker) -> dramatiq.Broker:
    """Make `broker` the one this process and `app` use, with every actor declared on it."""
    with _lock:
        broker.add_middleware(AppContextMiddleware(app))
        dramatiq.set_broker(broker)
        # Actors bind to the global broker when first imported; tests and `serve` may set a
        # new broker later in the same process, so declare every actor on this one.
        for actor in declared_actors():
            actor.broker = broker
            broker.declare_actor(actor)
        app.extensions["dramatiq_broker"] = broker
    return broker


def get_broker(app: Flask) -> dramatiq.Broker:
    """The app's broker, created on first use."""
    broker = app.extensions.get("dramatiq_broker")
    if broker is None:
        broker = use_broker(app, make_broker(app))
    return broker
