"""Every page of the app, in each state a person can meet it, for axe and the reflow check.

To check a new page, add one line to PUBLIC_PAGES or ADMIN_PAGES: its path (which may name a
field of `World`, e.g. "/admin/issues/{draft_issue_id}") and, for a state reached by doing
something there (a form sent empty, a failed sign-in), an `act`. Add a field to `World` when the
page needs rows of its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from unittest import mock

import pytest
from itsdangerous.timed import TimestampSigner

from newsletter.extensions import db
from newsletter.subscriptions.links import confirmation_token, preferences_token
from newsletter.suppression import manual
from tests.browser.embedded_site import (
    MADE_UP_SITE,
    MADE_UP_THANKS,
    REFUSED_SITE,
    embedded_sign_up,
)
from tests.factories import PASSWORD

EDITOR = "editor@example.org"
ADMIN = "admin@example.org"


@dataclass(frozen=True)
class World:
    """Rows every page can be shown with; plain values, so no test holds a database session."""

    draft_issue_id: int
    # A draft to a list nobody is confirmed on: nothing to send or schedule.
    nobody_issue_id: int
    scheduled_issue_id: int
    sending_issue_id: int
    paused_issue_id: int
    sent_issue_id: int
    plain_issue_id: int
    web_token: str
    tampered_web_token: str
    subscriber_id: int
    suppressed_subscriber_id: int
    # Someone who signed up, confirmed, left by one click, came back, bounced: a long history.
    history_subscriber_id: int
    outbox_message_id: int
    unsubscribe_token: str
    preferences_token: str
    expired_preferences_token: str
    confirm_token: str
    expired_confirm_token: str
    # A link naming a list its person is no longer waiting for (confirmed or left since).
    used_confirm_token: str
    tampered_token: str
    # The welcome message of the list Jobs, turned on (News has none).
    welcome_issue_id: int
    # A webhook endpoint with deliveries in each state, and one disabled with held events.
    webhook_id: int = 0
    disabled_webhook_id: int = 0


def _webhooks(ann_id: int) -> tuple[int, int]:
    """Two endpoints (nothing listens at their port): deliveries in every state on the first;
    the second disabled after failing, its events held for replay."""
    import sqlalchemy as sa

    from newsletter.models import WebhookDelivery
    from newsletter.webhooks import EventType, emit, endpoints

    url = "http://127.0.0.1:9/hooks"
    live = endpoints.create(url, ["subscriber.confirmed", "issue.sent"], "The CRM", "test")
    off = endpoints.create(url + "/old", ["subscriber.confirmed"], "", "test")
    for _ in range(5):
        emit(EventType.SUBSCRIBER_CONFIRMED, ann_id, {"list": "news", "method": "confirm_link"})
    db.session.commit()
    endpoints.disable(off.endpoint.id, "test", "Every delivery failed for 24 hours: turned off.")
    endpoints.enable(off.endpoint.id, "test")
    endpoints.disable(off.endpoint.id, "test", "Every delivery failed for 24 hours: turned off.")
    table = WebhookDelivery.__table__
    ids = db.session.scalars(
        sa.select(table.c.id).where(table.c.endpoint_id == live.endpoint.id).order_by(table.c.id)
    ).all()
    for delivery_id, status, code in zip(
        ids, ["delivered", "failed", "dropped", "held"], [200, 500, None, 503], strict=False
    ):
        db.session.execute(
            sa.update(table)
            .where(table.c.id == delivery_id)
            .values(
                status=status,
                attempts=1,
                last_status=code,
                last_attempt_at=sa.func.now(),
                # A delivery that succeeded keeps no error, as dispatch.py records it.
                last_error=None if status == "delivered" else table.c.last_error,
            )
        )
    db.session.commit()
    return live.endpoint.id, off.endpoint.id


def _long_history(make, news, jobs, issue_id: int):
    """Eve: signed up on the form, confirmed, imported to another list, left it by one click
    from an issue, joined again on her preferences page, then an issue bounced."""
    from newsletter.consent import Origin, record_consent
    from newsletter.models import ConsentAction, ConsentMethod, OptInLevel, SubscriptionStatus
    from newsletter.subscriptions.unsubscribe import unsubscribe

    A, M = ConsentAction, ConsentMethod
    eve = make.subscriber("eve@example.com", lists=[news, jobs], name="Eve")
    form = Origin("/subscribe", "192.0.2.7", "Firefox")
    record_consent(eve, A.REQUESTED, M.FORM, form, list_id=news.id, wording="Sign me up")
    record_consent(eve, A.CONFIRMED, M.CONFIRM_LINK, Origin("/confirm/<token>"), list_id=news.id)
    record_consent(
        eve, A.IMPORTED, M.IMPORT, Origin("jobs export.csv"), list_id=jobs.id,
        source_system="mailchimp", opt_in_level=OptInLevel.SINGLE,
    )  # fmt: skip
    db.session.commit()
    one_click = Origin("/unsubscribe/<token>/<int:issue_id>")
    unsubscribe(eve, M.ONE_CLICK, one_click, {news.id}, {"issue_id": issue_id})
    news_subscription = next(s for s in eve.subscriptions if s.list_id == news.id)
    news_subscription.status = SubscriptionStatus.CONFIRMED
    record_consent(
        eve, A.RESUBSCRIBED, M.PREFERENCES, Origin("/preferences/<token>"), list_id=news.id
    )
    record_consent(
        eve, A.BOUNCED, M.BOUNCE, Origin("bounce receiver"),
        detail={"kind": "soft", "issue_id": issue_id, "status": "4.2.2"},
    )  # fmt: skip
    unsubscribe(eve, M.PREFERENCES, Origin("/preferences/<token>"), {jobs.id})
    return eve


def _tampered(token: str) -> str:
    """The token with its signature's last characters changed."""
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


