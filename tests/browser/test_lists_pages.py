"""Lists in the admin, clicked through in Chromium: the slug filled in while the name is typed,
the list's own page, its sign-up link, and the growth chart's labels at desktop and phone
widths."""

from __future__ import annotations

from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.pages import ADMIN, heading, sign_in
from tests.factories import PASSWORD

LABEL_SIZES = """() => [...document.querySelectorAll("main svg text")]
  .filter((t) => t.getBoundingClientRect().height > 0)
  .map((t) => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""


def test_slug_follows_the_name_until_the_admin_types_one(page, live_server, make):
    """Typing "Café news" fills cafe-news; the list is created and its page opens."""
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    page.goto(live_server("/admin/lists/new"))
    name, slug = page.get_by_label("Name", exact=True), page.get_by_label("Slug", exact=True)
    name.press_sequentially("Café news")
    expect(slug).to_have_value("cafe-news")
    slug.fill("cafe")
    name.press_sequentially(" weekly")
    expect(slug).to_have_value("cafe")  # typed by the admin: left alone
    slug.fill("")
    name.fill("Straße weekly")
    name.press_sequentially("!")
    expect(slug).to_have_value("strasse-weekly")
    page.get_by_role("button", name="Create list").click()
    expect(heading(page)).to_have_text("Straße weekly!")
    expect(page.locator("main")).to_contain_text("strasse-weekly")


def test_without_script_an_empty_slug_is_made_on_the_server(browser, live_server, make):
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    make.list("cafe-news", name="Cafe news")
    db.session.remove()
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, live_server, ADMIN)
        page.goto(live_server("/admin/lists/new"))
        page.get_by_label("Name", exact=True).fill("Café News")
        page.get_by_role("button", name="Create list").click()
        page.wait_for_url(live_server("/admin/lists/cafe-news-2"))
        expect(heading(page)).to_have_text("Café News")
    finally:
        context.close()


def test_list_page_leads_to_its_edit_page_and_its_sign_up_form(page, live_server, make):
    """From the lists page to the list, its edit page and back, then its sign-up link."""
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    news = make.list("news", name="News", description="Monthly news.")
    make.list("jobs", name="Jobs", description="Vacancies.")
    make.subscriber("ann@example.com", lists=[news])
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    page.goto(live_server("/admin/lists"))
    page.get_by_role("link", name="News", exact=True).click()
    expect(heading(page)).to_have_text("News")
    page.get_by_role("link", name="Edit the list News").click()
    expect(heading(page)).to_have_text("Edit News")
    page.get_by_role("button", name="Save changes").click()
    expect(heading(page)).to_have_text("News")
    page.get_by_role("link", name="Open the sign-up form for News").click()
    boxes = page.locator("input[name=lists]")
    expect(boxes).to_have_count(1)
    expect(boxes.first).to_be_checked()
    expect(page.locator("main")).not_to_contain_text("Vacancies")


def test_chart_labels_are_at_least_12px_at_desktop_and_phone_widths(page, live_server, make):
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    sign_in(page, live_server, ADMIN)
    for width in (1280, 720, 640, 639, 480, 375, 320):
        page.set_viewport_size({"width": width, "height": 800})
        page.goto(live_server("/admin/"))
        sizes = page.evaluate(LABEL_SIZES)
        assert sizes and min(sizes) >= 12, (width, min(sizes))
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, (width, overflow)
        page.locator("main summary", has_text="The figures as a table").click()
        table = page.locator("main details table")
        box = table.bounding_box()
        assert box["x"] + box["width"] <= width, (width, box)
        assert table.evaluate("t => t.scrollWidth <= t.clientWidth + 1"), width
