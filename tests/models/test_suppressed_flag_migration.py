"""Migration 0021 flags every person held against whose address a reason stands."""

from __future__ import annotations

import flask_migrate
import sqlalchemy as sa

from newsletter import create_app
from newsletter.extensions import MIGRATIONS_DIR, db
from newsletter.models import Subscriber
from newsletter.subscriptions import audience
from tests.support.configuration import base_config

NOW = "2026-01-01 00:00:00+00:00"


def _person(connection, n: int, email: str) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO subscriber (email, email_key, key_hash, name, attributes,"
            " unsubscribe_token, created_via, created_at, updated_at)"
            " VALUES (:e, :e, :h, '', '{}', :t, 'import', :now, :now)"
        ),
        {"e": email, "h": f"hash-{email}", "t": f"token-{n}", "now": NOW},
    )


def _reasons(connection, email: str, *lifted: bool) -> None:
    entry = connection.execute(
        sa.text("INSERT INTO suppression_entry (key_hash, created_at) VALUES (:h, :now)"),
        {"h": f"hash-{email}", "now": NOW},
    )
    entry_id = entry.lastrowid if connection.dialect.name == "sqlite" else None
    if entry_id is None:
        entry_id = connection.scalar(
            sa.text("SELECT id FROM suppression_entry WHERE key_hash = :h"),
            {"h": f"hash-{email}"},
        )
    for was_lifted in lifted:
        connection.execute(
            sa.text(
                "INSERT INTO suppression_entry_reason (entry_id, reason, given_at, note,"
                " lifted_at, lifted_by) VALUES (:e, 'hard_bounce', :now, '', :l, :b)"
            ),
            {"e": entry_id, "now": NOW, "l": NOW if was_lifted else None,
             "b": "admin" if was_lifted else None},
        )  # fmt: skip


def test_people_held_before_0021_are_flagged_from_the_standing_reasons(fresh_database_url):
    """At 0020: one person with a standing reason (beside a lifted one), one whose only
    reason was lifted, one never suppressed, and an entry nobody holds. After the upgrade
    only the first is flagged, and the filter finds them; the downgrade drops the column."""
    app = create_app(base_config(fresh_database_url, SUPPRESSION_KEY="an-operators-key"))
    with app.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS_DIR), revision="0020")
        with db.engine.begin() as connection:
            for n, email in enumerate(["ann@example.com", "bob@example.com", "cy@example.com"]):
                _person(connection, n, email)
            _reasons(connection, "ann@example.com", True, False)
            _reasons(connection, "bob@example.com", True)
            _reasons(connection, "nobody@example.com", False)
        flask_migrate.upgrade(directory=str(MIGRATIONS_DIR))
        rows = db.session.execute(sa.select(Subscriber.email_key, Subscriber.suppressed))
        assert {key: bool(flag) for key, flag in rows} == {
            "ann@example.com": True,
            "bob@example.com": False,
            "cy@example.com": False,
        }
        found = audience.find_subscribers(audience.Filters(suppressed=True))
        assert [row.email for row in found.rows] == ["ann@example.com"]
        assert audience.count_subscribers(audience.Filters(suppressed=True)).n == 1
        db.session.remove()
        flask_migrate.downgrade(directory=str(MIGRATIONS_DIR), revision="0020")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("subscriber")}
        assert "suppressed" not in columns and "key_hash" in columns
        db.session.remove()
        db.engine.dispose()
