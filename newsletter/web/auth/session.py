"""Loading the signed-in account from the session, and where to send it after signing in."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for

from newsletter.extensions import db, login_manager
from newsletter.models import Account


@login_manager.user_loader
def load_account(session_id: str) -> Account | None:
    """The account named by an "id:session_version" id, unless that session has ended."""
    account_id, _, version = session_id.partition(":")
    if not (account_id.isdigit() and version.isdigit()):
        return None
    account = db.session.get(Account, int(account_id))
    # A password change or disabling bumps the version, which ends every older session.
    if account is None or account.disabled or account.session_version != int(version):
        return None
    return account


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
