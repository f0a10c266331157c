"""/healthz for operators and load balancers: the database and the broker, each ok or why not."""

from __future__ import annotations

import logging

import redis
import sqlalchemy as sa
from flask import Flask, current_app

from newsletter.background.broker import EMBEDDED_WORKER
from newsletter.extensions import db
from newsletter.web.public.blueprint import bp

logger = logging.getLogger(__name__)

OK = "ok"
REDIS_TIMEOUT_SECONDS = 1.0


def database_status() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        # The reason names the failure, never the URL (it may carry a password).
        logger.warning("health check: database unavailable (%s)", error.__class__.__name__)
        return f"unavailable ({error.__class__.__name__})"
    return OK


def broker_status(app: Flask) -> str:
    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        if app.extensions.get(EMBEDDED_WORKER):
            return OK
        return "no worker running (embedded mode without serve)"
    client = redis.Redis.from_url(
        redis_url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        logger.warning("health check: redis unavailable (%s)", error.__class__.__name__)
        return f"unavailable ({error.__class__.__name__})"
    finally:
        client.close()
    return OK


@bp.get("/healthz")
def healthz():
    checks = {"database": database_status(), "broker": broker_status(current_app)}
    status = 200 if all(value == OK for value in checks.values()) else 503
    return checks, status
