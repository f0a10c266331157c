"""VERP return paths: `bounces+TOKEN@BOUNCE_DOMAIN`, where TOKEN names one delivery.

TOKEN is lowercase base32 (no padding) of the delivery id (6 bytes) and 10 bytes of an
HMAC-SHA256 of it, 26 characters: a mail server that lowercases the local part changes nothing,
and `bounces+` plus the token keeps well inside the 64 characters a local part may have. The
key derives from SECRET_KEY, and every key of SECRET_KEY_FALLBACKS still verifies, so bounces
of mail sent before a key rotation are still recognised.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from flask import current_app

from newsletter.mail.addresses import ascii_domain

LOCAL_PREFIX = "bounces+"
# The mailto of List-Unsubscribe: the same signed token, so a lowercasing server changes nothing.
UNSUBSCRIBE_PREFIX = "unsubscribe+"
_SALT = b"newsletter.return-path.v1"
_ID_BYTES = 6
_MAC_BYTES = 10


def _mac(secret: str, id_bytes: bytes) -> bytes:
    key = hashlib.sha256(_SALT + secret.encode()).digest()
    return hmac.new(key, id_bytes, hashlib.sha256).digest()[:_MAC_BYTES]


class ReturnPathSigner:
    """Signs delivery ids into return paths; build once per batch, use per message."""

    def __init__(self, secret: str, domain: str) -> None:
        self._key = hashlib.sha256(_SALT + secret.encode()).digest()
        self.domain = domain

    def token(self, delivery_id: int) -> str:
        id_bytes = delivery_id.to_bytes(_ID_BYTES, "big")
        mac = hmac.new(self._key, id_bytes, hashlib.sha256).digest()[:_MAC_BYTES]
        return base64.b32encode(id_bytes + mac).decode().rstrip("=").lower()

    def address(self, delivery_id: int) -> str:
        return f"{LOCAL_PREFIX}{self.token(delivery_id)}@{self.domain}"

    def unsubscribe_address(self, delivery_id: int) -> str:
        return f"{UNSUBSCRIBE_PREFIX}{self.token(delivery_id)}@{self.domain}"


def signer() -> ReturnPathSigner:
    """A signer with the app's SECRET_KEY and BOUNCE_DOMAIN."""
    config = current_app.config
    # In ASCII: the address also goes in List-Unsubscribe, a header of every newsletter.
    return ReturnPathSigner(config["SECRET_KEY"], ascii_domain(config["BOUNCE_DOMAIN"]))


def delivery_id_from(address: str, prefix: str = LOCAL_PREFIX) -> int | None:
    """The delivery id a return path (or, with UNSUBSCRIBE_PREFIX, an unsubscribe mailto)
    names, or None if it is not one of ours (or forged)."""
    local = address.strip().strip("<>").rpartition("@")[0].lower()
    if not local.startswith(prefix):
        return None
    token = local[len(prefix) :].upper()
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _ID_BYTES + _MAC_BYTES:
        return None
    id_bytes, mac = raw[:_ID_BYTES], raw[_ID_BYTES:]
    config = current_app.config
    for secret in [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]:
        if hmac.compare_digest(_mac(secret, id_bytes), mac):
            return int.from_bytes(id_bytes, "big")
    return None