def _long_ago(make_token: Callable[[], str]) -> str:
    """A token signed a year ago: every link has expired by then."""
    year_ago = int(time.time()) - 366 * 24 * 3600
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=year_ago):
        return make_token()


@pytest.fixture
def world(live_server, make, stub_broker, stub_worker) -> World:
    """Staff, three lists, a confirmed and a pending subscriber, an issue in every state."""
    from newsletter.compose.issues import create_issue
    from newsletter.delivery.control import pause, send_issue
    from newsletter.delivery.scheduling import schedule_issue
    from newsletter.delivery.trial_send import add_test_address
    from newsletter.delivery.welcome import create_welcome, turn_on
    from newsletter.models import OutboxMessage
    from newsletter.tokens import make_token

    make.account(email=ADMIN, password=PASSWORD, role="admin")
    make.account(email=EDITOR, password=PASSWORD, role="editor")
    add_test_address("proofreader@example.net", actor="test")
    news = make.list("news", name="News", description="Monthly news from the coalition.")
    jobs = make.list("jobs", name="Jobs", description="Vacancies, every Friday.")
    members = make.list("members", name="Members", is_public=False)
    make.list("board", name="Board", is_public=False)
    ann = make.subscriber("ann@example.com", lists=[news, members], name="Ann")
    bob = make.subscriber("bob@example.com", lists=[news], status="pending")
    draft = create_issue(
        "Summer news", "Hello **everyone**.\n", ["news"], actor="test", preheader="Sun and fun."
    )
    nobody = create_issue("Board minutes", "Minutes.\n", ["board"], actor="test")
    scheduled = create_issue("Autumn news", "Leaves fall.\n", ["news"], actor="test")
    schedule_issue(scheduled, datetime.now(UTC) + timedelta(days=7), actor="test")
    # Not dispatched: the ledger is written and nothing works through it, so it stays sending.
    sending = create_issue("Winter news", "Snow.\n", ["news"], actor="test")
    send_issue(sending, "test", dispatch=False)
    paused = create_issue("Late news", "Late.\n", ["news"], actor="test")
    send_issue(paused, "test", dispatch=False)
    pause(paused, "test")
    plain = create_issue(
        "A plain letter",
        "Dear {{ subscriber.name }},\n\nA short note.\n",
        ["news"],
        actor="test",
        layout="plain",
    )
    sent = create_issue("Spring news", "Spring is here.\n", ["news"], actor="test")
    send_issue(sent, "test", dispatch=True)
    welcome = create_welcome(jobs, "test")
    turn_on(welcome, "test")
    private = create_issue("Members’ news", "For members.\n", ["members"], actor="test")
    send_issue(private, "test", dispatch=True)
    db.session.commit()
    # Both sent before any page is shown: the archive lists only what has finished.
    for queue in stub_broker.get_declared_queues():
        stub_broker.join(queue)
    stub_worker.join()
    # Suppressed by hand once the sending is done, so that it changes no issue's recipients.
    dan = make.subscriber("dan@example.com", lists=[news], name="Dan")
    manual.add_addresses([dan.email], "Asked by letter", actor="test")
    eve = _long_history(make, news, jobs, sent.id)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "news@example.org", ann.email, "Spring news"
    mail.set_content("Spring is here.")
    mail.add_alternative("<p>Spring is here.</p>", subtype="html")
    captured = OutboxMessage(
        mail_from="news@example.org", recipients=ann.email, subject="Spring news", raw=bytes(mail)
    )
    db.session.add(captured)
    db.session.commit()
    # The organisation's site may carry the embedded sign-up form (embedded_site.py).
    from flask import current_app

    from newsletter import settings

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    embed = {"embed_origins": MADE_UP_SITE, "embed_thanks_urls": MADE_UP_THANKS}
    settings.save(app, embed, actor="test")
    webhook_id, disabled_webhook_id = _webhooks(ann.id)
    preferences = preferences_token(ann)
    web_token = make_token("web_version", {"i": private.id})
    built = World(
        draft_issue_id=draft.id,
        nobody_issue_id=nobody.id,
        scheduled_issue_id=scheduled.id,
        sending_issue_id=sending.id,
        paused_issue_id=paused.id,
        sent_issue_id=sent.id,
        plain_issue_id=plain.id,
        web_token=web_token,
        tampered_web_token=_tampered(web_token),
        subscriber_id=ann.id,
        suppressed_subscriber_id=dan.id,
        history_subscriber_id=eve.id,
        outbox_message_id=captured.id,
        unsubscribe_token=ann.unsubscribe_token,
        preferences_token=preferences,
        expired_preferences_token=_long_ago(lambda: preferences_token(ann)),
        confirm_token=confirmation_token(bob, [news.id]),
        expired_confirm_token=_long_ago(lambda: confirmation_token(bob, [news.id])),
        used_confirm_token=confirmation_token(ann, [jobs.id]),
        tampered_token=_tampered(preferences),
        webhook_id=webhook_id,
        disabled_webhook_id=disabled_webhook_id,
        welcome_issue_id=welcome.id,
    )
    db.session.remove()  # SQLite: no read transaction left open while the server writes
    return built


