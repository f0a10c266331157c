"""Secretariat accounts: creation, authentication, passwords and disabling."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from newsletter.accounts import (
    SETUP_TOKEN_HASH,
    IncorrectPasswordError,
    authenticate,
    change_password,
    create_account,
    create_first_admin,
    issue_setup_token,
    set_disabled,
    setup_token_is_valid,
)
from newsletter.errors import ConflictError, ValidationError
from newsletter.extensions import db
from newsletter.models import AccountRole, AppSetting, AuditEvent
from tests.factories import PASSWORD
from tests.support.queries import audit_actions


def test_create_account_stores_normalised_address_and_casefolded_key(app):
    """The address is stored as email-validator normalises it, the key casefolded."""
    account = create_account("Jane.Doe@EXAMPLE.org", PASSWORD, actor="test")
    assert account.email == "Jane.Doe@example.org"
    assert account.email_key == "jane.doe@example.org"


def test_create_account_hashes_the_password_with_argon2(app):
    """The password itself is never stored."""
    account = create_account("jane@example.org", PASSWORD, actor="test")
    assert account.password_hash.startswith("$argon2")
    assert PASSWORD not in account.password_hash


def test_create_account_defaults_to_the_admin_role(app):
    """Without a role the account is an admin, as the CLI contract says."""
    assert create_account("jane@example.org", PASSWORD, actor="test").role == AccountRole.ADMIN


def test_create_account_refuses_a_short_password(app):
    """Passwords need 12 characters or more."""
    with pytest.raises(ValidationError, match="Password must be at least 12 characters"):
        create_account("jane@example.org", "short", actor="test")


def test_create_account_refuses_a_malformed_address(app):
    """A bad address is a validation error with a sentence for the person."""
    with pytest.raises(ValidationError, match="correct format"):
        create_account("not-an-address", PASSWORD, actor="test")


def test_create_account_refuses_the_same_address_in_another_case(app):
    """Duplicates are found by the canonical key, whatever the case."""
    create_account("jane@example.org", PASSWORD, actor="test")
    with pytest.raises(ConflictError, match="exists already"):
        create_account("JANE@example.org", PASSWORD, actor="test")


def test_create_account_refuses_an_unknown_role(app):
    """Only admin and editor exist."""
    with pytest.raises(ValidationError, match="Role"):
        create_account("jane@example.org", PASSWORD, role="owner", actor="test")


def test_create_account_is_audited_with_its_actor(app):
    """account.created names who made it."""
    account = create_account("jane@example.org", PASSWORD, actor="cli")
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.actor, event.target) == (
        "account.created",
        "cli",
        f"account:{account.id}",
    )


def test_authenticate_returns_the_account_for_correct_credentials(make):
    """The right password, in any case of address, signs in."""
    account = make.account(email="jane@example.org")
    assert authenticate("JANE@example.org", PASSWORD) == account


def test_authenticate_stamps_the_last_login_time(make):
    """A successful sign-in records when it happened."""
    account = make.account(email="jane@example.org")
    authenticate("jane@example.org", PASSWORD)
    assert account.last_login_at is not None


def test_authenticate_refuses_a_wrong_password(make):
    """A wrong password gives None."""
    make.account(email="jane@example.org")
    assert authenticate("jane@example.org", "not the password at all") is None


def test_authenticate_refuses_an_unknown_address(app):
    """An address with no account gives None."""
    assert authenticate("nobody@example.org", PASSWORD) is None


def test_authenticate_refuses_a_disabled_account(make, admin_account):
    """A disabled account never signs in, even with the right password."""
    make.account(email="jane@example.org", disabled=True)
    assert authenticate("jane@example.org", PASSWORD) is None


def test_failed_authentication_is_audited_without_the_address_typed(make):
    """The target is the account id, never the raw address."""
    account = make.account(email="jane@example.org")
    authenticate("Jane@Example.org", "not the password at all")
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "auth.login_failed")
    ).one()
    assert event.target == f"account:{account.id}"
    assert "jane" not in str(event.detail).casefold()


def test_failed_authentication_of_an_unknown_address_has_no_target(app):
    """Nothing of what was typed is kept when no account matches."""
    authenticate("nobody@example.org", PASSWORD)
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.action, event.target) == ("auth.login_failed", "")


def test_authenticate_rehashes_an_outdated_hash(make):
    """A hash made with weaker parameters is replaced on the next sign-in."""
    account = make.account(email="jane@example.org")
    account.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    db.session.commit()
    old_hash = account.password_hash
    assert authenticate("jane@example.org", PASSWORD) == account
    assert account.password_hash != old_hash


def test_change_password_needs_the_current_password(make):
    """A wrong current password changes nothing."""
    account = make.account()
    with pytest.raises(IncorrectPasswordError):
        change_password(account, "not the password at all", "a brand new password")
    assert authenticate(account.email, PASSWORD) == account


def test_change_password_refuses_a_short_new_password(make):
    """The new password follows the same length rule."""
    account = make.account()
    with pytest.raises(ValidationError, match="at least 12"):
        change_password(account, PASSWORD, "short")


def test_change_password_bumps_the_session_version(make):
    """Every other session ends when the password changes."""
    account = make.account()
    before = account.session_version
    change_password(account, PASSWORD, "a brand new password")
    assert account.session_version == before + 1
    assert authenticate(account.email, "a brand new password") == account
    assert "account.password_changed" in audit_actions()


def test_set_disabled_ends_sessions_and_is_audited(make, admin_account):
    """Disabling bumps the session version and writes account.disabled."""
    account = make.account(role="editor")
    before = account.session_version
    set_disabled(account, True, actor=admin_account)
    assert account.disabled and account.session_version == before + 1
    set_disabled(account, False, actor=admin_account)
    assert not account.disabled
    assert audit_actions()[-2:] == ["account.disabled", "account.enabled"]


def test_an_admin_cannot_disable_themself(make, admin_account):
    """Disabling your own account is refused, even with other admins around."""
    make.account(role="admin")
    with pytest.raises(ValidationError, match="your own account"):
        set_disabled(admin_account, True, actor=admin_account)
    assert not admin_account.disabled


def test_the_last_enabled_admin_cannot_be_disabled(make, admin_account):
    """Someone must always be able to sign in and manage accounts."""
    make.account(role="editor")
    with pytest.raises(ValidationError, match="last enabled admin"):
        set_disabled(admin_account, True, actor="cli")
    assert not admin_account.disabled


def test_setup_token_works_until_an_account_exists(app, make):
    """The first-run link is valid only while there is no account."""
    token = issue_setup_token()
    assert token and setup_token_is_valid(token)
    assert not setup_token_is_valid(token + "x")
    make.account()
    assert not setup_token_is_valid(token)
    assert issue_setup_token() is None


def test_consumed_setup_token_is_forgotten(app):
    """After use the stored digest is gone, so the link cannot be replayed."""
    token = issue_setup_token()
    create_first_admin(token, "first@example.org", PASSWORD)
    assert not setup_token_is_valid(token)
    assert db.session.get(AppSetting, SETUP_TOKEN_HASH) is None
