"""The send confirmation, an issue's history and duplicate, and the public front door, in
Chromium as a person clicks through them."""

from __future__ import annotations

from playwright.sync_api import expect

from newsletter.extensions import db
from tests.browser.conftest import TIMEOUT_MS
from tests.browser.pages import ADMIN, heading, sign_in
from tests.browser.test_axe import assert_no_axe_violations, assert_reflows
from tests.factories import PASSWORD


def test_send_is_confirmed_after_seeing_who_gets_it_then_reads_as_history(
    page, live_server, make, news
):
    """Send now → the count and the first person's subject → confirm → sent, by whom, to how
    many; then Duplicate opens a new draft in the editor."""
    from newsletter import suppression
    from newsletter.compose.issues import create_issue
    from newsletter.models import SuppressionReason

    make.account(email=ADMIN, password=PASSWORD, role="admin")
    make.subscriber("ann@example.com", name="Ann", lists=[news])
    make.subscriber("bob@example.com", name="Bob", lists=[news])
    gone = make.subscriber("cat@example.com", name="Cat", lists=[news])
    suppression.suppress(gone.email_key, SuppressionReason.COMPLAINT)
    db.session.commit()
    issue_id = create_issue(
        "Spring news, {{ subscriber.name }}", "Hello.\n", ["news"], actor="test"
    ).id
    db.session.remove()

    sign_in(page, live_server, ADMIN)
    page.goto(live_server(f"/admin/issues/{issue_id}"))
    expect(heading(page)).to_have_text("Spring news, Sam Sample")
    page.get_by_role("link", name="Send now").click()
    expect(heading(page)).to_have_text("Send this issue?")
    expect(page.locator("[data-testid=recipients]")).to_have_text("2")
    expect(page.locator("main dl")).to_contain_text("Spring news, Ann")
    assert_no_axe_violations(page, "send confirmation")
    assert_reflows(page, "send confirmation")
    assert live_server.sink.recipients() == []  # nothing sent by looking

    page.get_by_role("button", name="Send now to 2 people").click()
    expect(page.get_by_role("status")).to_contain_text("Sending to 2 recipients")
    expect(page.locator("[data-progress=status]")).to_have_text("Sent")
    live_server.sink.wait_for(2, timeout=TIMEOUT_MS / 1000)
    assert sorted(live_server.sink.recipients()) == ["ann@example.com", "bob@example.com"]
    expect(page.locator("main dl").first).to_contain_text(ADMIN)
    expect(page.get_by_text("Time left")).to_be_hidden()

    page.goto(live_server("/admin/issues"))
    row = page.locator("tbody tr", has_text="Spring news, Sam Sample")
    expect(row).to_contain_text(ADMIN)
    expect(row).to_contain_text("2 sent")
    row.get_by_role("link").click()

    page.get_by_role("button", name="Duplicate into a new draft").click()
    expect(heading(page)).to_have_text("Edit the issue")
    expect(page.get_by_role("status")).to_contain_text(f"copied from issue {issue_id}")
    subject = page.get_by_label("Subject", exact=True)
    expect(subject).to_have_value("Spring news, {{ subscriber.name }}")


def test_the_front_door_leads_to_sign_up_and_the_archive_and_back(page, live_server, make, news):
    """/ → an issue in the archive (its public title) → back to every issue → sign up."""
    from newsletter.compose.issues import create_issue
    from newsletter.delivery.control import send_issue

    make.subscriber("ann@example.com", name="Ann", lists=[news])
    issue = create_issue("Spring news, {{ subscriber.name }}!", "Hello.\n", ["news"], actor="t")
    send_issue(issue, "test", dispatch=True)
    db.session.remove()
    live_server.sink.wait_for(1, timeout=TIMEOUT_MS / 1000)

    page.goto(live_server("/"))
    expect(page.get_by_role("link", name="Sign up")).to_be_visible()
    assert_no_axe_violations(page, "home")
    link = page.get_by_role("link", name="Spring news!")
    for _ in range(20):  # the worker marks the issue sent a moment after the last mail
        if link.count():
            break
        page.wait_for_timeout(250)
        page.reload()
    link.click()
    expect(page).to_have_title("Spring news!")
    expect(page.get_by_role("heading", level=1)).to_have_text("Spring news!")
    page.get_by_role("link", name="All issues").click()
    expect(heading(page)).to_have_text("Newsletter archive")
    page.get_by_role("link", name="sign up to get them by email").click()
    expect(heading(page)).to_have_text("Sign up for our newsletters")
