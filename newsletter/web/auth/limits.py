"""Rate limits on signing in: per network address (`newsletter.extensions.network_key`, an
IPv6 client by its /64) and per account."""

from __future__ import annotations

from flask import current_app, request

from newsletter import suppression
from newsletter.addresses import parse_address
from newsletter.errors import ValidationError


def per_ip_limit() -> str:
    return current_app.config["LOGIN_RATE_PER_IP"]


def per_account_limit() -> str:
    return current_app.config["LOGIN_RATE_PER_ACCOUNT"]


def account_key() -> str:
    """The limiter key of the account being tried: its canonical address, keyed-hashed.

    Hashed (with the one address HMAC, as the sign-up limits are) so that neither the
    limiter's store nor its log lines hold an address; text that is no address is hashed as
    typed, casefolded.
    """
    raw = request.form.get("email", "")
    try:
        key = parse_address(raw).key
    except ValidationError:
        key = raw.strip().casefold()
    return f"login-account:{suppression.address_hash(key)[:32]}"
