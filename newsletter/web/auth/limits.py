"""Rate limits on attempts at a password (signing in, changing one): per network address
(`newsletter.extensions.network_key`, an IPv6 client by its /64) and per account, the same
limits and the same network-address key for both."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app, request
from flask_login import current_user

from newsletter import suppression
from newsletter.addresses import parse_address
from newsletter.errors import ValidationError
from newsletter.extensions import limiter, network_key


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


def signed_in_account_key() -> str:
    """The limiter key of the signed-in account whose current password is being tried."""
    account_id = current_user.id if current_user.is_authenticated else "anonymous"
    return f"password-account:{account_id}"


def password_attempts_limited(account_key_func: Callable[[], str], on_breach: Callable) -> Callable:
    """Limit a view's POSTs as signing in is limited: LOGIN_RATE_PER_IP per network address
    (`network_key`: an IPv6 client by its /64) and
    LOGIN_RATE_PER_ACCOUNT per account, keyed by `account_key_func`.

    Sign-in and the password change share it, so a stolen session cannot try current
    passwords faster than the sign-in form lets anyone try passwords.
    """
    per_network = limiter.limit(
        per_ip_limit, key_func=network_key, methods=["POST"], on_breach=on_breach
    )
    per_account = limiter.limit(
        per_account_limit, key_func=account_key_func, methods=["POST"], on_breach=on_breach
    )

    def decorate(view: Callable) -> Callable:
        return per_network(per_account(view))

    return decorate
