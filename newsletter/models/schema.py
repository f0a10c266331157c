"""Keeping the database schema in step with the code (Alembic through Flask-Migrate)."""

from __future__ import annotations

import flask_migrate
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from newsletter.errors import SchemaBehindError
from newsletter.extensions import MIGRATIONS_DIR, db

# Indexes that migrations create on PostgreSQL only, on expressions the models do not describe:
# autogenerate must neither miss them on SQLite nor propose dropping them on PostgreSQL.
DATABASE_ONLY_INDEXES = frozenset({"ix_subscriber_search_trgm"})


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate's filter: leave DATABASE_ONLY_INDEXES out of the comparison."""
    return not (type_ == "index" and name in DATABASE_ONLY_INDEXES)


def upgrade_schema(app: Flask) -> None:
    """Apply every pending migration."""
    with app.app_context():
        flask_migrate.upgrade(directory=str(MIGRATIONS_DIR))


def schema_is_current(app: Flask) -> bool:
    """True when the database is at the newest migration."""
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config(str(MIGRATIONS_DIR))
        heads = set(ScriptDirectory.from_config(config).get_heads())
        with db.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    return current == heads


def prepare_schema(app: Flask) -> None:
    """Embedded mode brings SQLite up to date; otherwise refuse to run on an old schema."""
    if app.config.get("EMBEDDED"):
        upgrade_schema(app)
    elif not schema_is_current(app):
        raise SchemaBehindError(
            "the database schema is not up to date; run `newsletter db upgrade` first"
        )
