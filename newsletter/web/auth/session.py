"""Signed-in sessions: loading the account, their idle time and lifetime, and where to go next.

A session is the signed cookie Flask keeps. It names the account and its `session_version`
(so a sign-out, a password change or disabling the account ends every session made before),
and carries when it started and when it was last used, so that it ends after
`SESSION_IDLE_MINUTES` without a request and `SESSION_MAX_HOURS` after signing in, whatever the
cookie says about itself. There is no remember-me: the app never sets that cookie, and one
presented is refused and deleted, since it would sign in without those two times.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import current_app, request, session, url_for
from flask_login import login_user, logout_user

from newsletter.extensions import db, login_manager
from newsletter.models import Account
from newsletter.web.auth.blueprint import bp

STARTED = "signed_in_at"  # when the person signed in, in seconds since the epoch
SEEN = "seen_at"  # when the session last made a request


def _clock() -> float:
    """Now, in seconds since the epoch (the tests move it on)."""
    return time.time()


@login_manager.user_loader
def load_account(session_id: str) -> Account | None:
    """The account named by an "id:session_version" id, unless that session has ended."""
    account_id, _, version = session_id.partition(":")
    if not (account_id.isdigit() and version.isdigit()):
        return None
    account = db.session.get(Account, int(account_id))
    # Signing out, a password change or disabling bumps the version, ending older sessions.
    if account is None or account.disabled or account.session_version != int(version):
        return None
    return account


def start_session(account: Account) -> None:
    """Sign the account in on a fresh session, stamped with the time it started."""
    # A fresh session on sign-in, so nothing set before it (a planted id) survives.
    session.clear()
    login_user(account)
    session[STARTED] = session[SEEN] = int(_clock())


def end_session() -> None:
    """Forget the signed-in account and everything else the session held."""
    session.clear()
    logout_user()


def session_is_current(now: float) -> bool:
    """True while the session has been used within the idle time and is within its lifetime.

    A session without both stamps (made by a remember-me cookie, or before they existed) is
    not current.
    """
    started, seen = session.get(STARTED), session.get(SEEN)
    if not isinstance(started, int) or not isinstance(seen, int):
        return False
    config = current_app.config
    idle = now - seen > int(config["SESSION_IDLE_MINUTES"]) * 60
    too_old = now - started > int(config["SESSION_MAX_HOURS"]) * 3600
    return not (idle or too_old)


@bp.before_app_request
def end_or_stamp_session() -> None:
    """End a signed-in session that is idle or too old; stamp the use of any other one.

    Runs before every request, ahead of the admin's sign-in check, so an ended session meets
    the sign-in page. A request with no signed-in session costs nothing here.
    """
    if request.path.startswith("/api/v1/"):
        # The API takes bearer tokens only: a session cookie sent along is neither read nor
        # renewed (no Set-Cookie in any API answer).
        return
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    if "_user_id" not in session and remember_cookie not in request.cookies:
        return
    now = _clock()
    if not session_is_current(now):
        end_session()
        return
    if session[SEEN] != int(now):
        session[SEEN] = int(now)


def safe_next(target: str | None) -> str:
    """`target` if it is a path on this site, else the dashboard: never an open redirect."""
    fallback = url_for("admin.dashboard")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    # Browsers read "\" as "/" and drop tabs and newlines, so "/\evil.org" would leave the site.
    if "\\" in target or any(ord(char) < 0x21 for char in target):
        return fallback
    parts = urlsplit(target)
    return fallback if parts.scheme or parts.netloc else target
