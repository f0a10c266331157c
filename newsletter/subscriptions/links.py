"""The signed links a subscriber is mailed: confirm (72 hours) and preferences (90 days).

A link signs the subscriber's id and a fingerprint of their random unsubscribe token, so a
link dies with an erasure even if the id is used again. A confirm link also names the lists
it confirms, so that it never confirms a list asked for after it was mailed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from newsletter.extensions import db
from newsletter.models import Subscriber
from newsletter.models.base import utcnow
from newsletter.tokens import (
    CompactJsonSigner,
    ExpiredTokenError,
    InvalidTokenError,
    make_token,
    read_timed_token,
    read_token,
)

CONFIRM_MAX_AGE = timedelta(hours=72)
PREFERENCES_MAX_AGE = timedelta(days=90)


def confirmation_token(subscriber: Subscriber, list_ids: Iterable[int]) -> str:
    """A confirm link's token for the lists `list_ids` of this person, made now."""
    payload = confirm_payload(subscriber.id, subscriber.unsubscribe_token, list_ids, utcnow())
    return make_token("confirm", payload)


def preferences_token(subscriber: Subscriber) -> str:
    return make_token("preferences", link_payload(subscriber.id, subscriber.unsubscribe_token))


def link_payload(subscriber_id: int, unsubscribe_token: str) -> dict[str, object]:
    """What a preferences token signs, and a confirm token besides its lists."""
    # A fingerprint of the person's random token: an id reused after erasure matches nobody.
    return {"s": subscriber_id, "v": unsubscribe_token[:8]}


def confirm_payload(
    subscriber_id: int, unsubscribe_token: str, list_ids: Iterable[int], made_at: datetime
) -> dict[str, object]:
    """What a confirm token signs: the person, the ids of the lists it confirms, and when it
    was made, to the microsecond (itsdangerous's own time, in whole seconds, is for expiry)."""
    return link_payload(subscriber_id, unsubscribe_token) | _lists_and_time(list_ids, made_at)


def _lists_and_time(list_ids: Iterable[int], made_at: datetime) -> dict[str, object]:
    return {"l": sorted(set(list_ids)), "t": (made_at - _EPOCH) // _MICROSECOND}


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


_URL_SAFE = re.compile(r"[A-Za-z0-9_-]*")


class PreferencesLinkSigner:
    """Preferences tokens for many people in a row (the delivery engine, per recipient)."""

    purpose = "preferences"

    def __init__(self) -> None:
        self._signer = CompactJsonSigner(self.purpose)
        self._extra: dict[str, object] = {}
        self._tail = b"}"

    def token(self, subscriber_id: int, unsubscribe_token: str) -> str:
        fingerprint = unsubscribe_token[:8]
        if _URL_SAFE.fullmatch(fingerprint):
            # The compact JSON of the payload, written directly: nothing in it needs escaping.
            head = b'{"s":%d,"v":"%s"' % (subscriber_id, fingerprint.encode("ascii"))
            payload = head + self._tail
        else:
            whole = link_payload(subscriber_id, unsubscribe_token) | self._extra
            payload = json.dumps(whole, separators=(",", ":")).encode()
        return self._signer.sign(payload)


class ConfirmLinkSigner(PreferencesLinkSigner):
    """Confirm tokens naming the same lists for many people (a reconfirmation's batch)."""

    purpose = "confirm"

    def __init__(self, list_ids: Iterable[int], made_at: datetime) -> None:
        super().__init__()
        self._extra = _lists_and_time(list_ids, made_at)
        # The lists are the same for everyone: their JSON is written once.
        self._tail = b"," + json.dumps(self._extra, separators=(",", ":")).encode()[1:]


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


@dataclass(frozen=True)
class ConfirmToken:
    """What a genuine, unexpired confirm link says."""

    subscriber: Subscriber
    # None for a link mailed before links named their lists
    # (newsletter/subscriptions/confirmation.py).
    list_ids: frozenset[int] | None
    # When it was made: to the microsecond, or the whole second for such an older link.
    made_at: datetime


def read_confirm_token(token: str) -> ConfirmToken:
    """The person, lists and making time of a confirm link; InvalidTokenError if not ours."""
    max_age = int(CONFIRM_MAX_AGE.total_seconds())
    payload, signed_at = read_timed_token("confirm", token, max_age)
    subscriber = _subscriber_for(payload)
    if subscriber is None:
        raise InvalidTokenError("This link is not valid.")
    list_ids, made_at = payload.get("l"), payload.get("t")
    if list_ids is None and made_at is None:
        return ConfirmToken(subscriber, None, signed_at)
    if not (_is_int(made_at) and isinstance(list_ids, list) and all(map(_is_int, list_ids))):
        raise InvalidTokenError("This link is not valid.")
    return ConfirmToken(subscriber, frozenset(list_ids), _EPOCH + made_at * _MICROSECOND)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
