"""`newsletter bounces serve` as an operator runs it: a process that receives real bounces."""

from __future__ import annotations

import signal
import socket

import pytest
import sqlalchemy as sa

from newsletter import suppression
from newsletter.extensions import db
from newsletter.models import Delivery, DeliveryStatus, SuppressionReason
from tests.bounces.conftest import render, return_path, send
from tests.factories import make_issue, start
from tests.support.process import clean_env, run_newsletter
from tests.support.serve_process import RunningCommand
from tests.support.servers import free_port

BOUNCE_DOMAIN = "bounce.example.org"


@pytest.fixture
def config_overrides():
    return {"BOUNCE_DOMAIN": BOUNCE_DOMAIN}


@pytest.fixture
def env(app):
    """The child's environment: the test database and the test app's keys."""
    config = app.config
    return clean_env(
        DATABASE_URL=config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=config["SECRET_KEY"],
        SUPPRESSION_KEY=config["SUPPRESSION_KEY"],
        BOUNCE_DOMAIN=BOUNCE_DOMAIN,
    )


def test_bounces_serve_receives_a_bounce_and_stops_on_ctrl_c(make, env, tmp_path):
    """A Postfix DSN sent to the running command suppresses the address; SIGINT exits 0."""
    news = make.list("news")
    make.subscriber("jo@example.com", lists=[news])
    issue = make_issue(make, [news])
    start(issue)
    delivery = db.session.scalars(sa.select(Delivery)).one()
    delivery.status = DeliveryStatus.SENT
    db.session.commit()

    port = free_port()
    command = RunningCommand("bounces", "serve", "--port", str(port), cwd=tmp_path, env=env)
    try:
        command.wait_for_line(rf"Bounce receiver for {BOUNCE_DOMAIN} on 127\.0\.0\.1:{port}")
        server = type("Server", (), {"host": "127.0.0.1", "port": port})
        send(server, render("postfix_hard.eml", delivery), return_path(delivery.id))
        assert command.interrupt(signal.SIGINT) == 0
    finally:
        command.kill()
    db.session.expire_all()
    assert suppression.active_reasons("jo@example.com") == {SuppressionReason.HARD_BOUNCE}
    assert "jo@example.com" not in command.stderr


def test_a_taken_port_is_one_line_and_exit_1(env, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_newsletter("bounces", "serve", "--port", str(port), cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: cannot listen on 127.0.0.1:")
    assert "Traceback" not in result.stderr
