"""The issue page in Chromium: why recipients failed appears while the issue sends."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.pages import ADMIN, sign_in
from tests.browser.test_axe import assert_no_axe_violations, assert_reflows
from tests.factories import PASSWORD


@pytest.fixture
def smtp_sink(ascii_sink):
    """The live server's relay, without SMTPUTF8."""
    return ascii_sink


# Paced, so that the page is seen while the issue sends and its script, not a reload, fills it.
@pytest.mark.parametrize("config_overrides", [{"SEND_RATE": 4}], ids=["paced"])
def test_failures_and_their_reason_appear_as_the_issue_sends(page, live_server, make):
    """Send now; the script fills "Why recipients failed" and the issue still ends sent."""
    from newsletter.compose.issues import create_issue

    make.account(email=ADMIN, password=PASSWORD, role="admin")
    news = make.list(slug="news", name="News")
    people = [f"member{n}@example.com" for n in range(10)]
    for email in [*people[:5], "zoë.ahmed@hackney.gov.uk", *people[5:]]:
        make.subscriber(email, lists=[news])
    issue_id = create_issue("Spring news", "Hello.\n", ["news"], actor="test").id
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    page.goto(live_server(f"/admin/issues/{issue_id}"))
    expect(page.locator("#failure-reasons")).to_be_hidden()
    page.get_by_role("link", name="Send now").click()
    page.get_by_role("button", name="Send now to 11 people").click()
    expect(page.get_by_role("status")).to_contain_text("Sending to 11 recipients")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("[data-progress=status]")).to_have_text("Sent")
    reasons = page.locator("#failure-reasons")
    expect(reasons).to_be_visible()
    expect(reasons.locator("tbody tr")).to_have_text(
        ["the relay does not accept international addresses1"]
    )
    assert page.evaluate("window.notReloaded === true"), "the page reloaded instead"
    assert sorted(live_server.sink.recipients()) == sorted(people)
    assert_no_axe_violations(page, "issue with failures")
    assert_reflows(page, "issue with failures")
