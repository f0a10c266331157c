"""The migrations build the schema the models describe."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from newsletter.extensions import db
from newsletter.models.schema import include_object, schema_is_current


def test_migrated_schema_matches_the_models(app):
    """Alembic finds nothing to autogenerate after `db upgrade`: no drift."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_object": include_object,
            },
        )
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_migrated_database_is_at_head(app):
    """The migrated test database counts as current."""
    assert schema_is_current(app)


def test_every_model_table_exists_after_upgrade(app):
    """Each model's table was created by the migrations."""
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {t.name for t in db.metadata.sorted_tables} <= tables
