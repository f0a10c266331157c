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
from email.message import EmailMessage
from pathlib import Path
from unittest import mock

import pytest
from itsdangerous.timed import TimestampSigner

from newsletter import subscriptions
from newsletter.extensions import db
from tests.conftest import PASSWORD

EDITOR = "editor@example.org"
ADMIN = "admin@example.org"


@dataclass(frozen=True)
class World:
    """Rows every page can be shown with; plain values, so no test holds a database session."""

    draft_issue_id: int
    sent_issue_id: int
    outbox_message_id: int
    unsubscribe_token: str
    preferences_token: str
    expired_preferences_token: str
    confirm_token: str
    expired_confirm_token: str
    tampered_token: str


def _long_ago(make_token: Callable[[], str]) -> str:
    """A token signed a year ago: every link has expired by then."""
    year_ago = int(time.time()) - 366 * 24 * 3600
    with mock.patch.object(TimestampSigner, "get_timestamp", return_value=year_ago):
        return make_token()


@pytest.fixture
def world(live_server, make) -> World:
    """Staff, two lists, a confirmed and a pending subscriber, a draft and a sent issue."""
    from newsletter.issues import create_issue, send_issue
    from newsletter.models import OutboxMessage

    make.account(email=ADMIN, password=PASSWORD, role="admin")
    make.account(email=EDITOR, password=PASSWORD, role="editor")
    news = make.list("news", name="News", description="Monthly news from the coalition.")
    make.list("jobs", name="Jobs", description="Vacancies, every Friday.")
    ann = make.subscriber("ann@example.com", lists=[news], name="Ann")
    bob = make.subscriber("bob@example.com", lists=[news], status="pending")
    draft = create_issue("Summer news", "Hello **everyone**.\n", ["news"], actor="test")
    sent = create_issue("Spring news", "Spring is here.\n", ["news"], actor="test")
    send_issue(sent, "test", dispatch=True)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "news@example.org", ann.email, "Spring news"
    mail.set_content("Spring is here.")
    mail.add_alternative("<p>Spring is here.</p>", subtype="html")
    captured = OutboxMessage(
        mail_from="news@example.org", recipients=ann.email, subject="Spring news", raw=bytes(mail)
    )
    db.session.add(captured)
    db.session.commit()
    preferences = subscriptions.preferences_token(ann)
    built = World(
        draft_issue_id=draft.id,
        sent_issue_id=sent.id,
        outbox_message_id=captured.id,
        unsubscribe_token=ann.unsubscribe_token,
        preferences_token=preferences,
        expired_preferences_token=_long_ago(lambda: subscriptions.preferences_token(ann)),
        confirm_token=subscriptions.confirmation_token(bob),
        expired_confirm_token=_long_ago(lambda: subscriptions.confirmation_token(bob)),
        tampered_token=preferences[:-4] + ("AAAA" if not preferences.endswith("AAAA") else "BBBB"),
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
    _click_and_load(page, page.locator("main form button[type=submit]").first)


def press(button: str) -> Callable:
    """Press the button named `button` (on a page with several forms)."""

    def act(page) -> None:
        _click_and_load(page, page.get_by_role("button", name=button, exact=True))

    return act


def fill_and_submit(**fields: str) -> Callable:
    """Fill fields by label, then send the form."""

    def act(page) -> None:
        for label, value in fields.items():
            page.get_by_label(label.replace("_", " "), exact=True).fill(value)
        submit(page)

    return act


def submit_without_session(page) -> None:
    """The form kept open until its session is gone: the "form expired" page (400)."""
    page.context.clear_cookies()
    submit(page)


def upload_a_csv(page) -> None:
    """An import of two addresses: the job's page, once its script reloaded it finished."""
    page.get_by_label("List", exact=True).select_option("news")
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": CSV}]
    )
    submit(page)
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


ERRORS = ".error-summary"


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
    PageState("sign-up form expired", "/subscribe", act=submit_without_session),
    PageState("confirmed", "/confirm/{confirm_token}"),
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
    PageState("dashboard", "/admin/", ADMIN),
    PageState("lists", "/admin/lists", ADMIN),
    PageState("create a list", "/admin/lists/new", ADMIN),
    PageState("create a list sent empty", "/admin/lists/new", ADMIN, act=submit, shows=ERRORS),
    PageState("edit a list", "/admin/lists/news/edit", ADMIN),
    PageState("imports", "/admin/imports", ADMIN),
    PageState("new import", "/admin/imports/new", ADMIN),
    PageState("new import sent empty", "/admin/imports/new", ADMIN, act=submit, shows=ERRORS),
    PageState("import job", "/admin/imports/new", ADMIN, act=upload_a_csv),
    PageState("import job to reconfirm", "/admin/imports/new", ADMIN, act=upload_to_reconfirm),
    PageState("ask an import to confirm", "/admin/imports/new", ADMIN, act=ask_to_confirm),
    PageState("confirmation requests", "/admin/imports/new", ADMIN, act=send_the_requests),
    PageState("issues", "/admin/issues", ADMIN),
    PageState("write an issue", "/admin/issues/new", ADMIN),
    PageState("write an issue sent empty", "/admin/issues/new", ADMIN, act=submit, shows=ERRORS),
    PageState("draft issue", "/admin/issues/{draft_issue_id}", ADMIN),
    PageState("sent issue", "/admin/issues/{sent_issue_id}", ADMIN),
    PageState("outbox", "/admin/outbox", ADMIN),
    PageState("outbox message", "/admin/outbox/{outbox_message_id}", ADMIN),
    PageState("accounts", "/admin/accounts", ADMIN),
    PageState(
        "add account sent empty", "/admin/accounts", ADMIN, act=press("Add account"), shows=ERRORS
    ),
    PageState("audit log", "/admin/audit", ADMIN),
    PageState("change password", "/admin/password", ADMIN),
    PageState("change password sent empty", "/admin/password", ADMIN, act=submit, shows=ERRORS),
    PageState("forbidden to editors", "/admin/accounts", EDITOR),
    PageState("admin not found", "/admin/issues/999999", ADMIN),
]

ALL_PAGES = PUBLIC_PAGES + ADMIN_PAGES


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
