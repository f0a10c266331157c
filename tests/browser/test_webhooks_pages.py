"""Journey: an admin adds a webhook endpoint from Settings, copies its secret, sees the events
arrive at a real receiver, disables and enables it, and replays the held backlog; axe checks
every page on the way."""

from __future__ import annotations

from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.pages import sign_in
from tests.browser.test_axe import assert_no_axe_violations
from tests.factories import PASSWORD, pending_person
from tests.support.webhook_receiver import WebhookReceiver


def test_an_admin_adds_an_endpoint_and_replays_its_backlog(page, live_server, make, news):
    make.account(email="admin@example.org", password=PASSWORD, role="admin")
    news_id = news.id
    db.session.commit()
    db.session.remove()
    with WebhookReceiver() as receiver:
        sign_in(page, live_server, "admin@example.org")
        page.goto(live_server("/admin/settings"))
        page.get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Webhooks")
        assert_no_axe_violations(page, "webhooks")
        page.get_by_role("link", name="Add an endpoint").click()
        page.get_by_role("button", name="Add endpoint").click()
        expect(page.locator(".error-summary")).to_be_visible()
        assert_no_axe_violations(page, "add endpoint errors")
        page.get_by_label("Endpoint URL", exact=True).fill(receiver.url)
        page.get_by_label("Someone asked to subscribe", exact=True).check()
        page.get_by_role("button", name="Add endpoint").click()
        secret = page.locator("#webhook-secret").inner_text()
        assert secret.startswith("whsec_")
        assert_no_axe_violations(page, "endpoint secret")
        page.get_by_role("link", name="Go to the endpoint").click()
        assert_no_axe_violations(page, "endpoint")

        page.get_by_role("button", name="Disable the endpoint").click()
        expect(page.locator(".notification--success")).to_contain_text("disabled")
        from newsletter.models import MailingList

        pending_person("zoë@example.com", db.session.get(MailingList, news_id))  # while off
        db.session.remove()
        page.get_by_role("button", name="Enable the endpoint").click()
        expect(page.locator(".notification--success")).to_contain_text("1 earlier events are held")
        assert receiver.received == []  # not sent unasked
        assert_no_axe_violations(page, "endpoint held")
        page.get_by_role("button", name="Replay 1 held event").click()
        expect(page.locator(".notification--success")).to_contain_text("will be sent")
        for _ in range(100):  # the in-process worker delivers it
            if receiver.received:
                break
            page.wait_for_timeout(100)
        [received] = receiver.received
        assert received.verifies_with(secret)
        page.reload()
        expect(page.locator("table")).to_contain_text("Delivered")
        assert_no_axe_violations(page, "endpoint delivered")
