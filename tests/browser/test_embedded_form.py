"""The embedded sign-up form in Chromium: copied from a list's admin page into a page of
another site (a real HTTP server on another port), filled in and sent there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.embedded_site import serve_site, site_page
from tests.browser.pages import ADMIN, heading, link_in, sign_in
from tests.browser.test_axe import assert_no_axe_violations
from tests.factories import PASSWORD
from tests.support.embedding import allow, snippet_fields
from tests.support.subscribing import events, statuses


@pytest.fixture
def site_folder(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    (folder / "thank-you.html").write_text(site_page("", title="Thank you for signing up"))
    return folder


def copy_snippet(browser, live_server, thanks: str | None = None) -> str:
    """Sign in as an admin and copy the snippet out of News's page, as an admin would."""
    context = browser.new_context()
    try:
        admin = context.new_page()
        sign_in(admin, live_server, ADMIN)
        query = f"?thanks={thanks}" if thanks else ""
        admin.goto(live_server(f"/admin/lists/news{query}"))
        assert_no_axe_violations(admin, "list with its snippet")
        return admin.get_by_label("The form's HTML", exact=False).input_value()
    finally:
        context.close()


def test_sign_up_on_another_site_reaches_check_your_email_and_the_mail(
    app, browser, page, live_server, make, news, site_folder
):
    """Paste, fill in on the other site, "Check your email", the mail, confirmed."""
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    with serve_site(site_folder) as site:
        allow(app, origins=site, thanks="")
        snippet = copy_snippet(browser, live_server)
        (site_folder / "news.html").write_text(site_page(snippet))
        page.goto(f"{site}/news.html")
        assert_no_axe_violations(page, "the organisation's page with the snippet")
        page.get_by_label("Email address").fill("zoë@bücher.example")
        page.get_by_label("Name (optional)").fill("Zoë Ångström")
        page.get_by_role("button", name="Sign up").click()
        expect(heading(page)).to_have_text("Check your email")
        assert page.url == live_server("/subscribe/embed")
        expect(page.locator("main")).to_contain_text("zoë@bücher.example")

    (message,) = live_server.sink.wait_for(1)
    assert message.rcpt_tos == ["zoë@bücher.example"]
    version = snippet_fields(snippet)["wording"]
    assert [event.wording_version for event in events("zoë@bücher.example")] == [version]
    db.session.remove()
    page.goto(link_in(message, live_server, "confirm"))
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(heading(page)).to_have_text("Subscription confirmed")
    assert statuses("zoë@bücher.example") == {"news": "confirmed"}


def test_an_allowed_thank_you_page_is_where_the_person_lands(
    app, browser, page, live_server, make, news, site_folder
):
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    with serve_site(site_folder) as site:
        allow(app, origins=site, thanks=f"{site}/thank-you.html")
        snippet = copy_snippet(browser, live_server, thanks=f"{site}/thank-you.html")
        (site_folder / "news.html").write_text(site_page(snippet))
        page.goto(f"{site}/news.html")
        page.get_by_label("Email address").fill("ann@example.com")
        page.get_by_role("button", name="Sign up").click()
        expect(heading(page)).to_have_text("Thank you for signing up")
        assert page.url == f"{site}/thank-you.html"
    live_server.sink.wait_for(1)
    assert statuses("ann@example.com") == {"news": "pending"}


def test_a_site_not_allowed_gets_the_refusal_and_a_way_to_sign_up(
    app, browser, page, live_server, make, news, site_folder
):
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    allow(app, origins="https://www.coalition.example", thanks="")
    snippet = copy_snippet(browser, live_server)
    (site_folder / "news.html").write_text(site_page(snippet))
    with serve_site(site_folder) as site:
        page.goto(f"{site}/news.html")
        page.get_by_label("Email address").fill("ann@example.com")
        page.get_by_role("button", name="Sign up").click()
        expect(heading(page)).to_have_text("This sign-up form cannot be used from that site")
        expect(page.locator("main")).to_contain_text(site)
    page.get_by_role("link", name="Sign up on our own sign-up page").click()
    expect(heading(page)).to_have_text("Sign up for our newsletters")
    assert statuses("ann@example.com") == {}


def test_a_bad_address_is_fixed_on_our_page(
    app, browser, page, live_server, make, news, site_folder
):
    """The error summary and the values typed on our page; fixed there, the sign-up goes on."""
    make.account(email=ADMIN, password=PASSWORD, role="admin")
    db.session.remove()
    with serve_site(site_folder) as site:
        allow(app, origins=site, thanks="")
        snippet = copy_snippet(browser, live_server)
        (site_folder / "news.html").write_text(site_page(snippet))
        page.goto(f"{site}/news.html")
        page.get_by_label("Email address").fill("ann@example")
        page.get_by_label("Name (optional)").fill("Ann")
        page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".error-summary")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value("ann@example")
    expect(page.get_by_label("Name (optional)")).to_have_value("Ann")
    expect(page.get_by_label("News")).to_be_checked()
    page.get_by_label("Email address").fill("ann@example.com")
    page.get_by_role("button", name="Sign up").click()
    expect(heading(page)).to_have_text("Check your email")
    live_server.sink.wait_for(1)
    assert statuses("ann@example.com") == {"news": "pending"}
