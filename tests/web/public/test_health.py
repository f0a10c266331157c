"""/healthz: the database and the broker, 200 when both answer, 503 naming what does not."""

from __future__ import annotations

import pytest

from newsletter import create_app
from newsletter.background.broker import EMBEDDED_WORKER
from tests.support.configuration import base_config
from tests.support.servers import free_port


def test_embedded_mode_with_its_worker_running_is_healthy(app, client):
    """Without REDIS_URL the broker is ok while this process's in-process worker runs."""
    app.extensions[EMBEDDED_WORKER] = True
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "broker": "ok"}


def test_embedded_mode_without_a_worker_is_unhealthy(client):
    """Without REDIS_URL and no worker in this process the broker check fails with a reason."""
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["broker"] == "no worker running (embedded mode without serve)"


@pytest.mark.redis
def test_reachable_redis_is_healthy(app, client, redis_url):
    """With REDIS_URL, a Redis that answers PING makes the broker ok."""
    app.config["REDIS_URL"] = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"database": "ok", "broker": "ok"}


def test_dead_redis_is_503_without_its_password(app, client):
    """A Redis URL at a dead port is a 503 whose reason is short and carries no secret."""
    app.config["REDIS_URL"] = f"redis://:hunter2secret@127.0.0.1:{free_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("unavailable")
    assert "hunter2secret" not in response.get_data(as_text=True)
    assert "127.0.0.1" not in body["broker"]


def test_unreachable_database_is_503(tmp_path):
    """A database that cannot be opened is reported, not raised."""
    missing = tmp_path / "no-such-folder" / "news.db"
    app = create_app(base_config(f"sqlite:///{missing}"))
    app.extensions[EMBEDDED_WORKER] = True
    with app.app_context():
        response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["broker"] == "ok"
    assert body["database"].startswith("unavailable")
    assert str(missing) not in body["database"]
