"""/admin/accounts/<id>/tokens: admins make a token (shown once) and revoke one."""

from __future__ import annotations

import re

from sqlalchemy import select

from newsletter.api_tokens import authenticate
from newsletter.extensions import db
from newsletter.models import ApiToken


def test_an_admin_makes_a_token_shown_once_and_revokes_it(admin_client, admin_account):
    page = f"/admin/accounts/{admin_account.id}/tokens"
    assert admin_client.get(page).status_code == 200
    made = admin_client.post(page, data={"name": "Website", "scope_read": "y",
                                         "expires_days": "30"})  # fmt: skip
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    secret = re.search(r'value="(nl_[^"]+)"', made.get_data(as_text=True)).group(1)
    token = authenticate(secret)
    assert token is not None and token.scopes == "read"
    listing = admin_client.get(page).get_data(as_text=True)
    assert secret not in listing and "Website" in listing
    admin_client.post(f"{page}/{token.id}/revoke")
    assert authenticate(secret) is None


def test_the_webhooks_scope_can_be_given_on_the_form(admin_client, admin_account):
    page = f"/admin/accounts/{admin_account.id}/tokens"
    assert 'name="scope_webhooks"' in admin_client.get(page).get_data(as_text=True)
    made = admin_client.post(page, data={"name": "CRM", "scope_read": "y",
                                         "scope_webhooks": "y"})  # fmt: skip
    secret = re.search(r'value="(nl_[^"]+)"', made.get_data(as_text=True)).group(1)
    assert authenticate(secret).scopes == "read webhooks"


def test_no_scope_is_an_error_on_the_form(admin_client, admin_account):
    response = admin_client.post(f"/admin/accounts/{admin_account.id}/tokens", data={"name": "x"})
    assert response.status_code == 422
    assert "Choose at least one scope" in response.get_data(as_text=True)
    assert db.session.scalars(select(ApiToken)).all() == []


def test_editors_cannot_open_the_page(client, make, admin_account):
    from tests.factories import PASSWORD

    editor = make.account(role="editor")
    client.post("/admin/login", data={"email": editor.email, "password": PASSWORD})
    assert client.get(f"/admin/accounts/{admin_account.id}/tokens").status_code == 403
