"""The one-time link that creates the first admin."""

from sqlalchemy import select

from newsletter.accounts import issue_setup_token
from newsletter.extensions import db
from newsletter.models import Account, AccountRole

PASSWORD = "the first admin password"


def set_up(client, token, email="first@example.org", password=PASSWORD, confirm=PASSWORD):
    return client.post(
        f"/admin/setup/{token}",
        data={"email": email, "password": password, "confirm_password": confirm},
    )


def test_setup_link_shows_the_form_while_no_account_exists(client):
    """A fresh token opens the set-up form."""
    token = issue_setup_token()
    response = client.get(f"/admin/setup/{token}")
    assert response.status_code == 200
    assert 'name="email"' in response.get_data(as_text=True)


def test_setup_link_creates_the_first_admin_and_signs_them_in(client):
    """Submitting the form makes an admin and lands on the dashboard, signed in."""
    token = issue_setup_token()
    response = set_up(client, token)
    assert response.headers["Location"] == "/admin/"
    account = db.session.scalars(select(Account)).one()
    assert (account.email, account.role) == ("first@example.org", AccountRole.ADMIN)
    assert client.get("/admin/").status_code == 200


def test_setup_link_stops_working_once_used(app, client):
    """The second visit to a used link gets a 404 saying so."""
    token = issue_setup_token()
    set_up(client, token)
    response = app.test_client().get(f"/admin/setup/{token}")
    assert response.status_code == 404
    assert "has been used already, or it is not valid" in response.get_data(as_text=True)


def test_used_setup_link_cannot_create_a_second_admin(app, client):
    """Posting to a used link creates nothing."""
    token = issue_setup_token()
    set_up(client, token)
    response = set_up(app.test_client(), token, email="second@example.org")
    assert response.status_code == 404
    assert db.session.scalars(select(Account.email)).all() == ["first@example.org"]


def test_wrong_setup_token_is_a_404(client):
    """A made-up token shows the invalid-link page."""
    issue_setup_token()
    assert client.get("/admin/setup/made-up").status_code == 404


def test_setup_form_refuses_a_short_password_and_creates_nothing(client):
    """Invalid input re-renders with 422 and no account."""
    token = issue_setup_token()
    response = set_up(client, token, password="short", confirm="short")
    assert response.status_code == 422
    assert db.session.scalars(select(Account)).all() == []


def test_setup_form_refuses_mismatched_passwords(client):
    """The password must be typed the same twice."""
    token = issue_setup_token()
    response = set_up(client, token, confirm="another long password")
    assert response.status_code == 422
    assert "do not match" in response.get_data(as_text=True)
