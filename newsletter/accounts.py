"""Secretariat accounts: the first admin, creating them, signing in, passwords, switching off.

Functions that change an account commit (with their audit record); lookups change nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import has_request_context
from flask_login import current_user
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from newsletter.addresses import parse_address
from newsletter.audit import record
from newsletter.errors import ConflictError, NotFoundError, ValidationError
from newsletter.extensions import db
from newsletter.keys import get_setting, set_setting
from newsletter.models import Account, AccountRole, AppSetting
from newsletter.models.base import changed_rows, get_by_id, utcnow

MIN_PASSWORD_LENGTH = 12
SETUP_TOKEN_HASH = "setup_token_sha256"

_hasher = PasswordHasher()


class IncorrectPasswordError(ValidationError):
    """The current password given to confirm a change was wrong."""


def check_password(password: str) -> None:
    """Raise ValidationError unless the password is long enough to use."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters")


def check_role(role: str | AccountRole) -> AccountRole:
    """The AccountRole named by `role`, or ValidationError."""
    try:
        return AccountRole(role)
    except ValueError:
        raise ValidationError("Role must be admin or editor") from None


def find_account(email: str) -> Account | None:
    """The account for an address, matched by its canonical key, or None."""
    try:
        key = parse_address(email).key
    except ValidationError:
        return None
    return db.session.scalar(select(Account).where(Account.email_key == key))


def get_account(account_id: int) -> Account:
    """The account with this id, or NotFoundError."""
    account = get_by_id(Account, account_id)
    if account is None:
        raise NotFoundError(f"no account with the id {account_id}")
    return account


def all_accounts() -> list[Account]:
    """Every account, ordered by address."""
    return list(db.session.scalars(select(Account).order_by(Account.email_key)))


def create_account(
    email: str,
    password: str,
    role: str | AccountRole = "admin",
    actor: Account | str | None = None,
) -> Account:
    """Create a secretariat account; ValidationError or ConflictError if it cannot be."""
    account = _add_account(email, password, role, actor)
    db.session.commit()
    return account


def _add_account(
    email: str, password: str, role: str | AccountRole, actor: Account | str | None
) -> Account:
    """create_account without the commit."""
    address = parse_address(email)
    check_password(password)
    account_role = check_role(role)
    if db.session.scalar(select(Account.id).where(Account.email_key == address.key)):
        raise _exists_already(address.email)
    return _insert_account(address.email, address.key, _hasher.hash(password), account_role, actor)


def _exists_already(email: str) -> ConflictError:
    return ConflictError(f"an account for {email} exists already")


def _insert_account(
    email: str,
    email_key: str,
    password_hash: str,
    role: AccountRole,
    actor: Account | str | None,
) -> Account:
    """Add the account row and its audit record, without the commit."""
    account = Account(email=email, email_key=email_key, password_hash=password_hash, role=role)
    db.session.add(account)
    try:
        db.session.flush()
    except IntegrityError as error:
        # Another request created the same account between our check and our insert.
        db.session.rollback()
        raise _exists_already(email) from error
    record(
        "account.created",
        target=f"account:{account.id}",
        detail={"email": account.email, "role": role.value},
        actor=actor,
    )
    return account


def has_accounts() -> bool:
    return db.session.scalar(select(Account.id).limit(1)) is not None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_setup_token() -> str | None:
    """A new one-time token that creates the first admin, or None if an account exists."""
    if has_accounts():
        return None
    token = secrets.token_urlsafe(32)
    set_setting(SETUP_TOKEN_HASH, _digest(token))
    return token


def setup_token_is_valid(token: str) -> bool:
    """True while no account exists and `token` is the one last issued."""
    stored = get_setting(SETUP_TOKEN_HASH)
    if stored is None or has_accounts():
        return False
    return hmac.compare_digest(stored, _digest(token))


class SetupLinkUsedError(NotFoundError):
    """The set-up link was used (or replaced) before this request could use it."""


