"""The one-time link that creates the first admin."""

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from newsletter.accounts import issue_setup_token
from newsletter.extensions import db
from newsletter.models import Account, AccountRole
from tests.support.servers import post_form, serving

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
    """Submitting the form makes an admin and leads on to the organisation's settings, signed in."""
    token = issue_setup_token()
    response = set_up(client, token)
    assert response.headers["Location"] == "/admin/settings?first_run=1"
    account = db.session.scalars(select(Account)).one()
    assert (account.email, account.role) == ("first@example.org", AccountRole.ADMIN)
    assert client.get("/admin/").status_code == 200


def test_setup_link_stops_working_once_used(app, client):
    """The second visit to a used link gets a 404 saying so."""
    token = issue_setup_token()
    set_up(client, token)
    response = app.test_client().get(f"/admin/setup/{token}")
    assert response.status_code == 404
    assert "This set-up link has been used" in response.get_data(as_text=True)


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


def test_one_link_posted_eight_times_at_once_makes_one_admin(app):
    """Eight people posting one link at the same moment: one admin, seven "used" pages."""
    token = issue_setup_token()
    # SQLite: the test's open transaction would keep the server's writes waiting.
    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(8)

    def post(n: int) -> tuple[int, str]:
        fields = {"email": f"admin{n}@example.org", "password": PASSWORD}
        barrier.wait()
        return post_form(f"{base}/admin/setup/{token}", fields | {"confirm_password": PASSWORD})

    with serving(app) as base, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(post, range(8)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [302] + [404] * 7, statuses
    for status, page in results:
        if status == 404:
            assert "This set-up link has been used" in page
    assert len(db.session.scalars(select(Account)).all()) == 1
