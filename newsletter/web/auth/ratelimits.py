"""Rate limits on signing in: per network address and per account."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request

from newsletter.addresses import parse_address
from newsletter.errors import ValidationError


def per_ip_limit() -> str:
    return current_app.config["LOGIN_RATE_PER_IP"]


def per_account_limit() -> str:
    return current_app.config["LOGIN_RATE_PER_ACCOUNT"]


def account_key() -> str:
    """The limiter key of the account being tried: its canonical address, keyed-hashed.

    Hashed so that neither the limiter's store nor its log lines hold an address.
    """
    raw = request.form.get("email", "")
    try:
        key = parse_address(raw).key
    except ValidationError:
        key = raw.strip().casefold()
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()
    return f"login-account:{digest[:32]}"