# What a person does on a page before it is checked.


def _click_and_load(page, button) -> None:
    """Click a form's button and wait for the page it leads to (the same URL, often)."""
    with page.expect_navigation():
        button.click()


def submit(page) -> None:
    """Send the page's form as it is (usually empty)."""
    submit_in(page, "main")


def submit_in(page, where: str) -> None:
    """Send the first form inside `where` as it is."""
    _click_and_load(page, page.locator(f"{where} form button[type=submit]").first)


def press(button: str) -> Callable:
    """Press the button named `button` (on a page with several forms)."""

    def act(page) -> None:
        _click_and_load(page, page.get_by_role("button", name=button, exact=True))

    return act


def press_twice(button: str) -> Callable:
    """Press the button, then open the same link again and press nothing (already done)."""

    def act(page) -> None:
        address = page.url
        press(button)(page)
        page.goto(address)

    return act


def fill_and_submit(**fields: str) -> Callable:
    """Fill fields by label, then send the form."""

    def act(page) -> None:
        for label, value in fields.items():
            page.get_by_label(label.replace("_", " "), exact=True).fill(value)
        submit(page)

    return act


def add_a_webhook_endpoint(page) -> None:
    """Fill in an endpoint's URL, tick one event, add it."""
    page.get_by_label("Endpoint URL", exact=True).fill("http://127.0.0.1:9/new")
    page.get_by_label("A subscription was confirmed", exact=True).check()
    _click_and_load(page, page.get_by_role("button", name="Add endpoint", exact=True))


def fill_and_press(button: str, **fields: str) -> Callable:
    """Fill fields by label, then press the button named `button`."""

    def act(page) -> None:
        for label, value in fields.items():
            page.get_by_label(label.replace("_", " "), exact=True).fill(value)
        press(button)(page)

    return act


def write(subject: str | None = None, body: str | None = None, lists: tuple = ()) -> Callable:
    """On the issue form: type the subject and body given, tick the lists named, save."""

    def act(page) -> None:
        if subject is not None:
            page.get_by_label("Subject", exact=True).fill(subject)
        if body is not None:
            page.get_by_label("Body", exact=True).fill(body)
        for name in lists:
            page.get_by_label(name, exact=True).check()
        press("Save draft")(page)

    return act


BROKEN_PLACEHOLDER = "Dear {{ subscriber.nope }},"


def open_details(summary: str, then: Callable | None = None) -> Callable:
    """Open the <details> whose summary reads `summary`, then do `then` if given."""

    def act(page) -> None:
        page.locator("main summary", has_text=summary).first.click()
        if then is not None:
            then(page)

    return act


def sign_up_with_a_typo(page) -> None:
    """The sign-up form sent with a likely typo in the domain: "did you mean …?"."""
    page.get_by_label("Email address", exact=True).fill("eve@gmail.con")
    page.get_by_label("News", exact=True).check()
    submit(page)


def remove_with_a_reason(page) -> None:
    """In an opened "Remove" of the suppression list: give a reason and remove the entry."""
    page.locator("main details input[name=reason]").first.fill("Asked us by letter")
    submit_in(page, "main details")


def submit_without_session(page) -> None:
    """The form kept open until its session is gone: the "form expired" page (400)."""
    page.context.clear_cookies()
    submit(page)


