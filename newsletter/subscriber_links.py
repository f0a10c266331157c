"""The signed links a subscriber is mailed: confirm (72 hours) and preferences (90 days).

A link signs the subscriber's id and a fingerprint of their random unsubscribe token, so a
link dies with an erasure even if the id is used again.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from newsletter.extensions import db
from newsletter.models import Subscriber
from newsletter.tokens import (
    CompactJsonSigner,
    ExpiredTokenError,
    InvalidTokenError,
    make_token,
    read_token,
)

CONFIRM_MAX_AGE = timedelta(hours=72)
PREFERENCES_MAX_AGE = timedelta(days=90)


def confirmation_token(subscriber: Subscriber) -> str:
    return make_token("confirm", _token_payload(subscriber))


def preferences_token(subscriber: Subscriber) -> str:
    return make_token("preferences", _token_payload(subscriber))


def _token_payload(subscriber: Subscriber) -> dict[str, object]:
    return link_payload(subscriber.id, subscriber.unsubscribe_token)


def link_payload(subscriber_id: int, unsubscribe_token: str) -> dict[str, object]:
    """What a confirm or preferences token signs."""
    # A fingerprint of the person's random token: an id reused after erasure matches nobody.
    return {"s": subscriber_id, "v": unsubscribe_token[:8]}


_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*")


class PreferencesLinkSigner:
    """Preferences tokens for many people in a row (the delivery engine, per recipient).

    With `purpose="confirm"`, confirmation tokens (a reconfirmation, newsletter/delivery/).
    """

    def __init__(self, purpose: str = "preferences") -> None:
        self._signer = CompactJsonSigner(purpose)

    def token(self, subscriber_id: int, unsubscribe_token: str) -> str:
        fingerprint = unsubscribe_token[:8]
        if _URL_SAFE.fullmatch(fingerprint):
            # The compact JSON of link_payload, written directly: nothing in it needs escaping.
            payload = b'{"s":%d,"v":"%s"}' % (subscriber_id, fingerprint.encode("ascii"))
        else:
            payload = json.dumps(
                link_payload(subscriber_id, unsubscribe_token), separators=(",", ":")
            ).encode()
        return self._signer.sign(payload)


def _subscriber_for(payload: object) -> Subscriber | None:
    if not isinstance(payload, dict) or not isinstance(payload.get("s"), int):
        return None
    subscriber = db.session.get(Subscriber, payload["s"])
    if subscriber is None or subscriber.unsubscribe_token[:8] != payload.get("v"):
        return None
    return subscriber


def subscriber_from(purpose: str, token: str, max_age: timedelta) -> Subscriber:
    subscriber = _subscriber_for(read_token(purpose, token, int(max_age.total_seconds())))
    if subscriber is None:
        raise InvalidTokenError("This link is not valid.")
    return subscriber


def subscriber_of_expired_link(error: ExpiredTokenError) -> Subscriber | None:
    """Whose genuine but expired link this was (to mail them a fresh one)."""
    return _subscriber_for(error.payload)


def subscriber_from_preferences_token(token: str) -> Subscriber:
    return subscriber_from("preferences", token, PREFERENCES_MAX_AGE)
