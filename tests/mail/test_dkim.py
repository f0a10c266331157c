"""In-app DKIM: the signature covers both List-Unsubscribe headers and verifies."""

import base64

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.errors import ConfigError
from newsletter.mail.dkim import dkim_signer
from tests.factories import make_issue, send_here, start


@pytest.fixture
def dkim_key(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_sent_issue_is_signed_over_both_list_unsubscribe_headers(app, make, smtp_sink, dkim_key):
    """h= names List-Unsubscribe and List-Unsubscribe-Post, and the signature verifies."""
    path, record = dkim_key
    app.config.update(DKIM_DOMAIN="example.org", DKIM_SELECTOR="news", DKIM_KEY_FILE=str(path))
    news = make.list(slug="news")
    make.subscriber(email="a@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    send_here(issue)
    [message] = smtp_sink.wait_for(1)
    signature = message["DKIM-Signature"]
    tags = dict(
        part.strip().split("=", 1) for part in "".join(signature.split()).split(";") if part
    )
    signed = tags["h"].lower().split(":")
    assert "list-unsubscribe" in signed and "list-unsubscribe-post" in signed
    assert tags["d"] == "example.org" and tags["s"] == "news"
    assert dkim.verify(message.raw, dnsfunc=lambda name, timeout=5: record)


def test_half_a_dkim_configuration_is_a_config_error(app):
    """All three settings or none."""
    app.config.update(DKIM_DOMAIN="example.org", DKIM_SELECTOR=None, DKIM_KEY_FILE=None)
    with pytest.raises(ConfigError, match="DKIM_SELECTOR"):
        dkim_signer(app)