def preview_a_csv(page) -> None:
    """An upload of two addresses: its preview (format, columns, first rows), not started."""
    page.get_by_label("List", exact=True).select_option("news")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    submit(page)


def preview_a_csv_for_jobs(page) -> None:
    """The preview of an upload to Jobs, whose welcome message is on: the welcome option."""
    page.get_by_label("List", exact=True).select_option("jobs")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    submit(page)


def upload_a_csv(page) -> None:
    """An import of two addresses: the job's page, once its script reloaded it finished."""
    preview_a_csv(page)
    press("Import this file")(page)
    page.locator("#import-progress[data-finished=true]").wait_for()


def dry_run_a_csv(page) -> None:
    """A dry run of the same upload: its page, finished, saying what would happen."""
    preview_a_csv(page)
    press("Dry run: show what would happen")(page)
    page.locator("#import-progress[data-finished=true]").wait_for()


CSV = b"email,name\ncara@example.com,Cara\nnot an address,Dan\n"


def upload_to_reconfirm(page) -> None:
    """The same import with consent asked again: the finished job offers to ask them."""
    page.get_by_label("List", exact=True).select_option("news")
    page.get_by_label("Ask them again", exact=False).check()
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    submit(page)
    press("Import this file")(page)
    page.locator("#import-progress[data-finished=true]").wait_for()


def ask_to_confirm(page) -> None:
    """The confirmation step: how many people will be asked."""
    upload_to_reconfirm(page)
    with page.expect_navigation():
        page.get_by_role("link", name="Ask them to confirm").click()


def send_the_requests(page) -> None:
    """The requests sent: their progress page."""
    ask_to_confirm(page)
    _click_and_load(page, page.get_by_role("button", name="Send 1 confirmation request"))


def import_then(path: str, then: Callable | None = None) -> Callable:
    """Import the two-row CSV (its person joins this week), then open `path` and do `then`."""

    def act(page) -> None:
        upload_a_csv(page)
        page.goto(page.url.split("/admin/")[0] + path)
        if then is not None:
            then(page)

    return act


ERRORS = ".error-summary"


def fill_sites_and_save(sites: str) -> Callable:
    """On the settings page: type `sites` as the sites allowed to embed the form, and save."""

    def act(page) -> None:
        page.get_by_label("Sites allowed to embed the sign-up form", exact=True).fill(sites)
        press("Save settings")(page)

    return act


def open_reset_link(page) -> None:
    """On the accounts page: make the editor's reset link and follow it."""
    press(f"Reset password of {EDITOR}")(page)
    link = page.locator("#reset-link").input_value()
    page.context.clear_cookies()
    page.goto(link)


# Pages shown only when the environment sets part of the organisation's identity; their tests
# (tests/browser/test_settings_and_reset.py) run the app with ENVIRONMENT_IDENTITY.
ENVIRONMENT_IDENTITY = {
    "ORG_NAME": "Local Digital Coalition",
    "MAIL_FROM": "Coalition news <news@coalition.example>",
    "SETTINGS_FROM_ENV": frozenset({"ORG_NAME", "MAIL_FROM"}),
}


@dataclass(frozen=True)
class PageState:
    name: str
    path: str
    # None: signed out; else the address of the account to sign in as (ADMIN or EDITOR).
    account: str | None = None
    act: Callable | None = None
    # A selector that must be visible once there: the state was reached, not some other page.
    shows: str | None = None

    def __str__(self) -> str:
        return self.name


