"""Migration 0015 gives every person already held their suppression hash."""

from __future__ import annotations

import flask_migrate
import pytest
import sqlalchemy as sa

from newsletter import create_app
from newsletter.extensions import MIGRATIONS_DIR, db
from newsletter.models import Subscriber, SuppressionReason
from newsletter.subscriptions import audience
from newsletter.suppression import address_hash, suppress
from tests.support.configuration import base_config

PEOPLE = ["ann@example.com", "zoë@exämple.org", "δοκιμή@παράδειγμα.δοκιμή"]


@pytest.mark.parametrize("configured_key", ["an-operators-key", None])
def test_people_held_before_0015_get_their_hash_and_filter_as_suppressed(
    fresh_database_url, configured_key
):
    """At 0014, people exist and one is suppressed; after the upgrade each has the hash the
    app computes (with SUPPRESSION_KEY, or the key stored, made by the migration if none)."""
    app = create_app(base_config(fresh_database_url, SUPPRESSION_KEY=configured_key))
    with app.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS_DIR), revision="0014")
        with db.engine.begin() as connection:
            for n, email in enumerate(PEOPLE):
                connection.execute(
                    sa.text(
                        "INSERT INTO subscriber (email, email_key, name, attributes,"
                        " unsubscribe_token, created_via, created_at, updated_at)"
                        " VALUES (:e, :e, '', '{}', :t, 'import', :now, :now)"
                    ),
                    {"e": email, "t": f"token-{n}", "now": "2026-01-01 00:00:00+00:00"},
                )
        flask_migrate.upgrade(directory=str(MIGRATIONS_DIR))
        rows = db.session.execute(sa.select(Subscriber.email_key, Subscriber.key_hash))
        hashes = {key: key_hash for key, key_hash in rows}
        assert hashes == {email: address_hash(email) for email in PEOPLE}
        suppress("zoë@exämple.org", SuppressionReason.HARD_BOUNCE)
        db.session.commit()
        found = audience.find_subscribers(audience.Filters(suppressed=True))
        assert [row.email for row in found.rows] == ["zoë@exämple.org"]
        db.session.remove()
        db.engine.dispose()
