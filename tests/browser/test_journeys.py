"""Journeys clicked through in Chromium as a person would, with the mail read from the sink."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from newsletter.background.enqueue import QUEUE_SYSTEM
from newsletter.extensions import db
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.pages import ADMIN, heading, link_in, sign_in
from tests.factories import PASSWORD
from tests.support.subscribing import statuses


def send_an_issue(make, live_server, news, *people: str) -> None:
    """An issue on News sent to `people`, as the admin's "Send now" would."""
    from newsletter.compose.issues import create_issue
    from newsletter.delivery.control import send_issue

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
    expect(heading(page)).to_have_text("Confirm your subscription")
    expect(page.locator("main li")).to_have_text(["Jobs"])
    assert statuses("ann@example.com") == {"jobs": "pending"}
    db.session.remove()

    page.get_by_role("button", name="Confirm my subscription").click()
    expect(heading(page)).to_have_text("Subscription confirmed")
    expect(page.locator("main li")).to_have_text(["Jobs"])
    assert statuses("ann@example.com") == {"jobs": "confirmed"}


def app_requests(app) -> list[str]:
    """Paths of every request the app receives from now on (what a browser really fetched)."""
    seen: list[str] = []
    inner = app.wsgi_app

    def recording(environ, start_response):
        seen.append(environ.get("PATH_INFO", ""))
        return inner(environ, start_response)

    app.wsgi_app = recording
    return seen


def test_laptop_journey_confirm_from_the_outbox(
    app, page, browser, live_server, outbox_sink, stub_broker, stub_worker, make, news
):
    """Sign up, open the confirmation mail in the admin's outbox: viewing it fetches nothing
    from the app; its button opens the confirm page in a new tab, whose button confirms."""
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    visitor = browser.new_context()
    try:
        form = visitor.new_page()
        form.goto(live_server("/subscribe"))
        form.get_by_label("Email address").fill("ann@example.com")
        form.get_by_role("button", name="Sign up").click()
        expect(heading(form)).to_have_text("Check your email")
    finally:
        visitor.close()
    stub_broker.join(QUEUE_SYSTEM)
    stub_worker.join()

    sign_in(page, live_server, ADMIN)
    page.goto(live_server("/admin/outbox"))
    seen = app_requests(app)
    page.get_by_role("link", name="Confirm your subscription").click()
    frame = page.frame_locator("iframe[title='HTML version of the message']")
    link = frame.get_by_role("link", name="Confirm my subscription")
    expect(link).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert not [path for path in seen if path.startswith("/confirm/")]
    message_page = page.url.removeprefix(live_server.url)
    assert [path for path in seen if path.endswith("/html")] == [f"{message_page}/html"]
    assert statuses("ann@example.com") == {"news": "pending"}
    db.session.remove()

    with page.context.expect_page() as opened:
        link.click()
    tab = opened.value
    expect(heading(tab)).to_have_text("Confirm your subscription")
    expect(tab.locator("main li")).to_have_text(["News"])
    assert statuses("ann@example.com") == {"news": "pending"}
    db.session.remove()
    tab.get_by_role("button", name="Confirm my subscription").click()
    expect(heading(tab)).to_have_text("Subscription confirmed")
    assert statuses("ann@example.com") == {"news": "confirmed"}


HOSTILE_HTML = """<!doctype html><html><head>
<meta http-equiv="refresh" content="0; url={app}/from-the-mail/refresh">
<link rel="stylesheet" href="{app}/from-the-mail/style.css">
<link rel="prefetch" href="{app}/from-the-mail/prefetch">
<link rel="preload" as="image" href="{app}/from-the-mail/preload.png">
<link rel="icon" href="{app}/from-the-mail/icon.png">
<style>@import url("{app}/from-the-mail/import.css");
body {{ background: url("{app}/from-the-mail/background.png"); }}</style>
</head><body background="{app}/from-the-mail/body.png">
<img src="{app}/from-the-mail/pixel.png" alt="">
<img srcset="{app}/from-the-mail/srcset.png 2x" alt="">
<picture><source srcset="{app}/from-the-mail/source.png"><img alt=""></picture>
<video poster="{app}/from-the-mail/poster.png"></video>
<iframe src="{app}/from-the-mail/frame"></iframe>
<object data="{app}/from-the-mail/object"></object>
<embed src="{app}/from-the-mail/embed">
<table background="{app}/from-the-mail/table.png"><tr><td>Cell</td></tr></table>
<form action="{app}/from-the-mail/form" method="post"><button>Send</button></form>
<p><a href="{app}/from-the-mail/link">A link</a></p>
</body></html>"""


