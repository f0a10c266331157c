"""The mailto of List-Unsubscribe: a mail to `unsubscribe+TOKEN@` leaves the issue's lists."""

from __future__ import annotations

import re
import smtplib

import pytest

from newsletter.extensions import db
from newsletter.mail.return_path import signer
from newsletter.models import ConsentEvent, ConsentMethod, SubscriptionStatus
from tests.bounces.conftest import BOUNCE_DOMAIN, send
from tests.factories import mailed_issue

REQUEST = b"From: ann@example.com\r\nSubject: unsubscribe\r\n\r\nunsubscribe\r\n"


@pytest.fixture
def lists(make):
    return make.list("news", name="News"), make.list("jobs", name="Jobs")


def statuses(subscriber) -> dict[str, SubscriptionStatus]:
    db.session.expire_all()
    return {s.mailing_list.slug: s.status for s in subscriber.subscriptions}


def test_each_newsletter_names_its_delivery_in_a_mailto(app, make, lists, smtp_sink):
    """List-Unsubscribe carries the https link and a mailto on BOUNCE_DOMAIN, one per delivery."""
    news, _ = lists
    make.subscriber(email="ann@example.com", lists=[news])
    mailed_issue(make, [news])
    [message] = smtp_sink.wait_for(1)
    header = message.message["List-Unsubscribe"]
    match = re.fullmatch(r"<https?://[^>]+>, <mailto:(unsubscribe\+[a-z2-7]+@[^>]+)>", header)
    assert match and match.group(1).endswith("@" + BOUNCE_DOMAIN)
    assert message.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_mail_to_the_mailto_leaves_the_issues_lists_only(
    bounce_server, make, lists, delivered_to
):
    """Like the one-click link: the issue's lists are left, others kept, evidence written."""
    news, jobs = lists
    ann = make.subscriber(email="ann@example.com", lists=[news, jobs])
    [delivery] = delivered_to([ann], [news])
    send(bounce_server, REQUEST, signer().unsubscribe_address(delivery.id).upper())
    assert statuses(ann) == {
        "news": SubscriptionStatus.UNSUBSCRIBED,
        "jobs": SubscriptionStatus.CONFIRMED,
    }
    event = db.session.scalars(
        db.select(ConsentEvent)
        .where(ConsentEvent.subscriber_id == ann.id)
        .order_by(ConsentEvent.id.desc())
    ).first()
    assert event.method == ConsentMethod.ONE_CLICK
    assert event.source == "List-Unsubscribe mailto"


def test_a_forged_mailto_changes_nothing(bounce_server, make, lists, delivered_to, caplog):
    """A token that is not ours is refused at RCPT (forging the HMAC is out of reach, so the
    550 teaches nothing) and never logged."""
    news, _ = lists
    ann = make.subscriber(email="ann@example.com", lists=[news])
    delivered_to([ann], [news])
    forged = f"unsubscribe+{'a' * 26}@{BOUNCE_DOMAIN}"
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(bounce_server, REQUEST, forged)
    assert refused.value.recipients[forged][0] == 550
    assert statuses(ann) == {"news": SubscriptionStatus.CONFIRMED}
    assert forged not in caplog.text and "a" * 26 not in caplog.text
