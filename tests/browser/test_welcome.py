"""The welcome message in Chromium: written from the list page with the issue editor, turned
on, checked by axe at each step, then received by a person who signs up and confirms."""

from __future__ import annotations

from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.pages import ADMIN, heading, link_in, sign_in
from tests.browser.test_axe import assert_no_axe_violations, assert_reflows
from tests.factories import PASSWORD


def test_an_admin_writes_turns_on_and_a_new_subscriber_is_welcomed(page, live_server, make):
    """List page → write → editor → save → on; a sign-up confirmed by its link gets it once."""
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    make.list("news", name="News", description="Monthly news.")
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    page.goto(live_server("/admin/lists/news"))
    assert_no_axe_violations(page, "list without a welcome message")
    page.get_by_role("button", name="Write a welcome message").click()
    expect(heading(page)).to_have_text("Edit the welcome message of News")
    assert_no_axe_violations(page, "welcome editor")
    page.get_by_label("Subject", exact=True).fill("Welcome, {{ subscriber.name }}")
    page.get_by_label("Body", exact=True).fill("Hello {{ subscriber.name }}, glad you joined.")
    page.get_by_role("button", name="Save the welcome message").click()
    expect(heading(page)).to_have_text("News")
    expect(page.locator("#welcome + dl")).to_contain_text("Not turned on yet")
    page.get_by_role("button", name="Turn the welcome message on").click()
    expect(page.locator("#welcome + dl")).to_contain_text("On")
    assert_no_axe_violations(page, "list with its welcome message on")
    assert_reflows(page, "list with its welcome message on")

    context = page.context.browser.new_context()
    visitor = context.new_page()
    visitor.goto(live_server("/subscribe"))
    visitor.get_by_label("Email address").fill("zoë@bücher.example")
    visitor.get_by_label("Name (optional)").fill("Zoë")
    visitor.get_by_role("button", name="Sign up").click()
    expect(heading(visitor)).to_have_text("Check your email")
    sink = live_server.sink
    [confirmation] = sink.wait_for(1)
    visitor.goto(link_in(confirmation, live_server, "confirm"))
    visitor.get_by_role("button", name="Confirm my subscription").click()
    expect(heading(visitor)).to_have_text("Subscription confirmed")
    messages = sink.wait_for(2)
    welcome = messages[1]
    assert welcome.rcpt_tos == ["zoë@bücher.example"]
    assert welcome["Subject"] == "Welcome, Zoë"
    assert "Hello Zoë, glad you joined." in welcome.text()
    context.close()

    page.reload()
    expect(page.locator("#welcome + dl")).to_contain_text("1 person")