def test_viewing_a_message_in_the_outbox_fetches_nothing_from_the_app(app, page, live_server, make):
    """Images, styles, prefetches, refreshes, frames in a captured mail: none reaches the app."""
    from email.message import EmailMessage

    from newsletter.mail.sink import store_message

    make.account(email=ADMIN, password=PASSWORD, role="admin")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "news@example.org", "ann@example.com", "Tricky"
    mail.set_content("Plain words.")
    mail.add_alternative(HOSTILE_HTML.format(app=live_server.url), subtype="html")
    message_id = store_message(app, "news@example.org", ["ann@example.com"], bytes(mail))
    db.session.remove()

    sign_in(page, live_server, ADMIN)
    seen = app_requests(app)
    page.goto(live_server(f"/admin/outbox/{message_id}"))
    frame = page.frame_locator("iframe[title='HTML version of the message']")
    expect(frame.get_by_role("link", name="A link")).to_be_visible()
    page.wait_for_load_state("networkidle")
    assert [path for path in seen if "from-the-mail" in path] == []


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
def test_admin_creates_a_list_writes_an_issue_and_watches_it_send(page, browser, live_server, make):
    """Sign in, create a list, write an issue, preview it, test-send it, send it (the bar fills
    by itself), and find it in the public archive."""
    from newsletter.lists import get_list

    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    # The proofreader's mailbox is kept as a test address: tests go nowhere else.
    page.goto(live_server("/admin/test-addresses"))
    page.get_by_label("Email address").fill("proofreader@example.net")
    page.get_by_role("button", name="Add test address").click()
    expect(page.get_by_role("status")).to_contain_text("proofreader@example.net")
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
    page.get_by_label("Subject", exact=True).fill("Our autumn meeting")
    page.get_by_label("Body", exact=True).fill("Come to the **autumn meeting** on 3 October.")
    page.get_by_label("Members’ news").check()
    page.get_by_role("button", name="Save draft").click()
    expect(heading(page)).to_have_text("Our autumn meeting")
    expect(page.locator("[data-progress=status]")).to_have_text("Draft")

    # The preview: the HTML part at both widths, in sandboxed frames, and the text part.
    page.get_by_role("link", name="Preview").click()
    expect(heading(page)).to_have_text("Preview")
    for width in ("desktop", "phone"):
        frame = page.frame_locator(f"iframe[title='HTML version at {width} width']")
        expect(frame.get_by_role("heading", level=1)).to_have_text("Our autumn meeting")
        expect(frame.locator("strong")).to_have_text("autumn meeting")
        expect(frame.get_by_role("link", name="Unsubscribe")).to_be_visible()
    expect(page.get_by_role("heading", name="Plain text version")).to_be_visible()
    expect(page.locator("[data-preview=text]")).to_contain_text("Come to the autumn meeting")

    # A test to the kept address, who is not a subscriber, read from the sink.
    page.get_by_role("link", name="Back to the issue").click()
    page.get_by_label("Email addresses").fill("proofreader@example.net")
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text("A test message is on its way to 1 address")
    (test,) = live_server.sink.wait_for(1, timeout=TIMEOUT_MS / 1000)
    assert test.rcpt_tos == ["proofreader@example.net"]
    assert test["Subject"].startswith("[TEST] Our autumn meeting")
    assert "Come to the autumn meeting" in test.text()
    expect(page.locator("[data-progress=status]")).to_have_text("Draft")

    page.get_by_role("link", name="Send now").click()
    page.get_by_role("button", name=f"Send now to {len(people)} people").click()
    expect(page.get_by_role("status")).to_contain_text(f"Sending to {len(people)} recipients")
    bar = page.locator("progress#progress-bar")
    expect(bar).to_have_attribute("max", str(len(people)))
    page.evaluate("window.notReloaded = true")
    # The page's script polls the progress endpoint until the issue is sent.
    expect(page.locator("[data-progress=status]")).to_have_text("Sent")
    assert page.evaluate("window.notReloaded === true"), "the page reloaded instead"
    expect(bar).to_have_js_property("value", len(people))
    expect(page.locator("dd[data-progress=sent]")).to_have_text(str(len(people)))
    assert sorted(live_server.sink.recipients()) == sorted([*people, "proofreader@example.net"])

    # Members' news is public, so anyone finds the issue in the archive.
    public = browser.new_context()
    try:
        visitor = public.new_page()
        visitor.goto(live_server("/archive"))
        expect(heading(visitor)).to_have_text("Newsletter archive")
        visitor.get_by_role("link", name="Our autumn meeting").click()
        expect(heading(visitor)).to_have_text("Our autumn meeting")
        expect(visitor.locator("strong")).to_have_text("autumn meeting")
        expect(visitor.get_by_role("link", name="Unsubscribe")).to_have_count(0)
    finally:
        public.close()


def test_admin_schedules_an_issue_and_cancels_the_schedule(page, live_server, make, news):
    """The date and time fields (UK time) schedule the draft; cancelling makes it a draft again."""
    from newsletter.compose.issues import create_issue

    make.account(email=ADMIN, password=PASSWORD, role="admin")
    make.subscriber("ann@example.com", lists=[news])  # someone to schedule it for
    issue_id = create_issue("Winter fair", "See you there.\n", ["news"], actor="test").id
    db.session.remove()
    tomorrow = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=1)).date()
    sign_in(page, live_server, ADMIN)
    page.goto(live_server(f"/admin/issues/{issue_id}"))
    page.get_by_label("Date", exact=True).fill(f"{tomorrow:%d/%m/%Y}")
    page.get_by_label("Time", exact=True).fill("09:30")
    page.get_by_role("button", name="Schedule", exact=True).click()
    page.get_by_role("button", name="Schedule for").click()
    expect(page.get_by_role("status")).to_contain_text("Scheduled")
    expect(page.locator("[data-progress=status]")).to_have_text("Scheduled")
    when = f"{tomorrow.day} {tomorrow:%B %Y} at 09:30"
    expect(page.locator("main dd", has_text=when)).to_be_visible()

    page.get_by_role("button", name="Cancel the schedule").click()
    expect(page.get_by_role("status")).to_contain_text("the issue is a draft again")
    expect(page.locator("[data-progress=status]")).to_have_text("Draft")
