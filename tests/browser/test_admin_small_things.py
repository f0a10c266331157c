"""Small things people notice, in Chromium: the admin navigation on one line that stays put,
"did you mean …?" on the sign-up form, the outbox's search and download, the favicon."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.pages import ADMIN, heading, sign_in
from tests.factories import PASSWORD
from tests.support.subscribing import person

NAV_PAGES = [
    "/admin/",
    "/admin/lists",
    "/admin/subscribers",
    "/admin/suppressions",
    "/admin/issues/new",
    "/admin/outbox",
    "/admin/audit",
    "/admin/password",
]

_NAV_BOXES = """() => [...document.querySelectorAll(".admin-nav li")].map((li) => {
  const box = li.getBoundingClientRect();
  return [li.textContent.trim(), Math.round(box.left), Math.round(box.top)];
})"""


@pytest.fixture
def admin(make):
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()


def test_admin_navigation_is_one_line_at_1280_and_never_moves(page, live_server, admin):
    """At 1280 px every item shares one line, on every page each item is in the same place,
    and the current page is marked (aria-current) without shifting the others."""
    sign_in(page, live_server, ADMIN)
    seen = {}
    for path in NAV_PAGES:
        page.goto(live_server(path))
        boxes = page.evaluate(_NAV_BOXES)
        assert len({top for _, _, top in boxes}) == 1, f"{path}: {boxes}"
        seen[path] = boxes
    first = seen[NAV_PAGES[0]]
    assert [label for label, _, _ in first][:3] == ["Dashboard", "Lists", "Subscribers"]
    for path, boxes in seen.items():
        assert boxes == first, f"{path} moves the navigation"
    page.goto(live_server("/admin/outbox"))
    current = page.locator(".admin-nav [aria-current=page]")
    expect(current).to_have_text("Outbox")
    # Room for another item or two: the last ends well before the edge.
    room = page.evaluate(
        """() => document.querySelector('.admin-nav .width-container').getBoundingClientRect()
        .right - document.querySelector('.admin-nav li:last-child').getBoundingClientRect()
        .right"""
    )
    assert room > 80


def test_admin_navigation_wraps_on_a_phone(browser, live_server, admin):
    context = browser.new_context(viewport={"width": 375, "height": 740})
    try:
        tab = context.new_page()
        sign_in(tab, live_server, ADMIN)
        tab.goto(live_server("/admin/outbox"))
        assert tab.evaluate("document.documentElement.scrollWidth") <= 375
        tops = {top for _, _, top in tab.evaluate(_NAV_BOXES)}
        assert len(tops) > 1  # wrapped onto more lines, every item still there
        expect(tab.locator(".admin-nav li")).to_have_count(10)
    finally:
        context.close()


def test_sign_up_with_a_typo_is_offered_the_fix(page, live_server, news):
    """ann@gmail.con: "Did you mean ann@gmail.com?"; the button takes it, and the person is
    signed up with the corrected address."""
    page.goto(live_server("/subscribe"))
    page.get_by_label("Email address").fill("ann@gmail.con")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#email-suggestion")).to_contain_text("Did you mean ann@gmail.com?")
    expect(page).to_have_title(re.compile(r"^Check your email address – Sign up"))
    page.get_by_role("button", name="Yes, use ann@gmail.com").click()
    expect(heading(page)).to_have_text("Check your email")
    expect(page.locator("main")).to_contain_text("ann@gmail.com")
    assert person("ann@gmail.com") is not None and person("ann@gmail.con") is None
    db.session.remove()


def test_sign_up_with_an_unusual_address_keeps_it(page, live_server, news):
    """Selecting Sign up again, the address unchanged, signs up exactly what was typed."""
    page.goto(live_server("/subscribe"))
    page.get_by_label("Email address").fill("bob@hotmial.com")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("#email-suggestion")).to_contain_text("bob@hotmail.com")
    page.get_by_role("button", name="Sign up").click()
    expect(heading(page)).to_have_text("Check your email")
    expect(page.locator("main")).to_contain_text("bob@hotmial.com")
    assert person("bob@hotmial.com") is not None and person("bob@hotmail.com") is None
    db.session.remove()


def test_outbox_search_and_download(page, live_server, admin, app):
    """Search by recipient, then download the message's source as message-<id>.eml."""
    from newsletter.mail.sink import store_message
    from tests.web.admin.test_outbox import html_message

    store_message(app, "bounces@example.org", ["ann@example.com"], html_message("Spring news"))
    raw = html_message("Autumn news")
    wanted = store_message(app, "bounces@example.org", ["bob@example.net"], raw)
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    page.goto(live_server("/admin/outbox"))
    page.get_by_label("Search by recipient or subject").fill("example.net")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=2)).to_have_text("Messages matching “example.net”")
    rows = page.locator("main tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("Autumn news")
    with page.expect_download() as started:
        rows.get_by_role("link", name=f"Download the source of message {wanted} (.eml)").click()
    download = started.value
    assert download.suggested_filename == f"message-{wanted}.eml"
    with open(download.path(), "rb") as saved:
        assert saved.read() == raw


def test_the_favicon_is_fetched_without_a_404(app, page, live_server, news):
    """A browser's own request for /favicon.ico, and the linked icon, both answer 200."""
    answers: dict[str, int] = {}

    def record(response) -> None:
        answers[response.url.removeprefix(live_server.url)] = response.status

    page.on("response", record)
    page.goto(live_server("/subscribe"))
    page.wait_for_load_state("networkidle")
    icons = page.evaluate(
        "() => [...document.querySelectorAll('link[rel=icon]')].map((l) => l.href)"
    )
    assert [icon.removeprefix(live_server.url) for icon in icons] == [
        "/favicon.ico",
        "/favicon.svg",
    ]
    for path in ("/favicon.ico", "/favicon.svg"):
        assert page.request.get(live_server(path)).status == 200
    assert not [path for path, status in answers.items() if status == 404]