def create_first_admin(token: str, email: str, password: str) -> Account:
    """Create the first admin with the one-time set-up token, consuming the token.

    The token is taken by a conditional DELETE in the same transaction as the account: of any
    number of requests racing with one link, only the one whose DELETE removed the row goes on
    (the others wait on its row lock, then remove nothing), so the link makes one account.
    The slow work (checks, the password hash) comes first, so the lock is held only briefly.
    """
    if not setup_token_is_valid(token):
        raise NotFoundError("this set-up link has been used already or is not valid")
    address = parse_address(email)
    check_password(password)
    password_hash = _hasher.hash(password)
    if not _take_setup_token(token):
        db.session.rollback()
        raise SetupLinkUsedError("this set-up link has been used already")
    account = _insert_account(
        address.email, address.key, password_hash, AccountRole.ADMIN, actor="setup"
    )
    db.session.commit()
    return account


def _take_setup_token(token: str) -> bool:
    """Delete the stored token if it is `token` and no account exists yet; True if it was.

    The first write of its transaction: the row lock (PostgreSQL) or the write lock (SQLite)
    makes every other taker wait, and then find nothing to delete.
    """
    taken = db.session.execute(
        delete(AppSetting)
        .where(AppSetting.key == SETUP_TOKEN_HASH, AppSetting.value == _digest(token))
        .where(~select(Account.id).exists())
    )
    return changed_rows(taken) == 1


@cache
def _dummy_hash() -> str:
    return _hasher.hash("a password nobody has, verified to even out timing")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str) -> Account | None:
    """The enabled account these credentials belong to, or None; audits either way."""
    account = find_account(email)
    if account is None:
        # Spend the same time as a real check, so timing does not tell which addresses exist.
        _verify(_dummy_hash(), password or "")
        _login_failed(None, "unknown account")
        return None
    if not _verify(account.password_hash, password or ""):
        _login_failed(account, "wrong password")
        return None
    if account.disabled:
        _login_failed(account, "account disabled")
        return None
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    note_login(account)
    return account


def _login_failed(account: Account | None, reason: str) -> None:
    # Never the address typed: people paste passwords into the email field by mistake.
    target = f"account:{account.id}" if account is not None else ""
    record("auth.login_failed", target=target, detail={"reason": reason}, actor="anonymous")
    db.session.commit()


def note_login(account: Account, via: str = "password") -> None:
    """Stamp the sign-in time and audit it."""
    account.last_login_at = utcnow()
    record("auth.login", target=f"account:{account.id}", detail={"via": via}, actor=account)
    db.session.commit()


def note_logout(account: Account) -> None:
    """End every session of the account and audit the sign-out.

    The version bump is what makes signing out end the session on the server: a copy of the
    cookie taken before names the old version, which no longer signs anyone in.
    """
    account.session_version += 1
    record("auth.logout", target=f"account:{account.id}", actor=account)
    db.session.commit()


def change_password(account: Account, current_password: str, new_password: str) -> None:
    """Set a new password and end every other session of the account."""
    if not _verify(account.password_hash, current_password or ""):
        # Audited as a failed sign-in is: someone may be guessing from a session left open.
        record("account.password_change_failed", target=f"account:{account.id}", actor=account)
        db.session.commit()
        raise IncorrectPasswordError("Your current password is not correct")
    check_password(new_password)
    account.password_hash = _hasher.hash(new_password)
    account.session_version += 1
    record("account.password_changed", target=f"account:{account.id}", actor=account)
    db.session.commit()


def _enabled_admins_other_than(account: Account) -> int:
    return db.session.execute(
        select(func.count(Account.id)).where(
            Account.role == AccountRole.ADMIN,
            Account.disabled.is_(False),
            Account.id != account.id,
        )
    ).scalar_one()


