"""Real DSNs and ARF reports sent over SMTP to `bounces serve`'s receiver, and their effects."""

from __future__ import annotations

import logging
import smtplib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from newsletter import suppression
from newsletter.bounces.receiver import Mailboxes
from newsletter.extensions import db
from newsletter.models import (
    Bounce,
    BounceKind,
    ConsentAction,
    ConsentEvent,
    Delivery,
    DeliveryStatus,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.rights import erase_person
from tests.bounces.conftest import (
    BOUNCE_DOMAIN,
    render,
    return_path,
    send,
    send_report,
)

HARD_BOUNCES = [
    "postfix_hard.eml",
    "exim_hard.eml",
    "exim_plain_hard.eml",
    "exchange_hard.eml",
    "yahoo_hard.eml",
]


@pytest.fixture
def person(make, news):
    return make.subscriber("jo@example.com", lists=[news])


def reasons(email_key: str) -> set[SuppressionReason]:
    db.session.expire_all()
    return suppression.active_reasons(email_key)


def events(subscriber_id: int) -> list[ConsentEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(ConsentEvent)
            .where(ConsentEvent.subscriber_id == subscriber_id)
            .order_by(ConsentEvent.id)
        )
    )


@pytest.mark.parametrize("fixture", HARD_BOUNCES)
def test_a_hard_bounce_marks_the_delivery_bounced_and_suppresses(
    bounce_server, person, news, delivered_to, fixture
):
    """Postfix, Exim, Exchange and Yahoo failures all suppress the address they name."""
    (delivery,) = delivered_to([person], [news])
    send_report(bounce_server, fixture, delivery)

    db.session.expire_all()
    assert db.session.get(Delivery, delivery.id).status == DeliveryStatus.BOUNCED
    assert reasons("jo@example.com") == {SuppressionReason.HARD_BOUNCE}
    bounced = [e for e in events(person.id) if e.action == ConsentAction.BOUNCED]
    assert len(bounced) == 1
    assert bounced[0].detail["kind"] == "hard"
    assert bounced[0].detail["delivery_id"] == delivery.id


def test_the_dsn_status_code_is_kept_with_the_bounce(bounce_server, person, news, delivered_to):
    """The subscriber page can say why: 5.1.1 from the delivery-status part."""
    (delivery,) = delivered_to([person], [news])
    send_report(bounce_server, "postfix_hard.eml", delivery)
    bounce = db.session.scalar(sa.select(Bounce))
    assert (bounce.kind, bounce.status_code, bounce.issue_id) == (
        BounceKind.HARD,
        "5.1.1",
        delivery.issue_id,
    )


def test_one_soft_bounce_suppresses_nothing(bounce_server, person, news, delivered_to):
    """A full mailbox once is a consent event, not a suppression; the delivery stays sent."""
    (delivery,) = delivered_to([person], [news])
    send_report(bounce_server, "postfix_soft.eml", delivery)
    assert reasons("jo@example.com") == set()
    db.session.expire_all()
    assert db.session.get(Delivery, delivery.id).status == DeliveryStatus.SENT
    assert [e.detail["kind"] for e in events(person.id)] == ["soft"]


def test_soft_bounces_from_three_issues_within_30_days_suppress(
    bounce_server, person, news, delivered_to
):
    """The third issue to soft-bounce in a month gives the reason `soft_bounces`."""
    for n in range(3):
        (delivery,) = delivered_to([person], [news], subject=f"Issue {n}")
        send_report(bounce_server, "postfix_soft.eml", delivery)
        expected = {SuppressionReason.SOFT_BOUNCES} if n == 2 else set()
        assert reasons("jo@example.com") == expected


def test_soft_bounces_of_one_issue_count_once(bounce_server, make, person, news, delivered_to):
    """Three reports about the same issue are one issue, not three."""
    (delivery,) = delivered_to([person], [news])
    for _ in range(3):
        send_report(bounce_server, "postfix_soft.eml", delivery)
    assert reasons("jo@example.com") == set()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bounce)) == 1


def test_soft_bounces_older_than_the_window_do_not_count(bounce_server, person, news, delivered_to):
    """Two soft bounces 31 days ago and one today are not three within 30 days."""
    for n in range(2):
        (delivery,) = delivered_to([person], [news], subject=f"Old {n}")
        send_report(bounce_server, "postfix_soft.eml", delivery)
    for bounce in db.session.scalars(sa.select(Bounce)):
        bounce.received_at -= timedelta(days=31)
    db.session.commit()
    (delivery,) = delivered_to([person], [news], subject="New")
    send_report(bounce_server, "postfix_soft.eml", delivery)
    assert reasons("jo@example.com") == set()


def test_the_soft_bounce_threshold_is_configurable(app, bounce_server, person, news, delivered_to):
    """BOUNCE_SOFT_LIMIT=1 suppresses at the first soft bounce."""
    app.config["BOUNCE_SOFT_LIMIT"] = 1
    (delivery,) = delivered_to([person], [news])
    send_report(bounce_server, "postfix_soft.eml", delivery)
    assert reasons("jo@example.com") == {SuppressionReason.SOFT_BOUNCES}


@pytest.mark.parametrize("fixture", ["yahoo_arf.eml", "microsoft_arf.eml"])
def test_a_complaint_unsubscribes_from_every_list_and_suppresses(
    bounce_server, make, news, delivered_to, fixture
):
    """An ARF report to the feedback-loop address finds the delivery from the quoted return path."""
    other = make.list("events")
    person = make.subscriber("jo@example.com", lists=[news, other])
    (delivery,) = delivered_to([person], [news])
    send_report(bounce_server, fixture, delivery, to=f"fbl@{BOUNCE_DOMAIN}")

    db.session.expire_all()
    assert {s.status for s in person.subscriptions} == {SubscriptionStatus.UNSUBSCRIBED}
    assert SuppressionReason.COMPLAINT in reasons("jo@example.com")
    actions = [(e.action, e.method.value) for e in events(person.id)]
    assert (ConsentAction.COMPLAINED, "complaint") in actions
    assert actions.count((ConsentAction.UNSUBSCRIBED, "complaint")) == 2


