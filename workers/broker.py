"""Choosing and wiring the Dramatiq broker: Redis in production, in-process when embedded."""

from __future__ import annotations

import importlib
import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from flask import Flask

from workers.middleware import AppContextMiddleware

# Every module that declares actors; imported only once a broker is set.
ACTOR_MODULES = ("workers.mail", "workers.imports", "workers.delivery")

_lock = threading.Lock()


def make_broker(app: Flask) -> dramatiq.Broker:
    """A Redis broker when REDIS_URL is set, else an in-process stub broker."""
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        return RedisBroker(url=redis_url)
    return StubBroker()


def declared_actors() -> list[dramatiq.Actor]:
    """The actors of ACTOR_MODULES (importing them if needed)."""
    actors = []
    for name in ACTOR_MODULES:
        module = importlib.import_module(name)
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