PUBLIC_PAGES = [
    PageState("sign-up", "/subscribe"),
    PageState("sign-up sent empty", "/subscribe", act=submit, shows=ERRORS),
    PageState(
        "sign-up bad address", "/subscribe", act=fill_and_submit(Email_address="ann@"), shows=ERRORS
    ),
    PageState("sign-up sent", "/subscribe", act=fill_and_submit(Email_address="eve@example.com")),
    PageState(
        "sign-up, did you mean",
        "/subscribe",
        act=sign_up_with_a_typo,
        shows="#email-suggestion",
    ),
    PageState("sign-up form expired", "/subscribe", act=submit_without_session),
    PageState("sign-up for one list", "/subscribe?list=jobs"),
    PageState(
        "embedded sign-up sent",
        "/subscribe",
        act=embedded_sign_up("eve@example.com"),
        shows="main strong",
    ),
    PageState(
        "embedded sign-up, bad address",
        "/subscribe",
        act=embedded_sign_up("eve@"),
        shows=ERRORS,
    ),
    PageState(
        "embedded sign-up from a site not allowed",
        "/subscribe",
        act=embedded_sign_up("eve@example.com", site=REFUSED_SITE),
        shows="main a[href*='/subscribe']",
    ),
    PageState("confirm", "/confirm/{confirm_token}", shows="main form button"),
    PageState("confirmed", "/confirm/{confirm_token}", act=press("Confirm my subscription")),
    PageState(
        "confirm link pressed again",
        "/confirm/{confirm_token}",
        act=press_twice("Confirm my subscription"),
        shows="main [role=status]",
    ),
    PageState("confirm link used", "/confirm/{used_confirm_token}"),
    PageState("confirm link expired", "/confirm/{expired_confirm_token}"),
    PageState("confirm link tampered", "/confirm/{tampered_token}"),
    PageState("unsubscribe", "/unsubscribe/{unsubscribe_token}"),
    PageState("unsubscribed", "/unsubscribe/{unsubscribe_token}", act=submit),
    PageState("unsubscribe link unknown", "/unsubscribe/nobody-has-this-token-at-all"),
    PageState("preferences", "/preferences/{preferences_token}"),
    PageState("preferences saved", "/preferences/{preferences_token}", act=submit),
    PageState("preferences link expired", "/preferences/{expired_preferences_token}"),
    PageState("preferences link renewed", "/preferences/{expired_preferences_token}", act=submit),
    PageState("preferences link tampered", "/preferences/{tampered_token}"),
    PageState("privacy notice", "/privacy"),
    PageState("accessibility statement", "/accessibility"),
    PageState("not found", "/no-such-page"),
    PageState("home", "/", shows="main .archive a"),
    PageState("archive", "/archive", shows="main .archive a"),
    PageState("archive issue", "/archive/{sent_issue_id}"),
    PageState("archive issue not found", "/archive/999999"),
    PageState("web version", "/web/{web_token}"),
    PageState("web version link tampered", "/web/{tampered_web_token}"),
]

