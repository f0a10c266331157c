"""Changing a password, and the sessions it ends."""

from tests.factories import PASSWORD
from tests.support.signin import sign_in

NEW_PASSWORD = "a brand new long password"


def change(client, current=PASSWORD, new=NEW_PASSWORD, confirm=NEW_PASSWORD):
    return client.post(
        "/admin/password",
        data={"current_password": current, "new_password": new, "confirm_password": confirm},
    )


def test_change_password_page_needs_a_login(client):
    """Signed-out visitors are sent to the sign-in page."""
    response = client.get("/admin/password")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


def test_password_change_keeps_the_changing_session(admin_client):
    """The person who changed the password stays signed in."""
    assert change(admin_client).status_code == 302
    assert admin_client.get("/admin/").status_code == 200


def test_password_change_ends_other_sessions(app, admin_account):
    """Another browser signed in as the same account is signed out."""
    mine, theirs = app.test_client(), app.test_client()
    sign_in(mine, admin_account.email)
    sign_in(theirs, admin_account.email)
    change(mine)
    assert theirs.get("/admin/").status_code == 302


def test_new_password_works_and_old_one_does_not(app, admin_client, admin_account):
    """After the change only the new password signs in."""
    change(admin_client)
    other = app.test_client()
    assert sign_in(other, admin_account.email, PASSWORD).status_code == 422
    assert sign_in(other, admin_account.email, NEW_PASSWORD).status_code == 302


def test_wrong_current_password_is_refused(admin_client):
    """The current password must be right; the error names that field."""
    response = change(admin_client, current="not my current password")
    assert response.status_code == 422
    assert "Your current password is not correct" in response.get_data(as_text=True)


def test_mismatched_confirmation_is_refused(admin_client):
    """The new password has to be typed the same twice."""
    response = change(admin_client, confirm="something else entirely")
    assert response.status_code == 422
    assert "do not match" in response.get_data(as_text=True)


def test_short_new_password_is_refused(admin_client):
    """The 12-character rule applies to new passwords."""
    response = change(admin_client, new="short", confirm="short")
    assert response.status_code == 422
    assert "at least 12 characters" in response.get_data(as_text=True)
