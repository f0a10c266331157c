"""The send confirmation page counts exactly the rows the real send writes, in one query."""

from __future__ import annotations

import re

import sqlalchemy as sa

from newsletter.consent import Origin
from newsletter.delivery.ledger import planned_recipients
from newsletter.extensions import db
from newsletter.models import ConsentMethod, Delivery
from newsletter.subscriptions.preferences import update_preferences
from newsletter.subscriptions.unsubscribe import unsubscribe
from newsletter.suppression import find_entry
from newsletter.suppression.manual import add_addresses, remove_entry
from tests.factories import make_issue, start
from tests.support.queries import recorded_statements

ORIGIN = Origin(source="test")
RECIPIENTS = re.compile(r'<strong data-testid="recipients">(\d+)</strong>')


def confirmation_count(client, issue) -> int:
    page = client.get(f"/admin/issues/{issue.id}/send")
    assert page.status_code == 200
    return int(RECIPIENTS.search(page.get_data(as_text=True)).group(1))


def test_the_page_counts_the_rows_the_send_writes(admin_client, admin_account, make, news):
    """Two lists; people on both, unsubscribed, pending, suppressed while subscribed, lifted by
    an admin (left_all stands in), lifted by rejoining, and on another list only: the page
    says what the ledger gets."""
    members, other = make.list("members"), make.list("other")
    make.subscriber("both@example.com", lists=[news, members])
    make.subscriber("news@example.com", lists=[news])
    make.subscriber("zoë@exämple.org", lists=[members])
    make.subscriber("left@example.com", lists=[news], status="unsubscribed")
    make.subscriber("waiting@example.com", lists=[news], status="pending")
    make.subscriber("elsewhere@example.com", lists=[other])
    make.subscriber("blocked@example.com", lists=[news, members])
    make.subscriber("forgiven@example.com", lists=[news])
    leaver = make.subscriber("quit@example.com", lists=[members, other])
    back = make.subscriber("back@example.com", lists=[news])
    unsubscribe(back, ConsentMethod.ONE_CLICK, ORIGIN)
    update_preferences(back, {news.id}, "", ORIGIN)
    add_addresses(["blocked@example.com", "forgiven@example.com"], "", admin_account)
    remove_entry(find_entry("forgiven@example.com").id, "added in error", admin_account)
    # Left every list of the issue but is still on another: not suppressed, not a recipient.
    unsubscribe(leaver, ConsentMethod.ONE_CLICK, ORIGIN, list_ids={members.id})
    db.session.commit()

    issue = make_issue(make, [news, members])
    shown = confirmation_count(admin_client, issue)
    written = start(issue)
    rows = db.session.scalars(sa.select(Delivery.email).where(Delivery.issue_id == issue.id))
    assert shown == written == 4
    assert sorted(rows) == [
        "back@example.com", "both@example.com", "news@example.com", "zoë@exämple.org"
    ]  # fmt: skip


def test_the_count_is_one_query_with_people_suppressed(app, admin_account, make, news):
    """With suppressions standing, counting is still one statement (plus the first person)."""
    for n in range(30):
        make.subscriber(f"p{n}@example.com", lists=[news])
    add_addresses([f"p{n}@example.com" for n in range(0, 30, 3)], "", admin_account)
    issue = make_issue(make, [news])
    with recorded_statements() as statements:
        plan = planned_recipients(issue)
    assert plan.recipients == 20
    assert plan.first is not None and plan.first.email == "p1@example.com"
    counting = [s for s in statements if "count(" in s.lower()]
    assert len(counting) == 1
    assert start(issue) == 20
