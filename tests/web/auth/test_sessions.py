"""Sessions end on the server: at sign-out, after the idle time and after the lifetime."""

import pytest
from flask_login.utils import encode_cookie

from newsletter.web.auth import session as sessions
from tests.factories import PASSWORD
from tests.support.signin import sign_in

HOUR = 3600


class Clock:
    """The sessions' clock, moved on by hand instead of by sleeping."""

    def __init__(self) -> None:
        self.now = 1_900_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float = 0, hours: float = 0) -> None:
        self.now += minutes * 60 + hours * HOUR


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sessions, "_clock", clock)
    return clock


def opens_admin(client) -> bool:
    """True when the subscribers page opens; False when it sends the client to sign in."""
    response = client.get("/admin/subscribers")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/admin/login")
        return False
    assert response.status_code == 200
    return True


def copy_of_cookie(app, client):
    """A second browser holding a copy of the first one's session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    return thief


def test_cookie_saved_before_logout_gets_the_sign_in_page_after(app, admin_client):
    """A copy of the session cookie stops working once its owner signs out."""
    copy = copy_of_cookie(app, admin_client)
    assert opens_admin(copy)
    admin_client.post("/admin/logout")
    assert not opens_admin(copy)
    assert not opens_admin(admin_client)


def test_old_cookie_stays_dead_after_signing_in_again(app, admin_client, admin_account):
    """Signing in again later does not bring back a session that was signed out."""
    copy = copy_of_cookie(app, admin_client)
    admin_client.post("/admin/logout")
    sign_in(admin_client, admin_account.email)
    assert opens_admin(admin_client)
    assert not opens_admin(copy)


def test_session_ends_after_the_idle_time(app, clock, admin_account):
    """An hour (the default) without a request ends the session."""
    client = app.test_client()
    sign_in(client, admin_account.email)
    clock.advance(minutes=59)
    assert opens_admin(client)
    clock.advance(minutes=59)  # 118 minutes since signing in, 59 since the last request
    assert opens_admin(client)
    clock.advance(minutes=61)
    assert not opens_admin(client)
    assert not opens_admin(client)  # ended for good, not only refused once


def test_session_ends_after_its_lifetime_however_busy(app, clock, admin_account):
    """Twelve hours (the default) after signing in the session ends, even in steady use."""
    client = app.test_client()
    sign_in(client, admin_account.email)
    for _ in range(23):
        clock.advance(minutes=30)
        assert opens_admin(client)
    clock.advance(minutes=31)  # 12 hours and 1 minute after signing in
    assert not opens_admin(client)
    assert sign_in(client, admin_account.email).status_code == 302
    assert opens_admin(client)


@pytest.mark.parametrize("config_overrides", [{"SESSION_IDLE_MINUTES": 5}])
def test_idle_time_is_a_setting(app, clock, admin_account, config_overrides):
    """SESSION_IDLE_MINUTES sets the idle time."""
    client = app.test_client()
    sign_in(client, admin_account.email)
    clock.advance(minutes=4)
    assert opens_admin(client)
    clock.advance(minutes=6)
    assert not opens_admin(client)


@pytest.mark.parametrize("config_overrides", [{"SESSION_MAX_HOURS": 1}])
def test_lifetime_is_a_setting(app, clock, admin_account, config_overrides):
    """SESSION_MAX_HOURS sets the lifetime."""
    client = app.test_client()
    sign_in(client, admin_account.email)
    clock.advance(minutes=40)
    assert opens_admin(client)
    clock.advance(minutes=40)
    assert not opens_admin(client)


def test_remember_me_cookie_signs_nobody_in(app, admin_account):
    """A valid remember-me cookie (the app never sets one) is refused and deleted."""
    client = app.test_client()
    cookie = encode_cookie(admin_account.get_id())
    client.set_cookie("remember_token", cookie, domain="localhost")
    assert not opens_admin(client)
    assert client.get_cookie("remember_token") is None


def test_sign_in_sets_no_remember_me_cookie(client, admin_account):
    """Signing in leaves only the session cookie, which the browser drops when it closes."""
    response = client.post(
        "/admin/login", data={"email": admin_account.email, "password": PASSWORD}
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert [c.split("=", 1)[0] for c in cookies] == ["session"]
    assert "expires" not in cookies[0].lower()


def test_public_pages_without_a_session_get_no_cookie(client):
    """The session check stamps only a signed-in session: a visitor is given no cookie."""
    response = client.get("/archive")
    assert "Set-Cookie" not in response.headers
