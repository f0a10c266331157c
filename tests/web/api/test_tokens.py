"""API tokens: made with scopes and an expiry, shown once, stored hashed, listed, revoked."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import select

from newsletter.api_tokens import authenticate, create_token
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import ApiToken, AuditEvent
from newsletter.models.base import utcnow


def test_tokens_create_prints_the_token_alone_on_stdout(runner, admin_account):
    """stdout holds the token and nothing else; the note goes to stderr; only a hash is kept."""
    result = runner.invoke(
        main,
        ["tokens", "create", admin_account.email, "--scope", "read", "--scope", "send",
         "--name", "Website", "--expires-days", "30"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("nl_") and "\n" not in secret
    assert secret not in result.stderr
    token = db.session.scalars(select(ApiToken)).one()
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (token.token_hash, token.name)
    assert token.scopes == "read send"
    assert token.name == "Website"
    assert timedelta(days=29) < token.expires_at - utcnow() <= timedelta(days=30)
    assert authenticate(secret).id == token.id


def test_tokens_create_for_an_unknown_account_is_one_line_and_exit_1(runner):
    result = runner.invoke(main, ["tokens", "create", "nobody@example.org", "--scope", "read"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no account for nobody@example.org")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_tokens_create_gives_the_webhooks_scope(runner, admin_account):
    result = runner.invoke(
        main, ["tokens", "create", admin_account.email, "--scope", "webhooks", "--scope", "read"]
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalars(select(ApiToken)).one().scopes == "read webhooks"


def test_tokens_create_refuses_an_unknown_scope(runner, admin_account):
    result = runner.invoke(main, ["tokens", "create", admin_account.email, "--scope", "all"])
    assert result.exit_code == 2
    assert db.session.scalars(select(ApiToken)).all() == []


def test_tokens_list_and_revoke(runner, admin_account):
    """list shows id, state and scopes, never the secret; a revoked token stops working."""
    made = create_token(admin_account, ["read"], name="CRM", actor="test")
    listed = runner.invoke(main, ["tokens", "list", admin_account.email])
    assert listed.exit_code == 0
    assert listed.stdout.startswith(f"{made.token.id}\tactive\tread\t")
    assert made.secret not in listed.output
    revoked = runner.invoke(main, ["tokens", "revoke", str(made.token.id)])
    assert revoked.exit_code == 0, revoked.output
    assert authenticate(made.secret) is None
    assert "\trevoked\t" in runner.invoke(main, ["tokens", "list", admin_account.email]).stdout
    actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "api_token.created" in actions and "api_token.revoked" in actions


def test_revoking_an_unknown_token_is_exit_1(runner):
    result = runner.invoke(main, ["tokens", "revoke", "4242"])
    assert result.exit_code == 1
    assert "no API token with the id 4242" in result.stderr


def test_an_expired_token_or_a_disabled_account_authenticates_nobody(make, admin_account):
    made = create_token(admin_account, ["read"], expires_days=1, actor="test")
    made.token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert authenticate(made.secret) is None
    editor = make.account(role="editor")
    live = create_token(editor, ["read"], actor="test")
    assert authenticate(live.secret) is not None
    from newsletter.accounts import set_disabled

    set_disabled(editor, True, actor=admin_account)
    assert authenticate(live.secret) is None
