"""The suppression list's key and its one hash."""

import hashlib
import hmac

import pytest

from newsletter.extensions import db
from newsletter.models import AppSetting
from newsletter.suppression import address_hash, hasher, suppression_key
from tests.support.queries import recorded_statements


def test_configured_suppression_key_wins(app):
    """SUPPRESSION_KEY from the environment is used as given and nothing is stored."""
    app.config["SUPPRESSION_KEY"] = "from-the-environment"
    assert suppression_key() == b"from-the-environment"
    assert db.session.get(AppSetting, "suppression_key") is None


def test_generated_suppression_key_is_stored_once_and_survives_secret_rotation(app):
    """Without SUPPRESSION_KEY one is generated into the database and never changes."""
    app.config["SUPPRESSION_KEY"] = None
    first = suppression_key()
    app.config["SECRET_KEY"] = "rotated"
    assert suppression_key() == first
    assert len(first) >= 32


def test_stored_suppression_key_is_read_once_per_app(app):
    """Hashing many addresses does not query the stored key each time."""
    app.config["SUPPRESSION_KEY"] = None
    first = suppression_key()
    with recorded_statements() as statements:
        assert suppression_key() == first
    assert statements == []


def test_a_hasher_taken_once_hashes_as_address_hash_does(app):
    """Bulk callers (the import) take the hash once; its answers are address_hash's."""
    assert hasher()("ada@example.org") == address_hash("ada@example.org")


@pytest.mark.parametrize("key", [b"", b"short", b"k" * 64, b"long key " * 20])
def test_the_suppression_hash_is_hmac_sha256_whatever_the_key_length(key):
    """The precomputed-state HMAC gives hmac.new's answers, for short and long keys alike."""
    for address in ("ada@example.org", "用户@例子.广告", ""):
        expected = hmac.new(key, address.encode(), hashlib.sha256).hexdigest()
        assert hasher(key)(address) == expected
