"""Rate limits of the API: per token on every call, and the sign-up form's per-address limit
on adding a person by double opt-in (shared with the form: the same counters)."""

from __future__ import annotations

import hashlib
import time
from functools import lru_cache

from flask import Response, current_app
from limits import RateLimitItem, parse_many

from newsletter import suppression
from newsletter.extensions import limiter, network_key
from newsletter.web.api.auth import bearer_secret
from newsletter.web.api.problems import problem_response


def per_token_rate() -> str:
    return current_app.config["API_RATE_PER_TOKEN"]


def token_key() -> str:
    """The limiter key of the calling token: a hash of it (the token itself is never stored);
    a call without one is counted by its network address."""
    secret = bearer_secret()
    if secret is None:
        return f"api-anonymous:{network_key()}"
    return "api-token:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def too_many(request_limit) -> Response:
    seconds = max(1, int(request_limit.reset_at - time.time()))
    return problem_response(
        429,
        f"Too many requests with this token: wait {seconds} seconds, then try again.",
        headers={"Retry-After": str(seconds)},
    )


def limit_blueprint(bp) -> None:
    limiter.limit(per_token_rate, key_func=token_key, scope="api", on_breach=too_many)(bp)


@lru_cache(maxsize=8)
def _windows(setting: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(setting))


def address_allowed(address_key: str) -> bool:
    """Count a sign-up request for this address against the form's per-address limit."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    digest = suppression.address_hash(address_key)
    strategy = limiter.limiter
    windows = _windows(current_app.config["SIGNUP_RATE_PER_ADDRESS"])
    return all(strategy.hit(window, "signup-address", digest) for window in windows)
