"""Signing test clients in, as a person would through the form, and a fresh `g` per request."""

from pathlib import Path

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

    The folders in FRESH_GLOBALS_FOLDERS use it for every test (`_fresh_globals_in_folder`).

    The app fixture keeps one app context open and test requests reuse it, so what Flask-Login
    (the signed-in account) and Flask-WTF (the CSRF token) cache in `g` would otherwise carry
    over from one request, or one client, to the next.
    """
    flask.request_started.connect(_fresh_request_globals, app)
    yield
    flask.request_started.disconnect(_fresh_request_globals, app)


TESTS = Path(__file__).resolve().parent.parent
# Folders (under tests/) whose every test gets `fresh_globals_per_request`: the web tests, which
# sign in through the client, and the worker tests, which sign up through it.
FRESH_GLOBALS_FOLDERS = ("web", "workers")


@pytest.fixture(autouse=True)
def _fresh_globals_in_folder(request) -> None:
    """Use `fresh_globals_per_request` for every test in FRESH_GLOBALS_FOLDERS, and only there."""
    folder = Path(request.node.path).resolve().relative_to(TESTS).parts[0]
    if folder in FRESH_GLOBALS_FOLDERS:
        request.getfixturevalue("fresh_globals_per_request")
