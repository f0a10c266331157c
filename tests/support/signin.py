"""Signing test clients in, as a person would through the form, and a fresh `g` per request."""

import flask
import pytest

from tests.factories import PASSWORD


def sign_in(client, email: str, password: str = PASSWORD):
    """Post the sign-in form; returns the response."""
    return client.post("/admin/login", data={"email": email, "password": password})


def _fresh_request_globals(sender, **extra) -> None:
    for name in list(flask.g):
        flask.g.pop(name)


@pytest.fixture
def fresh_globals_per_request(app):
    """Give every request an empty `g`, as its own app context does in production.

    Folders of tests that sign in through the client use it for every test (their conftest.py).

    The app fixture keeps one app context open and test requests reuse it, so what Flask-Login
    (the signed-in account) and Flask-WTF (the CSRF token) cache in `g` would otherwise carry
    over from one request, or one client, to the next.
    """
    flask.request_started.connect(_fresh_request_globals, app)
    yield
    flask.request_started.disconnect(_fresh_request_globals, app)
