"""Embedded-mode rules and one-line user errors, through the real console script."""

import sqlite3

import pytest
import sqlalchemy as sa

from tests.support.process import clean_env, run_newsletter


def test_db_upgrade_in_an_empty_folder_creates_the_instance(tmp_path):
    """`newsletter db upgrade` with nothing configured builds ./instance/ and its database."""
    result = run_newsletter("db", "upgrade", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "instance" / "secret_key").is_file()
    with sqlite3.connect(tmp_path / "instance" / "newsletter.db") as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master")}
    assert {"subscriber", "subscription", "consent_event", "alembic_version"} <= tables


def test_unreachable_database_is_one_line_with_the_password_masked(tmp_path):
    """A dead PostgreSQL URL gives exit 1, one line, its URL shown without the password."""
    env = clean_env(DATABASE_URL="postgresql://news:hunter2secret@127.0.0.1:1/news", SECRET_KEY="k")
    result = run_newsletter("lists", "create", "news", "--name", "News", cwd=tmp_path, env=env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "postgresql+psycopg://news:***@127.0.0.1:1/news" in lines[0]
    assert "hunter2secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_commands_refuse_a_schema_that_is_behind(tmp_path):
    """With DATABASE_URL set, a command on an unmigrated database names `db upgrade`."""
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}", SECRET_KEY="k")
    result = run_newsletter("lists", "create", "news", "--name", "News", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: the database schema is not up to date; run `newsletter db upgrade` first"
    ]
    assert not (tmp_path / "instance").exists()
    assert run_newsletter("db", "upgrade", cwd=tmp_path, env=env).returncode == 0


def test_missing_secret_key_in_production_mode_is_one_line(tmp_path):
    """DATABASE_URL without SECRET_KEY stops every command with a clear sentence."""
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}")
    result = run_newsletter("db", "upgrade", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: SECRET_KEY is required when DATABASE_URL is set"


def test_usage_errors_exit_2(tmp_path):
    """An unknown option is a usage error, not a user error."""
    result = run_newsletter("lists", "create", "--bogus", cwd=tmp_path)
    assert result.returncode == 2


def test_db_upgrade_builds_an_empty_postgresql_database(tmp_path, database_url):
    """`newsletter db upgrade` against an empty PostgreSQL database (run when CI gives one)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL names no PostgreSQL server")
    url = sa.make_url(database_url)
    name = f"{url.database}_upgrade"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    target = url.set(database=name).render_as_string(hide_password=False)
    try:
        env = clean_env(DATABASE_URL=target, SECRET_KEY="k")
        result = run_newsletter("db", "upgrade", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        engine = sa.create_engine(target)
        with engine.connect() as connection:
            tables = set(sa.inspect(connection).get_table_names())
        engine.dispose()
        assert {"subscriber", "subscription", "suppression_entry", "audit_event"} <= tables
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
