"""Password reset links: made by an admin (or the CLI), shown once, used once, expiring."""

from datetime import timedelta

from sqlalchemy import select

from newsletter import accounts
from newsletter.extensions import db
from newsletter.models import AppSetting, AuditEvent
from tests.support.signin import sign_in

NEW_PASSWORD = "a brand new password"


def make_link(admin_client, account) -> str:
    response = admin_client.post(f"/admin/accounts/{account.id}/reset")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    start = page.index("http://localhost/admin/reset/")
    return page[start : page.index('"', start)].removeprefix("http://localhost")


def test_admin_makes_a_link_that_sets_the_password_once_and_ends_sessions(app, admin_client, make):
    editor = make.account(email="ed@example.org", role="editor")
    editor_client = app.test_client()
    sign_in(editor_client, "ed@example.org")
    assert editor_client.get("/admin/").status_code == 200
    link = make_link(admin_client, editor)
    visitor = app.test_client()
    assert "For the account ed@example.org" in visitor.get(link).get_data(as_text=True)
    response = visitor.post(
        link, data={"new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert sign_in(app.test_client(), "ed@example.org", NEW_PASSWORD).status_code == 302
    assert editor_client.get("/admin/").status_code == 302  # the old session has ended
    again = visitor.get(link)
    assert again.status_code == 404
    assert "This reset link does not work" in again.get_data(as_text=True)
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "account.reset_link_created" in actions and "account.password_reset" in actions


def test_a_short_password_is_refused_and_the_link_still_works(app, admin_client, make):
    editor = make.account(email="ed@example.org", role="editor")
    link = make_link(admin_client, editor)
    response = app.test_client().post(
        link, data={"new_password": "short", "confirm_password": "short"}
    )
    assert response.status_code == 422
    assert "at least 12 characters" in response.get_data(as_text=True)
    assert app.test_client().get(link).status_code == 200


def test_an_expired_link_does_not_work(app, admin_client, make):
    editor = make.account(email="ed@example.org", role="editor")
    link = make_link(admin_client, editor)
    row = db.session.scalars(
        select(AppSetting).where(AppSetting.key.startswith("password_reset:"))
    ).one()
    digest, _, expires = row.value.partition(" ")
    from datetime import datetime

    row.value = f"{digest} {(datetime.fromisoformat(expires) - timedelta(hours=25)).isoformat()}"
    db.session.commit()
    assert app.test_client().get(link).status_code == 404


def test_a_newer_link_replaces_the_last(app, admin_client, make):
    editor = make.account(email="ed@example.org", role="editor")
    first = make_link(admin_client, editor)
    second = make_link(admin_client, editor)
    assert app.test_client().get(first).status_code == 404
    assert app.test_client().get(second).status_code == 200


def test_an_admin_cannot_reset_their_own_password_here(admin_client, admin_account):
    response = admin_client.post(f"/admin/accounts/{admin_account.id}/reset", follow_redirects=True)
    assert "To change your own password, use Change password" in response.get_data(as_text=True)
    assert accounts.reset_link_account(f"{admin_account.id}-x") is None


def test_accounts_page_says_whether_editors_may_send(admin_client):
    page = admin_client.get("/admin/accounts").get_data(as_text=True)
    assert "They may not send, schedule, pause or cancel an issue" in page
    admin_client.post("/admin/issues/permissions", data={"editors_may_send": "y"})
    page = admin_client.get("/admin/accounts").get_data(as_text=True)
    assert "They may also send, schedule, pause and cancel issues" in page
