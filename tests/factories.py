"""Builders for the rows tests need, made through the domain code where it exists.

`make` (the fixture) builds accounts, lists and subscribers; the functions below build people
pending confirmation, issues at each stage of sending (draft, ledger written, marked sent,
mailed) and finished imports.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from newsletter.accounts import create_account, set_disabled
from newsletter.addresses import parse_address
from newsletter.cli import main
from newsletter.compose.issues import create_issue
from newsletter.consent import Origin
from newsletter.delivery.control import send_issue
from newsletter.delivery.in_process import send_in_process
from newsletter.extensions import db
from newsletter.lists import create_list
from newsletter.models import (
    Delivery,
    DeliveryStatus,
    ImportJob,
    Issue,
    IssueStatus,
    OptInLevel,
    Subscriber,
    Subscription,
    SubscriptionStatus,
)
from newsletter.models.base import utcnow
from newsletter.subscriptions.signup import request_subscription
from newsletter.suppression import address_hash, sync_flags

# The password of every account a test makes, unless the test says otherwise.
PASSWORD = "correct horse battery"

_counter = itertools.count(1)


class Factories:
    def __init__(self, app) -> None:
        self.app = app

    def account(
        self,
        email: str | None = None,
        password: str = PASSWORD,
        role: str = "admin",
        disabled: bool = False,
    ):
        email = email or f"staff{next(_counter)}@example.org"
        account = create_account(email, password, role=role, actor="test")
        if disabled:
            set_disabled(account, True, actor=None)
        return account

    def list(self, slug: str | None = None, name: str | None = None, **options):
        slug = slug or f"list-{next(_counter)}"
        return create_list(
            slug, name=name or slug.replace("-", " ").title(), actor="test", **options
        )

    def subscriber(
        self, email: str | None = None, lists=(), status: str = "confirmed", name: str = ""
    ):
        address = parse_address(email or f"person{next(_counter)}@example.com")
        subscriber = Subscriber(
            email=address.email,
            email_key=address.key,
            key_hash=address_hash(address.key),
            name=name,
        )
        db.session.add(subscriber)
        sync_flags([subscriber.key_hash])  # as the app's own writes of a person do
        for mailing_list in lists:
            db.session.add(
                Subscription(
                    subscriber=subscriber,
                    list_id=mailing_list.id,
                    status=SubscriptionStatus(status),
                    opt_in_level=OptInLevel.CONFIRMED,
                )
            )
        db.session.commit()
        return subscriber


def pending_person(email: str, *lists) -> int:
    """A person pending on `lists`, made by the domain without enqueueing anything; their id."""
    result = request_subscription(
        parse_address(email), "", list(lists), Origin(source="test"), "wording"
    )
    return result.subscriber_id


# Issues, from draft to mailed.


def make_issue(make, lists, subject="Spring news", body="Hello **everyone**.\n") -> Issue:
    """A draft issue to the given lists."""
    return create_issue(subject, body, [ml.slug for ml in lists], actor="test")


def start(issue: Issue) -> int:
    """Write the ledger without enqueueing anything; returns the number of recipients."""
    return send_issue(issue, "test", dispatch=False)


def send_here(issue: Issue) -> IssueStatus:
    """Send every row of the issue in this process and return the issue's final status."""
    return send_in_process(issue.id)


def sent_issue(
    make,
    lists,
    subject="Spring news",
    body="Hello **everyone**.\n",
    *,
    statuses: list[DeliveryStatus] | None = None,
    age_days: int = 0,
) -> Issue:
    """An issue whose ledger rows are marked sent, without any mail going out.

    `statuses` gives the rows their statuses instead, in row order (rows past its end stay
    queued); `age_days` dates the start that many days back.
    """
    issue = make_issue(make, lists, subject=subject, body=body)
    start(issue)
    rows = deliveries(issue)
    for row, status in zip(rows, statuses or [DeliveryStatus.SENT] * len(rows), strict=False):
        row.status = status
    if age_days:
        issue.started_at = utcnow() - timedelta(days=age_days)
    db.session.commit()
    return issue


def mailed_issue(make, lists, **fields) -> Issue:
    """An issue sent in this process through the app's SMTP relay (a sink fixture)."""
    issue = make_issue(make, lists, **fields)
    start(issue)
    send_here(issue)
    return issue


def deliveries(issue: Issue) -> list[Delivery]:
    """The issue's ledger rows, in the order they were written."""
    query = sa.select(Delivery).where(Delivery.issue_id == issue.id).order_by(Delivery.id)
    return list(db.session.scalars(query))


def statuses(issue: Issue) -> dict[str, str]:
    """email → delivery status of the issue's rows."""
    rows = db.session.execute(
        sa.select(Delivery.email, Delivery.status).where(Delivery.issue_id == issue.id)
    )
    result = {email: status.value for email, status in rows}
    db.session.commit()
    return result


# Imports.

# Real exports of other providers, as their users download them (tests/imports/fixtures).
EXPORTS = Path(__file__).parent / "imports" / "fixtures"


def export_file(name: str) -> Path:
    """A sample export file by name."""
    return EXPORTS / name


def finished_import(runner, path: Path | str, *args: str, list_slug: str = "news") -> ImportJob:
    """Run `newsletter import PATH --list SLUG ARGS` to success; returns its job."""
    result = runner.invoke(main, ["import", str(path), "--list", list_slug, *args])
    assert result.exit_code == 0, (result.output, result.exception)
    db.session.expire_all()
    return db.session.scalars(sa.select(ImportJob).order_by(ImportJob.id.desc())).first()
