"""The bounce receiver on a free port, deliveries to bounce, and real reports to send it."""

from __future__ import annotations

import smtplib
from pathlib import Path
from string import Template

import pytest

from newsletter.bounces.receiver import BounceServer
from newsletter.mail.return_path import signer
from newsletter.models import Delivery
from tests import factories
from tests.support.servers import free_port

FIXTURES = Path(__file__).parent / "fixtures"
BOUNCE_DOMAIN = "bounce.example.org"


@pytest.fixture
def config_overrides():
    return {"BOUNCE_DOMAIN": BOUNCE_DOMAIN, "BOUNCE_COMPLAINTS_ADDRESS": f"fbl@{BOUNCE_DOMAIN}"}


@pytest.fixture
def bounce_server(app):
    """`newsletter bounces serve`'s server, started on a free port."""
    server = BounceServer(app, "127.0.0.1", free_port())
    server.start()
    yield server
    server.stop()


def return_path(delivery_id: int) -> str:
    return signer().address(delivery_id)


def render(name: str, delivery: Delivery | None = None, **values: str) -> bytes:
    """A fixture report addressed to the delivery's return path, with CRLF line endings."""
    text = (FIXTURES / name).read_bytes().decode("latin-1")
    if delivery is not None:
        values.setdefault("RETURN_PATH", return_path(delivery.id))
        values.setdefault("RECIPIENT", delivery.email)
    values.setdefault("COMPLAINTS", f"fbl@{BOUNCE_DOMAIN}")
    text = Template(text).safe_substitute(values)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("latin-1")


def send(server, raw: bytes, to: str) -> None:
    """Deliver a report over SMTP as a mail server would: null sender, one recipient."""
    with smtplib.SMTP(server.host, server.port, timeout=30) as smtp:
        smtp.sendmail("", [to], raw)


def send_report(server, name: str, delivery: Delivery, to: str | None = None) -> None:
    send(server, render(name, delivery), to or return_path(delivery.id))


@pytest.fixture
def delivered_to(make):
    """The ledger rows of an issue marked sent (factories.sent_issue) to the given people."""

    def build(people, lists, subject="Spring news"):
        issue = factories.sent_issue(make, lists, subject=subject)
        by_subscriber = {row.subscriber_id: row for row in factories.deliveries(issue)}
        return [by_subscriber[person.id] for person in people]

    return build
