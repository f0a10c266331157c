"""Rate limits on the public sign-up form: per network address with a page, per address in silence.

Both are counted with the `limits` library on the limiter's own storage (Redis in production),
called directly rather than through Flask-Limiter's route decorator: the form is the busiest
public page. With Redis and the fixed-window strategy (Flask-Limiter's default), every window
of an attempt is counted by one script in one round trip, with the same keys and arithmetic
as the library's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import current_app, make_response, render_template
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import FixedWindowRateLimiter
from redis.commands.core import Script

from newsletter import suppression
from newsletter.extensions import limiter, network_key

# KEYS: the windows' counters, in order; ARGV: each window's expiry and amount, in pairs.
# Counts each window until one is over its amount, as a hit per window would; returns the
# 1-based position of that window, or 0 when every window had room.
_COUNT_WINDOWS = """
for i, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, 1)
    if current == 1 then
        redis.call("expire", key, ARGV[2 * i - 1])
    end
    if current > tonumber(ARGV[2 * i]) then
        return i
    end
end
return 0
"""


@dataclass(frozen=True)
class SignupAllowance:
    network: bool  # False: too many sign-ups from this network address (the 429 page)
    address: bool  # False: too many for this email address (ignored in silence)


@lru_cache(maxsize=32)
def _windows(setting: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(setting))


def count_signup(address_key: str | None) -> SignupAllowance:
    """Count a sign-up from this network address and, when given, for this email address.

    The address is counted only while the network address is within its limit. The limiter's
    store sees only an HMAC of the email address, never the address itself.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return SignupAllowance(network=True, address=True)
    config = current_app.config
    hits = [(w, "signup-ip", network_key()) for w in _windows(config["SIGNUP_RATE_PER_IP"])]
    per_network = len(hits)
    if address_key is not None:
        digest = suppression.address_hash(address_key)
        hits += [(w, "signup-address", digest) for w in _windows(config["SIGNUP_RATE_PER_ADDRESS"])]
    refused = _first_refusal(hits)
    return SignupAllowance(network=not 0 < refused <= per_network, address=refused == 0)


def _first_refusal(hits: list[tuple[RateLimitItem, str, str]]) -> int:
    """Count each hit until a window is full; that window's 1-based position, or 0."""
    strategy = limiter.limiter
    storage = strategy.storage
    if isinstance(strategy, FixedWindowRateLimiter) and isinstance(storage, RedisStorage):
        keys = [storage.prefixed_key(window.key_for(*names)) for window, *names in hits]
        arguments = [n for window, *_ in hits for n in (window.get_expiry(), window.amount)]
        return int(_script(storage)(keys, arguments))
    for position, (window, *names) in enumerate(hits, start=1):
        if not strategy.hit(window, *names):
            return position
    return 0


_scripts: dict[int, tuple[RedisStorage, Script]] = {}


def _script(storage: RedisStorage) -> Script:
    known = _scripts.get(id(storage))
    if known is None or known[0] is not storage:
        known = (storage, storage.get_connection().register_script(_COUNT_WINDOWS.encode()))
        _scripts[id(storage)] = known
    return known[1]


def too_many_signups():
    return make_response(render_template("public/too_many.html"), 429)
