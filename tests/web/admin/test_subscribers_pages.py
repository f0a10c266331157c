"""Admin pages: finding subscribers, a person's record, unsubscribing by hand, list export."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from newsletter import suppression
from newsletter.extensions import db
from newsletter.models import (
    AuditEvent,
    ConsentAction,
    ConsentEvent,
    SubscriptionStatus,
    SuppressionReason,
)
from newsletter.subscriptions import audience
from tests.support.signin import sign_in


def test_search_finds_people_by_part_of_an_address_or_a_name(admin_client, make, news):
    """`mith` finds a Smith by name and smithers@ by address, any case; others are left out."""
    make.subscriber("ann@example.com", lists=[news], name="Ann Smith")
    make.subscriber("Smithers@Example.org", lists=[news])
    make.subscriber("bob@example.net", lists=[news], name="Bob Jones")
    page = admin_client.get("/admin/subscribers?q=MITH").get_data(as_text=True)
    assert "ann@example.com" in page and "Smithers@example.org" in page
    assert "bob@example.net" not in page


def test_search_terms_are_literal_not_patterns(admin_client, make, news):
    """A % or _ typed in matches itself, not everything."""
    make.subscriber("ann@example.com", lists=[news])
    page = admin_client.get("/admin/subscribers?q=%25%25%25").get_data(as_text=True)
    assert "ann@example.com" not in page
    assert "No subscribers match" in page


def test_a_too_short_search_says_so(admin_client):
    """Two characters get a sentence and 422, not every row."""
    response = admin_client.get("/admin/subscribers?q=ab")
    assert response.status_code == 422
    assert "Enter at least 3 characters" in response.get_data(as_text=True)


def test_results_are_paged_by_id(admin_client, make, news, monkeypatch):
    """A next-page link continues after the last id shown, and the next page holds the rest."""
    monkeypatch.setattr(audience, "PAGE_SIZE", 2)
    monkeypatch.setattr(audience.search_subscribers, "__defaults__", (None, 2))
    people = [make.subscriber(f"p{n}@example.com", lists=[news]) for n in range(3)]
    first = admin_client.get("/admin/subscribers?q=example").get_data(as_text=True)
    assert "p0@example.com" in first and "p2@example.com" not in first
    assert f"after={people[1].id}" in first
    second = admin_client.get(f"/admin/subscribers?q=example&after={people[1].id}")
    text = second.get_data(as_text=True)
    assert "p2@example.com" in text and "p0@example.com" not in text


def test_the_subscriber_page_shows_lists_history_deliveries_and_bounces(admin_client, make, news):
    """Each section of the record is on the page."""
    person = make.subscriber("ann@example.com", lists=[news], name="Ann Smith")
    suppression.suppress(person.email_key, SuppressionReason.SOFT_BOUNCES)
    db.session.commit()
    page = admin_client.get(f"/admin/subscribers/{person.id}").get_data(as_text=True)
    for heading in ("Lists", "Consent history", "Deliveries", "Bounces and complaints"):
        assert f"<h2>{heading}</h2>" in page
    assert "soft bounces" in page and "Ann Smith" in page


def test_an_unknown_subscriber_is_404(admin_client):
    assert admin_client.get("/admin/subscribers/999999").status_code == 404


def test_unsubscribing_by_hand_leaves_the_list_with_an_admin_event(admin_client, make, news):
    """The button leaves that list; the evidence says an admin did it; the audit log too."""
    person = make.subscriber("ann@example.com", lists=[news])
    response = admin_client.post(
        f"/admin/subscribers/{person.id}/unsubscribe", data={"list_id": news.id}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert person.subscriptions[0].status == SubscriptionStatus.UNSUBSCRIBED
    event = db.session.scalars(sa.select(ConsentEvent)).one()
    assert (event.action, event.method.value) == (ConsentAction.UNSUBSCRIBED, "admin")
    assert db.session.scalar(
        sa.select(AuditEvent.action).where(AuditEvent.action == "subscriber.unsubscribed")
    )


def test_removing_a_persons_suppression_needs_a_reason_and_a_fresh_opt_in(admin_client, make, news):
    """The hard bounce is lifted with the reason audited; `left_all` stands until they opt in."""
    person = make.subscriber("ann@example.com", lists=[news])
    suppression.suppress(person.email_key, SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    admin_client.post(f"/admin/subscribers/{person.id}/lift", data={"reason": ""})
    assert suppression.blocking_reasons("ann@example.com") == {SuppressionReason.HARD_BOUNCE}
    admin_client.post(f"/admin/subscribers/{person.id}/lift", data={"reason": "mailbox fixed"})
    db.session.expire_all()
    assert suppression.active_reasons("ann@example.com") == {SuppressionReason.LEFT_ALL}
    audit = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "suppression.removed")
    ).one()
    assert audit.detail["reason"] == "mailbox fixed"


def test_a_list_export_streams_every_subscriber_as_csv(admin_client, make, news):
    """One row per subscription with its state; the export is audited."""
    make.subscriber("ann@example.com", lists=[news], name="Ann")
    make.subscriber("bob@example.com", lists=[news], status="unsubscribed")
    response = admin_client.get("/admin/lists/news/subscribers.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert {(r["email"], r["status"]) for r in rows} == {
        ("ann@example.com", "confirmed"),
        ("bob@example.com", "unsubscribed"),
    }
    assert (
        db.session.scalar(sa.select(AuditEvent.target).where(AuditEvent.action == "list.exported"))
        == "list:news"
    )


def test_editors_may_search_but_not_export_a_list(client, make, news):
    make.account(email="ed@example.org", role="editor")
    sign_in(client, "ed@example.org")
    assert client.get("/admin/subscribers?q=example").status_code == 200
    assert client.get("/admin/lists/news/subscribers.csv").status_code == 403
