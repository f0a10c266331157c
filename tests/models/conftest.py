"""Fixtures of the model and migration tests."""

from __future__ import annotations

import pytest
import sqlalchemy as sa


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path):
    """An empty database of its own, beside the suite's migrated one."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migration.db'}"
        return
    url = sa.make_url(database_url)
    name = f"{url.database}_fresh"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
