"""Journeys: the first admin is led to the settings; the environment's fields are read-only;
an admin gives a colleague a password reset link that works once."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from newsletter.accounts import issue_setup_token
from newsletter.extensions import db
from tests.browser.pages import (
    EDITOR,
    ENVIRONMENT_IDENTITY,
    ENVIRONMENT_PAGES,
    PageState,
    open_state,
    sign_in,
)
from tests.browser.test_axe import assert_no_axe_violations, assert_reflows
from tests.factories import PASSWORD

NEW_PASSWORD = "correct horse battery staple"


def test_first_run_leads_to_the_settings_and_they_reach_the_public_pages(page, live_server, app):
    with app.app_context():
        token = issue_setup_token()
        db.session.remove()
    page.goto(live_server(f"/admin/setup/{token}"))
    page.get_by_label("Email address", exact=True).fill("first@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    expect(page.locator("#postal-address-notice")).to_be_visible()
    page.get_by_label("Organisation name", exact=True).fill("Local Digital Coalition")
    page.get_by_label("Postal address", exact=True).fill("1 High Street\nLeeds LS1 1AA")
    page.get_by_label("From name", exact=True).fill("Coalition news")
    page.get_by_label("From address", exact=True).fill("news@coalition.example")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator("#postal-address-notice")).to_have_count(0)
    page.goto(live_server("/privacy"))
    expect(page.locator("footer")).to_contain_text(
        "Local Digital Coalition, 1 High Street, Leeds LS1 1AA"
    )
    expect(page.locator(".site-name")).to_have_text("Local Digital Coalition newsletter")


def test_an_admin_gives_a_colleague_a_reset_link_that_works_once(browser, page, live_server, make):
    make.account(email="admin@example.org", password=PASSWORD, role="admin")
    make.account(email=EDITOR, password=PASSWORD, role="editor")
    db.session.commit()
    db.session.remove()
    sign_in(page, live_server, "admin@example.org")
    page.goto(live_server("/admin/accounts"))
    page.get_by_role("button", name=f"Reset password of {EDITOR}").click()
    link = page.get_by_label("Reset link").input_value()
    assert "/admin/reset/" in link

    colleague = browser.new_context().new_page()
    colleague.goto(link)
    expect(colleague.get_by_text(f"For the account {EDITOR}")).to_be_visible()
    colleague.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    colleague.get_by_label("Confirm new password", exact=True).fill(NEW_PASSWORD)
    colleague.get_by_role("button", name="Set password").click()
    expect(colleague.locator(".notification--success")).to_contain_text(
        "Your password has been set"
    )
    sign_in(colleague, live_server, EDITOR, NEW_PASSWORD)
    expect(colleague.get_by_role("heading", level=1)).to_have_text("Dashboard")
    colleague.goto(link)
    expect(colleague.get_by_role("heading", level=1)).to_have_text("This reset link does not work")
    colleague.context.close()


class TestEnvironmentWins:
    @pytest.fixture
    def config_overrides(self) -> dict[str, object]:
        return dict(ENVIRONMENT_IDENTITY)

    def test_fields_set_by_the_environment_are_read_only(self, page, live_server, make):
        make.account(email="admin@example.org", password=PASSWORD, role="admin")
        db.session.commit()
        db.session.remove()
        sign_in(page, live_server, "admin@example.org")
        page.goto(live_server("/admin/settings"))
        name = page.get_by_label("Organisation name", exact=True)
        expect(name).to_have_value("Local Digital Coalition")
        expect(name).to_have_attribute("readonly", "")
        expect(page.get_by_text("Set by ORG_NAME in the environment.")).to_be_visible()
        expect(page.get_by_label("From address", exact=True)).to_have_value(
            "news@coalition.example"
        )
        expect(page.get_by_label("Postal address", exact=True)).to_be_editable()

    @pytest.mark.parametrize("state", ENVIRONMENT_PAGES, ids=str)
    def test_page_has_no_axe_violations_and_reflows(
        self, page, live_server, world, state: PageState
    ):
        open_state(page, live_server, world, state)
        expect(page.locator("h1")).to_have_count(1)
        assert_no_axe_violations(page, state.name)
        assert_reflows(page, state.name)
