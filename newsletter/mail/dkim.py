"""DKIM signing in the app (DKIM_DOMAIN, DKIM_SELECTOR, DKIM_KEY_FILE), with dkimpy.

RFC 8058's one-click unsubscribe only counts when the signature covers both List-Unsubscribe
headers, and dkimpy leaves List-Unsubscribe-Post out by default, so the headers are named.
Signing costs milliseconds a message; signing at the relay is the fast alternative
(docs/deliverability.md).
"""

from __future__ import annotations

from pathlib import Path

import dkim
from flask import Flask

from newsletter.errors import ConfigError

SIGNED_HEADERS = (
    b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type",
    b"list-id", b"list-unsubscribe", b"list-unsubscribe-post", b"feedback-id",
)  # fmt: skip


class DkimSigner:
    """Signs finished messages (every header in place) for one domain and selector."""

    def __init__(self, domain: str, selector: str, private_key: bytes) -> None:
        self.domain = domain.encode()
        self.selector = selector.encode()
        self.private_key = private_key

    def sign(self, raw: bytes) -> bytes:
        """`raw` with a DKIM-Signature header in front."""
        signature = dkim.sign(
            raw, self.selector, self.domain, self.private_key,
            include_headers=list(SIGNED_HEADERS), linesep=b"\r\n",
        )  # fmt: skip
        return signature + raw


def dkim_signer(app: Flask) -> DkimSigner | None:
    """The app's signer when DKIM_* are all set, else None (sign at the relay)."""
    config = app.config
    names = ("DKIM_DOMAIN", "DKIM_SELECTOR", "DKIM_KEY_FILE")
    values = [str(config.get(name) or "") for name in names]
    if not any(values):
        return None
    if not all(values):
        raise ConfigError("set all of DKIM_DOMAIN, DKIM_SELECTOR and DKIM_KEY_FILE, or none")
    domain, selector, key_file = values
    try:
        key = Path(key_file).read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read DKIM_KEY_FILE {key_file}: {error.strerror}") from error
    return DkimSigner(domain, selector, key)
