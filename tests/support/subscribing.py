"""Helpers for tests of the subscriber's journey through HTTP and the real mail path."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from newsletter.background.enqueue import QUEUE_SYSTEM
from newsletter.extensions import db
from newsletter.models import (
    ConsentEvent,
    Subscriber,
    Subscription,
    SubscriptionStatus,
    SuppressionEntry,
    SuppressionEntryReason,
)

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
# BASE_URL of the test configuration; every link in a mail starts with it.
BASE_URL = "http://localhost"


@pytest.fixture
def news(make):
    return make.list("news", name="News", description="Monthly news from the coalition.")


@pytest.fixture
def jobs(make):
    return make.list("jobs", name="Jobs", description="Vacancies, every Friday.")


def sign_up(client, email: str, *slugs: str, name: str = "", ip: str = "192.0.2.10", **fields):
    """Post the sign-up form as a browser would, from `ip`."""
    data = {"email": email, "name": name, "lists": list(slugs), "website": "", **fields}
    return client.post(
        "/subscribe",
        data=data,
        environ_base={"REMOTE_ADDR": ip},
        headers={"User-Agent": BROWSER},
    )


def deliver(broker, worker) -> None:
    """Let the worker finish everything on the system mail queue."""
    broker.join(QUEUE_SYSTEM)
    worker.join()


class MailPath:
    """The real mail path: enqueued actor, worker thread, SMTP, the aiosmtpd sink."""

    def __init__(self, broker, worker, sink) -> None:
        self.broker, self.worker, self.sink = broker, worker, sink

    def deliver(self) -> list:
        """Run everything queued; every message the sink has received so far."""
        deliver(self.broker, self.worker)
        return list(self.sink.messages)

    def only_message(self):
        """Run everything queued; the one message received (fails on none or several)."""
        messages = self.deliver()
        assert len(messages) == 1, f"expected one message, got {len(messages)}"
        return messages[0]


@pytest.fixture
def mail(smtp_sink, stub_broker, stub_worker) -> MailPath:
    # The sink first, so that it is stopped last: a worker still sending a confirmation when
    # the test ends finishes against a live sink instead of timing out on a closed one.
    return MailPath(stub_broker, stub_worker, smtp_sink)


def link_path(captured, route: str) -> str:
    """The path of the `route` link (confirm, preferences) in a captured mail's text part."""
    found = re.findall(rf"{re.escape(BASE_URL)}(/{route}/[A-Za-z0-9_.\-]+)", captured.text())
    assert len(set(found)) == 1, f"expected one /{route}/ link, found {found}"
    return found[0]


def person(email: str) -> Subscriber | None:
    """The subscriber with this address (in any case), fresh from the database."""
    db.session.expire_all()
    return db.session.scalar(select(Subscriber).where(Subscriber.email_key == email.casefold()))


def statuses(email: str) -> dict[str, SubscriptionStatus]:
    """List slug -> subscription status of the person with this address."""
    subscriber = person(email)
    return {s.mailing_list.slug: s.status for s in subscriber.subscriptions} if subscriber else {}


def events(email: str) -> list[ConsentEvent]:
    """The person's consent events, oldest first."""
    subscriber = person(email)
    return list(
        db.session.scalars(
            select(ConsentEvent)
            .where(ConsentEvent.subscriber_id == subscriber.id)
            .order_by(ConsentEvent.id)
        )
    )


def row_counts() -> dict[str, int]:
    """How many rows each table of the subscriber's journey holds."""
    db.session.expire_all()
    tables = (Subscriber, Subscription, ConsentEvent, SuppressionEntry, SuppressionEntryReason)
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in tables
    }
