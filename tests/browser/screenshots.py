"""Screenshots of the main pages at desktop and mobile widths, for docs/screenshots/.

Not collected by a plain `pytest` run (the name does not start with test_); regenerate with
`python docs/screenshots/make.py`. Add a page with one line in SHOTS.
"""

from __future__ import annotations

import pytest

from tests.browser.embedded_site import MADE_UP_THANKS, REFUSED_SITE, embedded_sign_up
from tests.browser.pages import (
    ADMIN,
    EDITOR,
    SCREENSHOTS,
    PageState,
    dry_run_a_csv,
    fill_and_submit,
    import_then,
    open_state,
    press,
    preview_a_csv,
    sign_up_with_a_typo,
)

WIDTHS = {"desktop": (1280, 800), "mobile": (375, 740)}

SHOTS = [
    PageState("sign-up", "/subscribe"),
    PageState("sign-up-error", "/subscribe", act=fill_and_submit(Email_address="ann@")),
    PageState("sign-up-did-you-mean", "/subscribe", act=sign_up_with_a_typo),
    PageState("confirm", "/confirm/{confirm_token}"),
    PageState("confirmed", "/confirm/{confirm_token}", act=press("Confirm my subscription")),
    PageState("preferences", "/preferences/{preferences_token}"),
    PageState("unsubscribe", "/unsubscribe/{unsubscribe_token}"),
    PageState("admin-issue-sent", "/admin/issues/{sent_issue_id}", ADMIN),
    PageState("admin-write-issue", "/admin/issues/new", ADMIN),
    PageState("admin-lists", "/admin/lists", ADMIN),
    PageState("admin-list", "/admin/lists/news", ADMIN),
    PageState("admin-list-embed", f"/admin/lists/news?thanks={MADE_UP_THANKS}#embed", ADMIN),
    PageState(
        "embed-refused",
        "/subscribe",
        act=embedded_sign_up("eve@example.com", site=REFUSED_SITE),
    ),
    PageState("admin-list-welcome", "/admin/lists/jobs", ADMIN),
    PageState("admin-edit-welcome", "/admin/issues/{welcome_issue_id}/edit", ADMIN),
    PageState("admin-dashboard", "/admin/imports/new", ADMIN, act=import_then("/admin/")),
    PageState("admin-subscribers-filtered", "/admin/subscribers?list=news&status=confirmed", ADMIN),
    PageState("admin-subscribers-suppressed", "/admin/subscribers?status=suppressed", ADMIN),
    PageState("admin-subscriber-history", "/admin/subscribers/{history_subscriber_id}", ADMIN),
    PageState("admin-edit-issue", "/admin/issues/{draft_issue_id}/edit", ADMIN),
    PageState("admin-preview", "/admin/issues/{draft_issue_id}/preview", ADMIN),
    PageState("admin-outbox-search", "/admin/outbox?q=spring", ADMIN),
    PageState("admin-suppressions", "/admin/suppressions", ADMIN),
    PageState(
        "admin-api-tokens",
        "/admin/accounts",
        ADMIN,
        act=lambda page: page.get_by_role("link", name=f"API tokens of {ADMIN}").click(),
    ),
    PageState("admin-issues", "/admin/issues", ADMIN),
    PageState("admin-send-confirmation", "/admin/issues/{draft_issue_id}/send", ADMIN),
    PageState(
        "admin-schedule-confirmation",
        "/admin/issues/{draft_issue_id}/schedule?date=01/07/2099&time=09:30",
        ADMIN,
    ),
    PageState("home", "/"),
    PageState("admin-import-preview", "/admin/imports/new", ADMIN, act=preview_a_csv),
    PageState("admin-import-dry-run", "/admin/imports/new", ADMIN, act=dry_run_a_csv),
    PageState("admin-settings", "/admin/settings", ADMIN),
    PageState("admin-settings-first-run", "/admin/settings?first_run=1", ADMIN),
    PageState("admin-accounts", "/admin/accounts", ADMIN),
    PageState(
        "admin-password-reset-link",
        "/admin/accounts",
        ADMIN,
        act=press(f"Reset password of {EDITOR}"),
    ),
    PageState("archive", "/archive"),
    PageState("archive-issue", "/archive/{sent_issue_id}"),
    PageState("admin-webhooks", "/admin/webhooks", ADMIN),
    PageState("admin-webhook-endpoint", "/admin/webhooks/{webhook_id}", ADMIN),
]


@pytest.mark.parametrize("width", WIDTHS, ids=str)
@pytest.mark.parametrize("state", SHOTS, ids=str)
def test_screenshot(browser, live_server, world, state, width):
    wide, high = WIDTHS[width]
    context = browser.new_context(viewport={"width": wide, "height": high})
    page = context.new_page()
    try:
        open_state(page, live_server, world, state)
        if state.path == "/admin/issues/{sent_issue_id}":
            page.locator("[data-progress=status]", has_text="Sent").wait_for()
        if page.locator("iframe").count():
            # Chromium leaves cross-origin frames off screen undrawn: show the whole page at once.
            tall = page.evaluate("document.documentElement.scrollHeight")
            page.set_viewport_size({"width": wide, "height": max(high, tall)})
            for frame in page.locator("iframe").all():
                frame.content_frame.locator("h1").wait_for()
        page.screenshot(path=SCREENSHOTS / f"{state.name}-{width}.png", full_page=True)
    finally:
        context.close()
