"""Subject access and erasure, end to end: the CLI, the admin buttons, and what comes after."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from newsletter import suppression
from newsletter.cli import main
from newsletter.consent import Origin, record_consent
from newsletter.delivery.control import progress
from newsletter.extensions import db
from newsletter.models import (
    AuditEvent,
    Bounce,
    BounceKind,
    ConsentAction,
    ConsentEvent,
    ConsentMethod,
    Delivery,
    DeliveryStatus,
    Issue,
    Subscriber,
    SubscriptionStatus,
    SuppressionReason,
)
from tests.factories import make_issue, start
from tests.support.queries import audit_actions
from tests.support.signin import sign_in
from tests.support.subscribing import link_path, sign_up

# Requests here sign in through the client: each starts with an empty `g`, as in production.
pytestmark = pytest.mark.usefixtures("fresh_globals_per_request")

ADDRESS = "Jo.Bloggs@Example.com"


@pytest.fixture
def person(make, news):
    """Someone with a list, a consent event, an issue sent to them and a soft bounce."""
    subscriber = make.subscriber(ADDRESS, lists=[news], name="Jo Bloggs")
    record_consent(
        subscriber, ConsentAction.CONFIRMED, ConsentMethod.CONFIRM_LINK,
        Origin(source="/confirm/<token>", ip_address="192.0.2.7"), list_id=news.id,
    )  # fmt: skip
    db.session.commit()
    issue = make_issue(make, [news])
    start(issue)
    delivery = db.session.scalars(sa.select(Delivery)).one()
    delivery.status = DeliveryStatus.SENT
    db.session.add(
        Bounce(
            subscriber_id=subscriber.id, issue_id=issue.id, delivery_id=delivery.id,
            kind=BounceKind.SOFT, status_code="4.2.2", detector="dsn",
        )
    )  # fmt: skip
    db.session.commit()
    return subscriber


def test_export_prints_everything_held_as_json(runner, person):
    """Profile, subscriptions, consent events, deliveries, bounces and suppression."""
    suppression.suppress(person.email_key, SuppressionReason.MANUAL, "asked by phone")
    db.session.commit()
    result = runner.invoke(main, ["subscribers", "export", "jo.bloggs@example.com"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["profile"]["name"] == "Jo Bloggs"
    assert [s["list"] for s in data["subscriptions"]] == ["news"]
    assert data["consent_events"][0]["ip_address"] == "192.0.2.7"
    # The raw fields stay; the sentence the admin's history shows comes beside them.
    assert data["consent_events"][0]["method"] == "confirm_link"
    assert data["consent_events"][0]["description"] == (
        "confirmed by the link in the confirmation email"
    )
    assert data["deliveries"][0]["subject"] == "Spring news"
    assert data["deliveries"][0]["status"] == "sent"
    assert data["bounces"][0]["status_code"] == "4.2.2"
    assert data["suppression"]["reasons"][0]["reason"] == "manual"
    assert "unsubscribe_token" not in result.stdout
    assert audit_actions()[-1] == "subscriber.exported"


def test_export_of_an_unknown_address_is_an_error(runner, news):
    """Exit 1 with one line when nothing at all matches."""
    result = runner.invoke(main, ["subscribers", "export", "nobody@example.com"])
    assert result.exit_code == 1
    assert "nothing is held about that address" in result.output


def test_export_after_erasure_shows_the_remaining_suppression_entry(runner, person):
    """An erased person's export is the entry alone: reasons and dates, no profile."""
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    result = runner.invoke(main, ["subscribers", "export", ADDRESS])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["profile"] is None and data["deliveries"] == [] and data["consent_events"] == []
    assert [r["reason"] for r in data["suppression"]["reasons"]] == ["erased"]


def test_erase_deletes_the_person_and_keeps_an_entry_without_the_address(runner, person):
    """Profile, events, bounces and deliveries go; the issue's counts stay; audit by id only."""
    issue_id = db.session.scalar(sa.select(Issue.id))
    result = runner.invoke(main, ["subscribers", "erase", ADDRESS])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    for model in (Subscriber, ConsentEvent, Delivery, Bounce):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == 0
    assert suppression.active_reasons("jo.bloggs@example.com") == {SuppressionReason.ERASED}
    counts = progress(db.session.get(Issue, issue_id))
    assert (counts.recipients, counts.counts["sent"]) == (1, 1)
    erased = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "subscriber.erased")
    ).one()
    assert "example.com" not in json.dumps(erased.detail) + erased.target


def test_erasure_keeps_a_bounce_or_complaint_in_force(runner, person):
    """`erased` joins the reasons the entry had; a hard bounce still blocks."""
    suppression.suppress(person.email_key, SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    assert suppression.active_reasons("jo.bloggs@example.com") == {
        SuppressionReason.HARD_BOUNCE,
        SuppressionReason.ERASED,
    }


def test_an_import_of_an_erased_address_is_refused(runner, person, news, tmp_path):
    """The suppression entry keeps them out of every later import."""
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    source = tmp_path / "people.csv"
    source.write_text("email,name\njo.bloggs@example.com,Jo\n")
    result = runner.invoke(main, ["import", str(source), "--list", "news"])
    assert result.stdout.strip().splitlines()[-1].endswith("rejected 1, duplicates 0")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 0


def test_a_fresh_sign_up_confirmed_by_its_link_brings_them_back(runner, client, person, news, mail):
    """Signing up sends a confirmation; its link lifts `erased` and subscribes again."""
    runner.invoke(main, ["subscribers", "erase", ADDRESS])
    sign_up(client, ADDRESS, "news")
    response = client.post(link_path(mail.only_message(), "confirm"))  # its page's button
    assert response.status_code == 200
    db.session.expire_all()
    person = db.session.scalars(sa.select(Subscriber)).one()
    assert [s.status for s in person.subscriptions] == [SubscriptionStatus.CONFIRMED]
    assert suppression.active_reasons(person.email_key) == set()


def test_the_admin_export_button_downloads_json_and_is_audited(admin_client, person):
    """POST /admin/subscribers/<id>/export answers a JSON attachment."""
    response = admin_client.post(f"/admin/subscribers/{person.id}/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_json()["profile"]["email"] == "Jo.Bloggs@example.com"
    assert "subscriber.exported" in audit_actions()


def test_the_admin_erase_button_asks_first_then_erases(admin_client, person):
    """GET shows what erasure does and changes nothing; POST erases and is audited."""
    page = admin_client.get(f"/admin/subscribers/{person.id}/erase")
    assert "cannot be undone" in page.get_data(as_text=True)
    assert db.session.get(Subscriber, person.id) is not None
    response = admin_client.post(f"/admin/subscribers/{person.id}/erase")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Subscriber)) == 0
    assert "subscriber.erased" in audit_actions()


def test_editors_cannot_export_or_erase(client, make, person):
    """The rights buttons are for admins; an editor gets 403 and nothing changes."""
    make.account(email="ed@example.org", role="editor")
    sign_in(client, "ed@example.org")
    assert client.post(f"/admin/subscribers/{person.id}/erase").status_code == 403
    assert client.post(f"/admin/subscribers/{person.id}/export").status_code == 403
    assert db.session.get(Subscriber, person.id) is not None