ADMIN_PAGES = [
    PageState("sign-in", "/admin/login"),
    PageState("sign-in sent empty", "/admin/login", act=submit, shows=ERRORS),
    PageState(
        "sign-in failed",
        "/admin/login",
        act=fill_and_submit(Email_address=ADMIN, Password="wrong password"),
        shows=ERRORS,
    ),
    PageState("setup link invalid", "/admin/setup/no-such-setup-token-here"),
    PageState("dashboard", "/admin/", ADMIN, shows="main .chart__svg--wide"),
    PageState(
        "dashboard, figures as a table",
        "/admin/",
        ADMIN,
        act=open_details("The figures as a table"),
    ),
    PageState("dashboard as editor", "/admin/", EDITOR),
    PageState(
        "dashboard with data",
        "/admin/imports/new",
        ADMIN,
        act=import_then("/admin/"),
        shows="main .chart__svg--wide .chart__bar--imports",
    ),
    PageState(
        "dashboard with data, figures as a table",
        "/admin/imports/new",
        ADMIN,
        act=import_then("/admin/", open_details("The figures as a table")),
    ),
    PageState("lists", "/admin/lists", ADMIN),
    PageState("create a list", "/admin/lists/new", ADMIN),
    PageState("create a list sent empty", "/admin/lists/new", ADMIN, act=submit, shows=ERRORS),
    PageState("edit a list", "/admin/lists/news/edit", ADMIN),
    PageState("list", "/admin/lists/news", ADMIN, shows="main .chart__svg--wide"),
    PageState(
        "list with data, figures as a table",
        "/admin/imports/new",
        ADMIN,
        act=import_then("/admin/lists/news", open_details("The figures as a table")),
        shows="main .chart__svg--wide .chart__bar--imports",
    ),
    PageState("list as editor", "/admin/lists/news", EDITOR),
    PageState(
        "list, sign-up form leading to a thank-you page",
        f"/admin/lists/news?thanks={MADE_UP_THANKS}#embed",
        ADMIN,
        shows="#snippet",
    ),
    PageState("list with a welcome message", "/admin/lists/jobs", ADMIN, shows="#welcome"),
    PageState("list with a welcome message as editor", "/admin/lists/jobs", EDITOR),
    PageState(
        "welcome message turned off",
        "/admin/lists/jobs",
        ADMIN,
        act=press("Turn the welcome message off"),
    ),
    PageState(
        "welcome message test send refused",
        "/admin/lists/jobs",
        EDITOR,
        act=fill_and_press("Send test", Email_addresses="ann@example.com"),
        shows=ERRORS,
    ),
    PageState("edit a welcome message", "/admin/issues/{welcome_issue_id}/edit", ADMIN),
    PageState(
        "edit a welcome message, placeholder broken",
        "/admin/issues/{welcome_issue_id}/edit",
        ADMIN,
        act=fill_and_press("Save the welcome message", Body=BROKEN_PLACEHOLDER),
        shows=ERRORS,
    ),
    PageState("preview a welcome message", "/admin/issues/{welcome_issue_id}/preview", ADMIN),
    PageState(
        "import preview with the welcome option",
        "/admin/imports/new",
        ADMIN,
        act=preview_a_csv_for_jobs,
        shows="#send_welcome",
    ),
    PageState("private list", "/admin/lists/members", ADMIN),
    PageState("imports", "/admin/imports", ADMIN),
    PageState("new import", "/admin/imports/new", ADMIN),
    PageState("new import sent empty", "/admin/imports/new", ADMIN, act=submit, shows=ERRORS),
    PageState("import preview", "/admin/imports/new", ADMIN, act=preview_a_csv, shows="main form"),
    PageState("import job", "/admin/imports/new", ADMIN, act=upload_a_csv),
    PageState("import dry run", "/admin/imports/new", ADMIN, act=dry_run_a_csv),
    PageState("migration guide", "/admin/imports/guide", ADMIN, shows="main h1"),
    PageState("import job to reconfirm", "/admin/imports/new", ADMIN, act=upload_to_reconfirm),
    PageState("ask an import to confirm", "/admin/imports/new", ADMIN, act=ask_to_confirm),
    PageState("confirmation requests", "/admin/imports/new", ADMIN, act=send_the_requests),
    PageState("issues", "/admin/issues", ADMIN),
    PageState("write an issue", "/admin/issues/new", ADMIN),
    PageState("write an issue sent empty", "/admin/issues/new", ADMIN, act=submit, shows=ERRORS),
    PageState(
        "write an issue, placeholder broken",
        "/admin/issues/new",
        ADMIN,
        act=write("Hello", BROKEN_PLACEHOLDER, lists=("News",)),
        shows=ERRORS,
    ),
    PageState(
        "write an issue, no list chosen",
        "/admin/issues/new",
        ADMIN,
        act=write("Hello", "Hello all."),
        shows=ERRORS,
    ),
    PageState("issues as editor", "/admin/issues", EDITOR),
    PageState("who may send saved", "/admin/issues", ADMIN, act=press("Save")),
    PageState("edit an issue", "/admin/issues/{draft_issue_id}/edit", ADMIN),
    PageState(
        "edit an issue emptied",
        "/admin/issues/{draft_issue_id}/edit",
        ADMIN,
        act=write("", ""),
        shows=ERRORS,
    ),
    PageState(
        "edit an issue, placeholder broken",
        "/admin/issues/{draft_issue_id}/edit",
        ADMIN,
        act=write(body=BROKEN_PLACEHOLDER),
        shows=ERRORS,
    ),
    PageState("draft issue", "/admin/issues/{draft_issue_id}", ADMIN),
    PageState("draft issue as editor", "/admin/issues/{draft_issue_id}", EDITOR),
    PageState(
        "test send, bad address",
        "/admin/issues/{draft_issue_id}",
        ADMIN,
        act=fill_and_press("Send test", Email_addresses="ann@example.com, not an address"),
        shows=ERRORS,
    ),
    PageState(
        "test sent",
        "/admin/issues/{draft_issue_id}",
        ADMIN,
        act=fill_and_press("Send test", Email_addresses="proofreader@example.net"),
    ),
    PageState(
        "test send to an outside address",
        "/admin/issues/{draft_issue_id}",
        EDITOR,
        act=fill_and_press("Send test", Email_addresses="ann@example.com"),
        shows=ERRORS,
    ),
    PageState(
        "schedule sent empty",
        "/admin/issues/{draft_issue_id}",
        ADMIN,
        act=press("Schedule"),
        shows=ERRORS,
    ),
    PageState(
        "schedule, date not in the hinted format",
        "/admin/issues/{draft_issue_id}",
        ADMIN,
        act=fill_and_press("Schedule", Date="tomorrow", Time="09:30"),
        shows=ERRORS,
    ),
    PageState("send confirmation", "/admin/issues/{draft_issue_id}/send", ADMIN, shows="main dl"),
    PageState(
        "send confirmation, nobody would get it",
        "/admin/issues/{nobody_issue_id}/send",
        ADMIN,
        shows="main [role=alert]",
    ),
    PageState(
        "schedule confirmation",
        "/admin/issues/{draft_issue_id}/schedule?date=01/07/2099&time=09:30",
        ADMIN,
        shows="main dl",
    ),
    PageState(
        "duplicated issue",
        "/admin/issues/{sent_issue_id}",
        ADMIN,
        act=press("Duplicate into a new draft"),
        shows="main form",
    ),
    PageState("scheduled issue", "/admin/issues/{scheduled_issue_id}", ADMIN),
    PageState("scheduled issue as editor", "/admin/issues/{scheduled_issue_id}", EDITOR),
    PageState("sending issue", "/admin/issues/{sending_issue_id}", ADMIN),
    PageState("paused issue", "/admin/issues/{paused_issue_id}", ADMIN),
    PageState("sent issue", "/admin/issues/{sent_issue_id}", ADMIN),
    PageState("preview", "/admin/issues/{draft_issue_id}/preview", ADMIN),
    PageState(
        "preview as a subscriber",
        "/admin/issues/{draft_issue_id}/preview",
        ADMIN,
        act=press("Show the preview"),
    ),
    PageState("preview, plain letter", "/admin/issues/{plain_issue_id}/preview", ADMIN),
    PageState("subscribers", "/admin/subscribers", ADMIN, shows="main table"),
    PageState("subscribers as editor", "/admin/subscribers", EDITOR),
    PageState("subscribers found", "/admin/subscribers?q=ann", ADMIN, shows="main table"),
    PageState("subscribers, no match", "/admin/subscribers?q=nobody-at-all", ADMIN),
    PageState("subscribers, search too short", "/admin/subscribers?q=an", ADMIN, shows=ERRORS),
    PageState("subscriber", "/admin/subscribers/{subscriber_id}", ADMIN),
    PageState("subscriber as editor", "/admin/subscribers/{subscriber_id}", EDITOR),
    PageState(
        "subscriber unsubscribed by hand",
        "/admin/subscribers/{subscriber_id}",
        ADMIN,
        act=press("Unsubscribe from every list"),
    ),
    PageState("suppressed subscriber", "/admin/subscribers/{suppressed_subscriber_id}", ADMIN),
    PageState(
        "subscribers on a list with a status",
        "/admin/subscribers?list=news&status=confirmed",
        ADMIN,
        shows="main table",
    ),
    PageState(
        "subscribers by address", "/admin/subscribers?sort=address", ADMIN, shows="main table"
    ),
    PageState(
        "subscribers suppressed", "/admin/subscribers?status=suppressed", ADMIN, shows="main table"
    ),
    PageState(
        "subscribers, address order asked with a search",
        "/admin/subscribers?q=example&sort=address",
        ADMIN,
    ),
    PageState(
        "subscribers, filters match nobody", "/admin/subscribers?list=jobs&status=pending", ADMIN
    ),
    PageState(
        "subscriber with a long history", "/admin/subscribers/{history_subscriber_id}", ADMIN
    ),
    PageState(
        "suppressed subscriber, lifted without a reason",
        "/admin/subscribers/{suppressed_subscriber_id}",
        ADMIN,
        act=press("Remove the suppression"),
    ),
    PageState("erase a subscriber", "/admin/subscribers/{subscriber_id}/erase", ADMIN),
    PageState("suppression list", "/admin/suppressions", ADMIN),
    PageState("suppression list as editor", "/admin/suppressions", EDITOR),
    PageState(
        "suppression list after a removal",
        "/admin/suppressions",
        ADMIN,
        act=open_details("Remove", then=remove_with_a_reason),
    ),
    PageState("suppression found", "/admin/suppressions?q=dan@example.com", ADMIN),
    PageState("suppression not found", "/admin/suppressions?q=zed@example.com", ADMIN),
    PageState("suppression bad address", "/admin/suppressions?q=dan@", ADMIN, shows=ERRORS),
    PageState("suppression remove form", "/admin/suppressions", ADMIN, act=open_details("Remove")),
    PageState(
        "suppression removed without a reason",
        "/admin/suppressions",
        ADMIN,
        act=open_details("Remove", then=lambda page: submit_in(page, "main details")),
    ),
    PageState("suppress addresses", "/admin/suppressions/new", ADMIN),
    PageState(
        "suppress addresses sent empty", "/admin/suppressions/new", ADMIN, act=submit, shows=ERRORS
    ),
    PageState(
        "suppress a bad address",
        "/admin/suppressions/new",
        ADMIN,
        act=fill_and_submit(Email_address="dan@"),
        shows=ERRORS,
    ),
    PageState(
        "addresses suppressed",
        "/admin/suppressions/new",
        ADMIN,
        act=fill_and_submit(Email_address="zed@example.com", Note="Asked by phone"),
    ),
    PageState("outbox", "/admin/outbox", ADMIN),
    PageState("outbox search results", "/admin/outbox?q=spring", ADMIN, shows="main table"),
    PageState("outbox search, no match", "/admin/outbox?q=nobody-at-all", ADMIN),
    PageState("outbox as editor", "/admin/outbox", EDITOR, shows="main table"),
    PageState("outbox message", "/admin/outbox/{outbox_message_id}", ADMIN),
    PageState("accounts", "/admin/accounts", ADMIN),
    PageState(
        "API tokens of an account",
        "/admin/accounts",
        ADMIN,
        act=lambda page: page.get_by_role("link", name=f"API tokens of {ADMIN}").click(),
        shows="main form",
    ),
    PageState(
        "API token made, shown once",
        "/admin/accounts",
        ADMIN,
        act=lambda page: (
            page.get_by_role("link", name=f"API tokens of {ADMIN}").click(),
            page.get_by_label("read: lists, subscribers, suppressions, issues, imports").check(),
            page.get_by_role("button", name="Make token").click(),
        ),
        shows="#api-token",
    ),
    PageState(
        "API token sent without a scope",
        "/admin/accounts",
        ADMIN,
        act=lambda page: (
            page.get_by_role("link", name=f"API tokens of {ADMIN}").click(),
            page.get_by_role("button", name="Make token").click(),
        ),
        shows=ERRORS,
    ),
    PageState(
        "password reset link",
        "/admin/accounts",
        ADMIN,
        act=press(f"Reset password of {EDITOR}"),
        shows="#reset-link",
    ),
    PageState(
        "set a new password", "/admin/accounts", ADMIN, act=open_reset_link, shows="main form"
    ),
    PageState(
        "set a new password sent empty",
        "/admin/accounts",
        ADMIN,
        act=lambda page: (open_reset_link(page), submit(page)),
        shows=ERRORS,
    ),
    PageState("reset link invalid", "/admin/reset/1-no-such-reset-token"),
    PageState("settings", "/admin/settings", ADMIN),
    PageState("settings on first run", "/admin/settings?first_run=1", ADMIN),
    PageState(
        "settings sent with a bad From",
        "/admin/settings",
        ADMIN,
        act=fill_and_press("Save settings", From_address="not an address"),
        shows=ERRORS,
    ),
    PageState(
        "settings saved",
        "/admin/settings",
        ADMIN,
        act=fill_and_press("Save settings", Postal_address="1 High Street\nLeeds LS1 1AA"),
        shows=".notification--success",
    ),
    PageState(
        "settings, a site given with a path",
        "/admin/settings",
        ADMIN,
        act=fill_sites_and_save(f"{MADE_UP_SITE}/news"),
        shows=ERRORS,
    ),
    PageState("test addresses", "/admin/test-addresses", ADMIN),
    PageState(
        "add test address sent empty",
        "/admin/test-addresses",
        ADMIN,
        act=press("Add test address"),
        shows=ERRORS,
    ),
    PageState(
        "add account sent empty", "/admin/accounts", ADMIN, act=press("Add account"), shows=ERRORS
    ),
    PageState("audit log", "/admin/audit", ADMIN),
    PageState("webhooks", "/admin/webhooks", ADMIN),
    PageState("add a webhook endpoint", "/admin/webhooks/new", ADMIN),
    PageState(
        "add a webhook endpoint sent empty",
        "/admin/webhooks/new",
        ADMIN,
        act=press("Add endpoint"),
        shows=ERRORS,
    ),
    PageState(
        "webhook endpoint added, its secret",
        "/admin/webhooks/new",
        ADMIN,
        act=add_a_webhook_endpoint,
        shows="#webhook-secret",
    ),
    PageState("webhook endpoint with deliveries", "/admin/webhooks/{webhook_id}", ADMIN),
    PageState(
        "webhook endpoint disabled, events held", "/admin/webhooks/{disabled_webhook_id}", ADMIN
    ),
    PageState("change password", "/admin/password", ADMIN),
    PageState("change password sent empty", "/admin/password", ADMIN, act=submit, shows=ERRORS),
    PageState("forbidden to editors", "/admin/accounts", EDITOR),
    PageState("admin not found", "/admin/issues/999999", ADMIN),
]

ALL_PAGES = PUBLIC_PAGES + ADMIN_PAGES

# Needs ENVIRONMENT_IDENTITY in the app's configuration (see above).
ENVIRONMENT_PAGES = [
    PageState("settings set by the environment", "/admin/settings", ADMIN),
]


def sign_in(page, live_server, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form, as a person would."""
    page.goto(live_server("/admin/login"))
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(live_server("/admin/"))


def heading(page):
    """The page's h1."""
    return page.get_by_role("heading", level=1)


def link_in(message, live_server, route: str) -> str:
    """The one `route` link (confirm, unsubscribe) in a captured mail's text part."""
    found = set(re.findall(rf"{re.escape(live_server.url)}/{route}/\S+", message.text()))
    assert len(found) == 1, f"expected one /{route}/ link, found {found}"
    return found.pop()


def open_state(page, live_server, world: World, state: PageState) -> None:
    """Sign in if the state needs it, open the page, do what the state says."""
    if state.account is not None:
        sign_in(page, live_server, state.account)
    page.goto(live_server(state.path.format(**vars(world))))
    if state.act is not None:
        state.act(page)


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
