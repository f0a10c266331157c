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
from tests.factories import make_issue
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


def test_pages_follow_each_order_by_keyset_and_keep_the_filters(
    admin_client, make, news, monkeypatch
):
    """Newest first by default, oldest first, or by address; each next page holds the rest."""
    monkeypatch.setattr(audience.find_subscribers, "__defaults__", (None, 2))
    people = [make.subscriber(f"{c}@example.com", lists=[news]) for c in ("c", "a", "b")]
    orders = {
        "": ["b@", "a@", "c@"],
        "&sort=oldest": ["c@", "a@", "b@"],
        "&sort=address": ["a@", "b@", "c@"],
    }
    for sort, expected in orders.items():
        first = admin_client.get(f"/admin/subscribers?list=news{sort}").get_data(as_text=True)
        assert first.index(expected[0]) < first.index(expected[1])
        assert expected[2] + "example.com" not in first
        after = {"": people[1].id, "&sort=oldest": people[1].id, "&sort=address": people[2].id}
        assert f"after={after[sort]}" in first and "list=news" in first.split("Next page")[0]
        second = admin_client.get(f"/admin/subscribers?list=news{sort}&after={after[sort]}")
        text = second.get_data(as_text=True)
        assert expected[2] + "example.com" in text and expected[0] + "example.com" not in text


def test_filters_by_list_and_status_with_an_exact_count(admin_client, make, news):
    """Each person shows their status on each list; the filters combine with the search."""
    members = make.list("members", name="Members")
    make.subscriber("ann@example.com", lists=[news, members], name="Ann")
    make.subscriber("bob@example.com", lists=[news], status="pending")
    make.subscriber("cy@example.org", lists=[members], status="unsubscribed")
    page = admin_client.get("/admin/subscribers").get_data(as_text=True)
    assert "<strong>3</strong> subscribers" in page
    assert 'Members: <strong class="tag tag--grey">Unsubscribed</strong>' in page
    pending = admin_client.get("/admin/subscribers?status=pending").get_data(as_text=True)
    assert "<strong>1</strong> subscriber " in pending and "bob@example.com" in pending
    assert "ann@example.com" not in pending
    on_members = admin_client.get("/admin/subscribers?list=members").get_data(as_text=True)
    assert "<strong>2</strong> subscribers" in on_members and "bob@" not in on_members
    both = admin_client.get("/admin/subscribers?list=members&status=confirmed&q=example")
    text = both.get_data(as_text=True)
    assert "ann@example.com" in text and "cy@example.org" not in text
    assert "<strong>1</strong> subscriber match" in text


def test_a_broad_search_counts_up_to_a_cap(admin_client, make, news, monkeypatch):
    """A text search says "more than N" past the cap instead of counting every match."""
    monkeypatch.setattr(audience, "COUNT_CAP", 2)
    for n in range(4):
        make.subscriber(f"p{n}@example.com", lists=[news])
    page = admin_client.get("/admin/subscribers?q=example").get_data(as_text=True)
    assert "<strong>More than 2</strong> subscribers match" in page


def test_sorting_by_address_with_a_search_says_it_does_not_combine(admin_client, make, news):
    make.subscriber("ann@example.com", lists=[news])
    page = admin_client.get("/admin/subscribers?q=example&sort=address").get_data(as_text=True)
    assert "Sorting by address does not combine with a search" in page
    assert "ann@example.com" in page


def test_unknown_filter_values_are_ignored(admin_client, make, news):
    make.subscriber("ann@example.com", lists=[news])
    response = admin_client.get("/admin/subscribers?list=nope&status=zzz&sort=x&after=abc")
    assert response.status_code == 200
    assert "ann@example.com" in response.get_data(as_text=True)


def test_a_suppressed_person_is_marked_in_the_list(admin_client, make, news):
    person = make.subscriber("ann@example.com", lists=[news])
    suppression.suppress(person.email_key, SuppressionReason.HARD_BOUNCE)
    db.session.commit()
    page = admin_client.get("/admin/subscribers").get_data(as_text=True)
    assert (
        "Suppressed</strong> hard bounce: the receiving server said the mailbox does not exist"
        in page
    )


def test_actions_fit_the_persons_state(admin_client, make, news):
    """ "Every list" only with more than one list to leave; none once they have left all."""
    members = make.list("members", name="Members")
    ann = make.subscriber("ann@example.com", lists=[news, members])
    bob = make.subscriber("bob@example.com", lists=[news])
    gone = make.subscriber("cy@example.com", lists=[news, members], status="unsubscribed")
    page = admin_client.get(f"/admin/subscribers/{ann.id}").get_data(as_text=True)
    assert "Unsubscribe from every list" in page and page.count("Unsubscribe<span") == 2
    page = admin_client.get(f"/admin/subscribers/{bob.id}").get_data(as_text=True)
    assert "Unsubscribe from every list" not in page and page.count("Unsubscribe<span") == 1
    page = admin_client.get(f"/admin/subscribers/{gone.id}").get_data(as_text=True)
    assert "Unsubscribe from every list" not in page and "Unsubscribe<span" not in page
    assert "They have left every list" in page


def test_the_history_reads_as_sentences(admin_client, client, make, news):
    """A one-click unsubscribe from an issue names the issue; no route pattern is shown."""
    person = make.subscriber("ann@example.com", lists=[news])
    issue = make_issue(make, [news], subject="Spring digital fund")
    response = client.post(
        f"/unsubscribe/{person.unsubscribe_token}/{issue.id}",
        data={"List-Unsubscribe": "One-Click"},
    )
    assert response.status_code == 200
    page = admin_client.get(f"/admin/subscribers/{person.id}").get_data(as_text=True)
    assert "Unsubscribed with one click from the issue ‘Spring digital fund’" in page
    assert "&lt;token&gt;" not in page and "<int:" not in page


def test_the_subscriber_page_shows_lists_history_deliveries_and_bounces(admin_client, make, news):
    """Each section of the record is on the page."""
    person = make.subscriber("ann@example.com", lists=[news], name="Ann Smith")
    suppression.suppress(person.email_key, SuppressionReason.SOFT_BOUNCES)
    db.session.commit()
    page = admin_client.get(f"/admin/subscribers/{person.id}").get_data(as_text=True)
    for heading in ("Lists", "Consent history", "Deliveries", "Bounces and complaints"):
        assert f"<h2>{heading}</h2>" in page
    assert "repeated soft bounces" in page and "Ann Smith" in page


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


def test_everyone_past_the_threshold_is_an_estimate_on_postgresql(
    admin_client, make, news, monkeypatch
):
    """PostgreSQL's estimate ("About N") for everyone; SQLite always counts exactly."""
    monkeypatch.setattr(audience, "ESTIMATE_ABOVE", -1)
    make.subscriber("ann@example.com", lists=[news])
    on_postgresql = db.engine.dialect.name == "postgresql"
    if on_postgresql:
        db.session.execute(sa.text("ANALYZE subscriber"))
        db.session.commit()
    page = admin_client.get("/admin/subscribers").get_data(as_text=True)
    assert (
        ("<strong>About " in page) if on_postgresql else ("<strong>1</strong> subscriber" in page)
    )
