"""The subscribers page in Chromium: filter by list and status, sort, page, open a person."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.pages import ADMIN, sign_in
from tests.browser.test_axe import assert_no_axe_violations, assert_reflows
from tests.factories import PASSWORD


def test_finding_people_by_list_status_and_order(page, live_server, make, monkeypatch):
    """Pending people on News, then by address, then one person's record and fitting actions."""
    from newsletter.subscriptions import audience

    monkeypatch.setattr(audience.find_subscribers, "__defaults__", (None, 2))
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    news = make.list(slug="news", name="News")
    jobs = make.list(slug="jobs", name="Jobs")
    make.subscriber("carol@example.com", lists=[news], status="pending")
    make.subscriber("ann@example.com", lists=[news, jobs], name="Ann")
    make.subscriber("bob@example.com", lists=[news], status="pending")
    make.subscriber("dave@example.com", lists=[news], status="pending")
    gone = make.subscriber("eve@example.com", lists=[news, jobs], status="unsubscribed").id
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    page.goto(live_server("/admin/subscribers"))
    expect(page.locator("#subscriber-count")).to_contain_text("5 subscribers, newest first")

    page.get_by_label("List", exact=True).select_option(label="News")
    page.get_by_label("Status on the list").select_option(label="Pending (not yet confirmed)")
    page.get_by_role("button", name="Show subscribers").click()
    expect(page.locator("#subscriber-count")).to_contain_text("3 subscribers on News (pending)")
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("dave@example.com")
    expect(rows.first).to_contain_text("News: Pending")
    assert_no_axe_violations(page, "subscribers filtered")
    assert_reflows(page, "subscribers filtered")

    page.get_by_role("link", name="Next page").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("carol@example.com")
    # The filters travel with the page link.
    expect(page.get_by_label("Status on the list")).to_have_value("pending")

    page.get_by_label("Order").select_option(label="By address (A to Z)")
    page.get_by_role("button", name="Show subscribers").click()
    expect(rows.first).to_contain_text("bob@example.com")
    expect(page.locator("#subscriber-count")).to_contain_text("by address")

    page.get_by_label("Search by part of an address or a name").fill("example")
    page.get_by_role("button", name="Show subscribers").click()
    expect(page.get_by_role("status")).to_contain_text("does not combine with a search")

    page.goto(live_server(f"/admin/subscribers/{gone}"))
    expect(page.get_by_text("They have left every list")).to_be_visible()
    expect(page.get_by_role("button", name="Unsubscribe from every list")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Unsubscribe"))).to_have_count(0)
