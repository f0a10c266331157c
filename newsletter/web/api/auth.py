"""Who calls: a bearer token, never the session cookie; and what its account may do."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from functools import wraps

from flask import g, request
from flask_login import AnonymousUserMixin

from newsletter.api_tokens import authenticate
from newsletter.compose.issues import may_send
from newsletter.models import Account, ApiToken
from newsletter.web.api.problems import fail


class Needs(StrEnum):
    """What an operation needs of the account, beyond the token's scope."""

    ANY = "any"  # every account may (editors too), as on the admin's pages
    SEND = "send"  # the right to send (admins, and editors if an admin allows it)
    ADMIN = "admin"  # admins only: export, erase, suppression changes


def bearer_secret() -> str | None:
    """The token in `Authorization: Bearer …`, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return secret.strip()


def current_token() -> ApiToken:
    return g.api_token


def current_account() -> Account:
    return g.api_token.account


def forget_session_user() -> None:
    """Before every API request: nobody is signed in, whatever cookie came with it.

    flask-login reads the session only when `current_user` is first used in a request; with
    its user already set here, an admin's session cookie never authenticates an API call.
    """
    g._login_user = AnonymousUserMixin()


def _authenticated() -> ApiToken:
    secret = bearer_secret()
    token = authenticate(secret) if secret else None
    if token is None:
        fail(
            401,
            "Send a valid API token as `Authorization: Bearer nl_…`: this one is missing, "
            "unknown, expired or revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="newsletter"'},
        )
    g.api_token = token
    # Domain code that asks for the signed-in account (the audit log, the right to send)
    # sees the token's account.
    g._login_user = token.account
    return token


def _allowed(account: Account, needs: Needs) -> bool:
    if needs == Needs.ADMIN:
        return account.is_admin
    if needs == Needs.SEND:
        return may_send(account)
    return True


def authorised(scope: str, needs: Needs = Needs.ANY) -> Callable:
    """The view needs a token with `scope` whose account may do this in the admin (401, 403)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            token = _authenticated()
            if scope not in token.scope_set:
                fail(403, f"This token does not have the scope `{scope}`.")
            if not _allowed(token.account, needs):
                fail(403, _refusal(needs))
            return view(*args, **kwargs)

        wrapper.api_scope = scope  # type: ignore[attr-defined]
        return wrapper

    return decorate


def _refusal(needs: Needs) -> str:
    if needs == Needs.ADMIN:
        return "Only an admin account may do this."
    return "This account may not send issues: an admin can allow editors to send."
