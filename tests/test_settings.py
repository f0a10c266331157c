"""Settings kept in the database: the suppression key and the first-run setup token."""

from newsletter.extensions import db
from newsletter.models import AppSetting
from newsletter.settings import (
    consume_setup_token,
    issue_setup_token,
    setup_token_is_valid,
    suppression_key,
)


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


def test_setup_token_works_until_an_account_exists(app, make):
    """The first-run link is valid only while there is no account."""
    token = issue_setup_token()
    assert token and setup_token_is_valid(token)
    assert not setup_token_is_valid(token + "x")
    make.account()
    assert not setup_token_is_valid(token)
    assert issue_setup_token() is None


def test_consumed_setup_token_is_forgotten(app):
    """After use the stored digest is gone, so the link cannot be replayed."""
    token = issue_setup_token()
    consume_setup_token()
    assert not setup_token_is_valid(token)


def test_stored_suppression_key_is_read_once_per_app(app):
    """Hashing many addresses does not query the stored key each time."""
    from tests.queries import recorded_statements

    app.config["SUPPRESSION_KEY"] = None
    first = suppression_key()
    with recorded_statements() as statements:
        assert suppression_key() == first
    assert statements == []
