"""Signed, expiring tokens for links (confirm, preferences): one salt per purpose.

Rotation: tokens are signed with SECRET_KEY and still accepted when signed with any key in
SECRET_KEY_FALLBACKS, so a key can be retired without breaking links already in inboxes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from newsletter.errors import NewsletterError

SALTS = {
    "confirm": "newsletter.confirm.v1",
    "preferences": "newsletter.preferences.v1",
    "setup": "newsletter.setup.v1",
    # The web version of an issue sent to a private list: names the issue, nobody in it.
    "web_version": "newsletter.web-version.v1",
}


class InvalidTokenError(NewsletterError):
    """The token was tampered with, is for another purpose, or is unreadable."""


class ExpiredTokenError(InvalidTokenError):
    """The token was genuine but is too old; `payload` still says whose it was."""

    def __init__(self, message: str, payload: Any = None) -> None:
        super().__init__(message)
        self.payload = payload


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    config = current_app.config
    # itsdangerous signs with the last key and verifies with any of them.
    keys = [*reversed(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=SALTS[purpose])


class CompactJsonSigner:
    """Signs tokens that `read_token` accepts, from compact JSON the caller has encoded.

    For loops that sign thousands (a batch of newsletters). itsdangerous's `dumps` spends about
    nine tenths of its time serialising a payload this small (JSON through a general encoder,
    then a zlib attempt that cannot win); the token format is the same without compression.
    """

    def __init__(self, purpose: str) -> None:
        self._signer = _serializer(purpose).make_signer()
        # The signing key is derived from SECRET_KEY and the salt on every signature; it is
        # the same each time, so derive it once for the loop.
        key = self._signer.derive_key()
        self._signer.derive_key = lambda secret_key=None: key  # type: ignore[method-assign]

    def sign(self, compact_json: bytes) -> str:
        return self._signer.sign(base64_encode(compact_json)).decode("ascii")


def make_token(purpose: str, payload: Any) -> str:
    """Sign `payload` (ids, never addresses) for `purpose`."""
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age_seconds: int) -> Any:
    """The payload of a genuine, unexpired token for `purpose`."""
    return read_timed_token(purpose, token, max_age_seconds)[0]


def read_timed_token(purpose: str, token: str, max_age_seconds: int) -> tuple[Any, datetime]:
    """The payload of a genuine, unexpired token for `purpose`, and when it was signed (UTC)."""
    serializer = _serializer(purpose)
    try:
        return serializer.loads(token, max_age=max_age_seconds, return_timestamp=True)
    except SignatureExpired as error:
        # The signature was genuine, so the payload can be trusted to say whose link it was.
        payload = serializer.load_payload(error.payload) if error.payload is not None else None
        raise ExpiredTokenError("This link has expired.", payload) from error
    except BadSignature as error:
        raise InvalidTokenError("This link is not valid.") from error
