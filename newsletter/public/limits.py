"""Rate limits on the public sign-up form: per network address with a page, per address in silence.

Both are counted with the `limits` library on the limiter's own storage (Redis in production),
called directly rather than through Flask-Limiter's route decorator: the form is the busiest
public page, and a direct count is one Redis round trip per window and nothing else.
"""

from __future__ import annotations

from functools import lru_cache

from flask import current_app, make_response, render_template, request
from limits import RateLimitItem, parse_many

from newsletter import suppression
from newsletter.extensions import limiter


@lru_cache(maxsize=32)
def _windows(setting: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(setting))


def _enabled() -> bool:
    return current_app.config.get("RATELIMIT_ENABLED", True)


def network_within_limit() -> bool:
    """Count a sign-up from this network address in every SIGNUP_RATE_PER_IP window."""
    if not _enabled():
        return True
    address = request.remote_addr or "unknown"
    windows = _windows(current_app.config["SIGNUP_RATE_PER_IP"])
    # Every window counts the attempt, as Flask-Limiter's decorator did, until one refuses.
    return all(limiter.limiter.hit(window, "signup-ip", address) for window in windows)


def too_many_signups():
    return make_response(render_template("public/too_many.html"), 429)


def address_within_limit(key: str) -> bool:
    """Count a sign-up for this address; False once it has had too many.

    The limiter's store sees only an HMAC of the address, never the address itself.
    """
    if not _enabled():
        return True
    windows = _windows(current_app.config["SIGNUP_RATE_PER_ADDRESS"])
    digest = suppression.address_hash(key)
    return all(limiter.limiter.hit(window, "signup-address", digest) for window in windows)
