"""Rate limits on the public forms: per IP with a page, per address in silence."""

from __future__ import annotations

from flask import current_app, make_response, render_template
from limits import parse

from newsletter import suppression
from newsletter.extensions import limiter


def signup_rate_per_ip() -> str:
    return current_app.config["SIGNUP_RATE_PER_IP"]


def too_many_signups(request_limit):
    # Flask-Limiter uses what on_breach returns only when it is a Response, not a tuple.
    return make_response(render_template("public/too_many.html"), 429)


def address_within_limit(key: str) -> bool:
    """Count a sign-up for this address; False once it has had too many.

    The limiter's store sees only an HMAC of the address, never the address itself.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    item = parse(current_app.config["SIGNUP_RATE_PER_ADDRESS"])
    return limiter.limiter.hit(item, "signup-address", suppression.address_hash(key))