def test_a_complaint_sent_to_the_return_path_counts_too(bounce_server, person, news, delivered_to):
    """Some feedback loops report to the envelope sender instead."""
    (delivery,) = delivered_to([person], [news])
    send_report(bounce_server, "yahoo_arf.eml", delivery)
    assert SuppressionReason.COMPLAINT in reasons("jo@example.com")


def test_addresses_not_ours_are_refused_at_rcpt(bounce_server):
    """Other domains, and other local parts of ours, get 550."""
    for address in ("someone@example.com", f"postmaster@{BOUNCE_DOMAIN}", "bounces+x@other.org"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(bounce_server, b"Subject: hi\r\n\r\nhello\r\n", address)
        assert refused.value.recipients[address][0] == 550


def test_a_forged_or_malformed_token_is_refused_at_rcpt(
    bounce_server, person, news, delivered_to, caplog
):
    """A return path of ours whose signature fails, or that is no token at all, gets 550 at
    RCPT: no message is read, nobody is suppressed, and the log holds no token."""
    (delivery,) = delivered_to([person], [news])
    genuine = return_path(delivery.id)
    local, domain = genuine.split("@")
    forged = f"{local[:-4]}{'aaaa' if not local.endswith('aaaa') else 'bbbb'}@{domain}"
    caplog.set_level(logging.INFO, logger="newsletter.bounces")
    for address in (forged, f"bounces+{'a' * 26}@{domain}", f"bounces+x@{domain}"):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            send(bounce_server, render("postfix_hard.eml", delivery, RETURN_PATH=address), address)
        assert refused.value.recipients[address][0] == 550

    assert reasons("jo@example.com") == set()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Bounce)) == 0
    assert local[len("bounces+") :] not in caplog.text
    assert "jo@example.com" not in caplog.text


def test_a_genuine_token_is_still_accepted_in_capitals(bounce_server, person, news, delivered_to):
    """The signature check at RCPT survives a server that upper-cases the local part."""
    (delivery,) = delivered_to([person], [news])
    send(bounce_server, render("postfix_hard.eml", delivery), return_path(delivery.id).upper())
    assert reasons("jo@example.com") == {SuppressionReason.HARD_BOUNCE}


@pytest.mark.parametrize("fixture", ["malformed.eml", "auto_reply.eml", "postfix_delayed.eml"])
def test_what_is_not_a_bounce_is_dropped(
    bounce_server, person, news, delivered_to, fixture, caplog
):
    """Garbage, an out-of-office reply and a delay notice are accepted, logged and ignored."""
    (delivery,) = delivered_to([person], [news])
    caplog.set_level(logging.INFO, logger="newsletter.bounces")
    send_report(bounce_server, fixture, delivery)

    assert reasons("jo@example.com") == set()
    assert events(person.id) == []
    assert "dropped" in caplog.text
    assert "jo@example.com" not in caplog.text


def test_the_receiver_keeps_serving_after_garbage(bounce_server, person, news, delivered_to):
    """A malformed message first, then a real bounce on a new connection: both answered."""
    (delivery,) = delivered_to([person], [news])
    send(bounce_server, b"\x00\xff not mail at all", return_path(delivery.id))
    send_report(bounce_server, "postfix_hard.eml", delivery)
    assert reasons("jo@example.com") == {SuppressionReason.HARD_BOUNCE}


def test_a_bounce_for_a_delivery_no_longer_held_is_dropped(
    bounce_server, person, news, delivered_to
):
    """After the person was erased their old return path leads nowhere."""
    (delivery,) = delivered_to([person], [news])
    address = return_path(delivery.id)
    report = render("postfix_hard.eml", delivery)
    erase_person("jo@example.com", actor="test")
    send(bounce_server, report, address)
    assert reasons("jo@example.com") == {SuppressionReason.ERASED}


def test_a_report_naming_two_of_our_deliveries_bounces_both(
    bounce_server, make, news, delivered_to
):
    """One message to two return paths (a relay batching its reports) acts on each."""
    first = make.subscriber("a@example.com", lists=[news])
    second = make.subscriber("b@example.com", lists=[news])
    one, two = delivered_to([first, second], [news])
    with smtplib.SMTP(bounce_server.host, bounce_server.port, timeout=30) as smtp:
        smtp.sendmail(
            "", [return_path(one.id), return_path(two.id)], render("exim_plain_hard.eml", one)
        )
    assert reasons("a@example.com") == reasons("b@example.com") == {SuppressionReason.HARD_BOUNCE}


def test_an_international_bounce_domain_is_matched_in_either_form(app):
    """complaints@ on an IDN bounce domain is ours whether the sender writes it in ASCII or not."""
    app.config["BOUNCE_DOMAIN"] = "bücher.example"
    app.config["BOUNCE_COMPLAINTS_ADDRESS"] = "complaints@bücher.example"
    mailboxes = Mailboxes(app)
    for address in ("complaints@xn--bcher-kva.example", "Complaints@Bücher.example"):
        assert mailboxes.accepts(address) and mailboxes.is_complaints(address)
    for address in ("complaints@example.org", "complaints@a..b", "postmaster@bücher.example"):
        assert not mailboxes.accepts(address)