def _acting_account(actor: Account | str | None) -> Account | None:
    if isinstance(actor, Account):
        return actor
    if actor is None and has_request_context() and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def set_disabled(account: Account, disabled: bool, actor: Account | str | None) -> None:
    """Disable (ending its sessions) or re-enable an account."""
    if account.disabled == disabled:
        return
    if disabled:
        acting = _acting_account(actor)
        if acting is not None and acting.id == account.id:
            raise ValidationError("You cannot disable your own account")
        if account.is_admin and _enabled_admins_other_than(account) == 0:
            raise ValidationError("You cannot disable the last enabled admin account")
        account.session_version += 1
    account.disabled = disabled
    action = "account.disabled" if disabled else "account.enabled"
    record(action, target=f"account:{account.id}", actor=actor)
    db.session.commit()


# A password reset link: made by an admin (/admin/accounts) or `newsletter admin reset`, it
# sets the account's password once, before it expires, and ends the account's sessions. Only
# its hash is kept (in app_setting, one per account: a new link replaces the last).
RESET_LINK_HOURS = 24
_RESET_PREFIX = "password_reset:"


class ResetLinkInvalidError(NotFoundError):
    """The reset link was used, replaced, has expired or was never valid."""


def _reset_key(account_id: int) -> str:
    return f"{_RESET_PREFIX}{account_id}"


def issue_reset_token(account: Account, actor: Account | str | None) -> tuple[str, datetime]:
    """A new one-time token that sets `account`'s password, and when it expires; audited."""
    acting = _acting_account(actor)
    if acting is not None and acting.id == account.id:
        raise ValidationError("To change your own password, use Change password")
    token = f"{account.id}-{secrets.token_urlsafe(32)}"
    expires_at = utcnow() + timedelta(hours=RESET_LINK_HOURS)
    key = _reset_key(account.id)
    value = f"{_digest(token)} {expires_at.isoformat()}"
    row = db.session.get(AppSetting, key)
    if row is None:
        db.session.add(AppSetting(key=key, value=value))
    else:
        row.value = value
    record(
        "account.reset_link_created",
        target=f"account:{account.id}",
        detail={"expires_at": expires_at.isoformat()},
        actor=actor,
    )
    db.session.commit()
    return token, expires_at


def _stored_reset(token: str) -> tuple[Account, AppSetting] | None:
    account_id, dash, _ = (token or "").partition("-")
    if not dash or not account_id.isdigit() or len(account_id) > 12:
        return None
    row = db.session.get(AppSetting, _reset_key(int(account_id)))
    if row is None:
        return None
    digest, _, expires = row.value.partition(" ")
    try:
        expires_at = datetime.fromisoformat(expires)
    except ValueError:
        return None
    if expires_at <= utcnow() or not hmac.compare_digest(digest, _digest(token)):
        return None
    account = db.session.get(Account, int(account_id))
    return (account, row) if account is not None else None


def reset_link_account(token: str) -> Account | None:
    """The account a valid, unused, unexpired reset token is for, or None."""
    found = _stored_reset(token)
    return found[0] if found is not None else None


def reset_password(token: str, new_password: str) -> Account:
    """Set the password with a reset token, consuming it and ending the account's sessions.

    As with the set-up link, a conditional DELETE takes the token: of two requests racing with
    one link, only one sets a password.
    """
    found = _stored_reset(token)
    if found is None:
        raise ResetLinkInvalidError("this reset link has been used, has expired or is not valid")
    account, row = found
    check_password(new_password)
    password_hash = _hasher.hash(new_password)
    taken = db.session.execute(
        delete(AppSetting).where(AppSetting.key == row.key, AppSetting.value == row.value)
    )
    if changed_rows(taken) != 1:
        db.session.rollback()
        raise ResetLinkInvalidError("this reset link has been used already")
    account.password_hash = password_hash
    account.session_version += 1
    record(
        "account.password_reset",
        target=f"account:{account.id}",
        detail={"via": "reset link"},
        actor=account,
    )
    db.session.commit()
    return account
