"""The dashboard: subscribers per list and status, weekly growth as SVG, latest issues."""

from __future__ import annotations

import re

import sqlalchemy as sa

from newsletter.consent import Origin, record_consent
from newsletter.extensions import db
from newsletter.models import ConsentAction, ConsentMethod, Delivery, DeliveryStatus
from tests.factories import make_issue, start


def test_subscribers_are_counted_per_list_and_status(admin_client, make, news):
    make.subscriber("a@example.com", lists=[news])
    make.subscriber("b@example.com", lists=[news])
    make.subscriber("c@example.com", lists=[news], status="unsubscribed")
    page = admin_client.get("/admin/").get_data(as_text=True)
    row = re.search(r"<th scope=\"row\">News.*?</tr>", page, re.S).group(0)
    assert [int(n) for n in re.findall(r"<td class=\"numeric\">(\d+)</td>", row)] == [2, 0, 1]


def test_growth_is_an_accessible_svg_with_a_table_of_the_same_figures(admin_client, make, news):
    """The chart has a title and description; the table gives this week's 2 and 1."""
    people = [make.subscriber(f"p{n}@example.com", lists=[news]) for n in range(3)]
    origin = Origin(source="test")
    for person in people[:2]:
        record_consent(person, ConsentAction.CONFIRMED, ConsentMethod.CONFIRM_LINK, origin)
    record_consent(people[2], ConsentAction.UNSUBSCRIBED, ConsentMethod.ONE_CLICK, origin)
    db.session.commit()
    page = admin_client.get("/admin/").get_data(as_text=True)
    assert '<svg role="img" aria-labelledby="growth-title growth-desc"' in page
    assert "confirmations: 2, unsubscribes: 1" in page
    last_row = re.findall(r"<tr><th scope=\"row\"><time.*?</tr>", page)[-1]
    assert re.findall(r"<td class=\"numeric\">(\d+)</td>", last_row) == ["2", "1"]
    # Drawn on the server: no chart library, nothing loaded from another origin.
    assert not re.search(r"<script[^>]*src=\"https?://", page)


def test_latest_issues_show_their_delivery_counts(admin_client, make, news):
    for n in range(3):
        make.subscriber(f"p{n}@example.com", lists=[news])
    issue = make_issue(make, [news], subject="Autumn news")
    start(issue)
    first = db.session.scalars(sa.select(Delivery).order_by(Delivery.id)).first()
    first.status = DeliveryStatus.BOUNCED
    db.session.commit()
    page = admin_client.get("/admin/").get_data(as_text=True)
    row = re.search(r"Autumn news.*?</tr>", page, re.S).group(0)
    # recipients, sent, bounced, failed, unsubscribed since
    assert re.findall(r"<td class=\"numeric\">(\d+)</td>", row) == ["3", "0", "1", "0", "0"]
