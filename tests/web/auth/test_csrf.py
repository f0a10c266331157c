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


# The only POSTs that take no session cookie and no CSRF token, each with why that is safe.
EXEMPT = {
    # The signed token in the confirmation mail's link is the proof (public/confirm.py).
    "public.confirm",
    # RFC 8058 one-click unsubscribe: mail clients POST with no cookie; the URL is the secret.
    "public.unsubscribe",
    "public.unsubscribe_issue",
    # The embedded sign-up form on the organisation's own site: only an allowed Origin (or
    # Referer) is let through, and it can only ask for a double opt-in (public/embed.py).
    "public.subscribe_embed",
}


def _a_path(app, rule) -> str:
    """A path that matches `rule`, with a plausible value in each variable."""
    from flask import url_for

    values = {}
    for name, converter in rule._converters.items():
        numeric = type(converter).__name__ in {"IdConverter", "IntegerConverter"}
        values[name] = 1 if numeric else "news"
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def test_every_post_but_the_named_exceptions_needs_the_token(app, client, admin_account, news):
    """Signed in with a live session, a POST without its token is refused on every route but
    the named ones; those are exempt for the reasons given in EXEMPT. The JSON API (/api/v1)
    takes no CSRF token because it takes no session cookie either: a signed-in browser's POST
    to it without a bearer token is refused as unauthenticated."""
    sign_in_with_token(client, admin_account.email)
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in (rule.methods or ())]
    api = [rule for rule in posts if rule.endpoint.startswith("api.")]
    assert api, "the API's POST routes are checked below"
    for rule in api:
        response = client.post(_a_path(app, rule), data={"email": "ann@example.com"})
        assert response.status_code == 401, rule.endpoint
        assert response.mimetype == "application/problem+json"
    posts = [rule for rule in posts if rule not in api]
    assert len(posts) > 20
    without_token = set()
    for rule in posts:
        response = client.post(_a_path(app, rule), data={"email": "ann@example.com"})
        refused = response.status_code == 400 and "The form could not be sent" in (
            response.get_data(as_text=True)
        )
        if not refused:
            without_token.add(rule.endpoint)
    assert without_token == EXEMPT


def test_the_embedded_form_needs_no_token_but_an_allowed_site(app, client, news):
    """No cookie, no token: an allowed Origin is let through, any other refused."""
    from tests.support.embedding import SITE, allow, issued_wording, post_embed

    allow(app)
    version = issued_wording(app, "news")
    assert post_embed(client, "ann@example.com", wording=version).status_code == 200
    refused = post_embed(client, "bob@example.com", wording=version, origin="https://evil.example")
    assert refused.status_code == 403
    assert SITE not in refused.get_data(as_text=True)
