"""Fixtures of the API tests: tokens made by the domain, and a client that sends one."""

from __future__ import annotations

import pytest

from newsletter.api_tokens import create_token

ALL_SCOPES = ["read", "subscribers", "send", "webhooks"]


class Api:
    """The test client with a bearer token on every request."""

    def __init__(self, client, secret: str | None) -> None:
        self.client = client
        self.secret = secret

    def _headers(self, headers: dict | None) -> dict:
        merged = dict(headers or {})
        if self.secret is not None:
            merged.setdefault("Authorization", f"Bearer {self.secret}")
        return merged

    def get(self, path: str, headers: dict | None = None, **kwargs):
        return self.client.get(f"/api/v1{path}", headers=self._headers(headers), **kwargs)

    def post(self, path: str, json=None, headers: dict | None = None, **kwargs):
        return self.client.post(
            f"/api/v1{path}", json=json, headers=self._headers(headers), **kwargs
        )

    def patch(self, path: str, json=None, headers: dict | None = None, **kwargs):
        return self.client.patch(
            f"/api/v1{path}", json=json, headers=self._headers(headers), **kwargs
        )


@pytest.fixture
def token_for(app):
    """token_for(account, scopes) -> the secret of a new token."""

    def make_token(account, scopes=ALL_SCOPES, **options) -> str:
        return create_token(account, scopes, actor="test", **options).secret

    return make_token


@pytest.fixture
def api(client, admin_account, token_for) -> Api:
    """An admin's token with every scope."""
    return Api(client, token_for(admin_account))


@pytest.fixture
def api_as(client, token_for):
    """api_as(account, scopes) -> an Api client with a new token of that account."""

    def make_client(account, scopes=ALL_SCOPES) -> Api:
        return Api(client, token_for(account, scopes))

    return make_client
