"""Journeys clicked through in Chromium as a person would, with the mail read from the sink."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.pages import ADMIN, heading, link_in, sign_in
from tests.conftest import PASSWORD
from tests.subscribing import statuses


def send_an_issue(make, live_server, news, *people: str) -> None:
    """An issue on News sent to `people`, as the admin's "Send now" would."""
    from newsletter.issues import create_issue, send_issue

    for email in people:
        make.subscriber(email, lists=[news])
    issue = create_issue("Spring news", "Spring is **here**.\n", ["news"], actor="test")
    send_issue(issue, "test", dispatch=True)
    db.session.remove()  # SQLite: leave the database to the server and the worker


def test_sign_up_confirm_by_the_link_in_the_mail(page, live_server, news, jobs):
    """Form → "Check your email" → the confirmation mail in the sink → its link → confirmed."""
    page.goto(live_server("/subscribe"))
    page.get_by_label("Email address").fill("ann@example.com")
    page.get_by_label("Name (optional)").fill("Ann")
    page.get_by_label("Jobs").check()
    page.get_by_role("button", name="Sign up").click()
    expect(heading(page)).to_have_text("Check your email")
    expect(page.locator("main")).to_contain_text("ann@example.com")

    (message,) = live_server.sink.wait_for(1)
    assert message.rcpt_tos == ["ann@example.com"]
    page.goto(link_in(message, live_server, "confirm"))
    expect(heading(page)).to_have_text("Subscription confirmed")
    expect(page.locator("main li")).to_have_text(["Jobs"])
    assert statuses("ann@example.com") == {"jobs": "confirmed"}


def test_unsubscribe_from_the_link_in_an_issue(page, live_server, make, news):
    """The issue's link opens a page that changes nothing; its button unsubscribes."""
    send_an_issue(make, live_server, news, "ann@example.com")
    (message,) = live_server.sink.wait_for(1)
    page.goto(link_in(message, live_server, "unsubscribe"))
    expect(heading(page)).to_have_text("Unsubscribe")
    expect(page.locator("main li")).to_have_text(["News"])
    assert statuses("ann@example.com") == {"news": "confirmed"}
    db.session.remove()

    page.get_by_role("button", name="Unsubscribe").click()
    expect(heading(page)).to_have_text("You have unsubscribed")
    assert statuses("ann@example.com") == {"news": "unsubscribed"}


def test_change_preferences_from_the_link_on_the_unsubscribe_page(
    page, live_server, make, news, jobs
):
    """Fewer emails rather than none: swap News for Jobs and change the name."""
    send_an_issue(make, live_server, news, "ann@example.com")
    (message,) = live_server.sink.wait_for(1)
    page.goto(link_in(message, live_server, "unsubscribe"))
    page.get_by_role("link", name="choose which newsletters you get").click()
    expect(heading(page)).to_have_text("Your newsletter preferences")
    expect(page.get_by_label("News")).to_be_checked()
    page.get_by_label("News").uncheck()
    page.get_by_label("Jobs").check()
    page.get_by_label("Name (optional)").fill("Ann Other")
    page.get_by_role("button", name="Save preferences").click()
    expect(heading(page)).to_have_text("Preferences saved")
    assert statuses("ann@example.com") == {"news": "unsubscribed", "jobs": "confirmed"}


# Paced, so that the page is seen while the issue sends and its script, not a reload, fills it.
@pytest.mark.parametrize("config_overrides", [{"SEND_RATE": 5}], ids=["paced"])
def test_admin_creates_a_list_writes_an_issue_and_watches_it_send(page, live_server, make):
    """Sign in, create a list, write an issue for it, send it; the bar fills by itself."""
    from newsletter.lists import get_list

    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Lists").click()
    page.get_by_role("link", name="Create a list").click()
    page.get_by_label("Slug").fill("members")
    page.get_by_label("Name", exact=True).fill("Members’ news")
    page.get_by_label("Description").fill("News for members, monthly.")
    page.get_by_role("button", name="Create list").click()
    expect(page.get_by_role("status")).to_contain_text("Members’ news")

    members = get_list("members")
    people = [f"member{n}@example.com" for n in range(12)]
    for email in people:
        make.subscriber(email, lists=[members])
    db.session.remove()

    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Issues").click()
    page.get_by_role("link", name="Write an issue").click()
    page.get_by_label("Subject").fill("Our autumn meeting")
    page.get_by_label("Body").fill("Come to the **autumn meeting** on 3 October.")
    page.get_by_label("Members’ news").check()
    page.get_by_role("button", name="Save draft").click()
    expect(heading(page)).to_have_text("Our autumn meeting")
    expect(page.locator("[data-progress=status]")).to_have_text("Draft")

    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status")).to_contain_text(f"Sending to {len(people)} recipients")
    bar = page.locator("progress#progress-bar")
    expect(bar).to_have_attribute("max", str(len(people)))
    page.evaluate("window.notReloaded = true")
    # The page's script polls the progress endpoint until the issue is sent.
    expect(page.locator("[data-progress=status]")).to_have_text("Sent")
    assert page.evaluate("window.notReloaded === true"), "the page reloaded instead"
    expect(bar).to_have_js_property("value", len(people))
    expect(page.locator("dd[data-progress=sent]")).to_have_text(str(len(people)))
    assert sorted(live_server.sink.recipients()) == sorted(people)
