"""CSRF protection, with it switched on as in production."""

import re

import pytest
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import AuditEvent, MailingList
from tests.factories import PASSWORD


@pytest.fixture
def config_overrides():
    return {"WTF_CSRF_ENABLED": True}


def csrf_token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in_with_token(client, email: str) -> None:
    token = csrf_token(client, "/admin/login")
    response = client.post(
        "/admin/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_login_without_a_token_is_refused(client, admin_account):
    """Signing in needs the form's token too."""
    response = client.post(
        "/admin/login", data={"email": admin_account.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    assert db.session.scalars(select(AuditEvent.action)).all() == ["account.created"]


def test_login_with_the_token_works(client, admin_account):
    """The token from the page lets the form through."""
    sign_in_with_token(client, admin_account.email)
    assert client.get("/admin/").status_code == 200


def test_form_post_without_a_token_is_refused_and_changes_nothing(client, admin_account):
    """A forged POST gets a 400 page and creates no list."""
    sign_in_with_token(client, admin_account.email)
    response = client.post("/admin/lists/new", data={"slug": "forged", "name": "Forged"})
    assert response.status_code == 400
    assert "The form could not be sent" in response.get_data(as_text=True)
    assert db.session.scalars(select(MailingList)).all() == []


def test_logout_without_a_token_is_refused(client, admin_account):
    """Another site cannot sign someone out."""
    sign_in_with_token(client, admin_account.email)
    assert client.post("/admin/logout").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_form_post_with_the_token_is_accepted(client, admin_account):
    """The same form with its token creates the list."""
    sign_in_with_token(client, admin_account.email)
    token = csrf_token(client, "/admin/lists/new")
    response = client.post(
        "/admin/lists/new", data={"slug": "news", "name": "News", "csrf_token": token}
    )
    assert response.status_code == 302
    assert db.session.scalars(select(MailingList.slug)).all() == ["news"]
