"""`newsletter tokens …`: API tokens for secretariat accounts."""

import click

from newsletter.accounts import find_account
from newsletter.api_tokens import SCOPES, create_token, get_token, revoke_token, token_state
from newsletter.api_tokens import tokens_of as account_tokens
from newsletter.cli.context import needs_schema
from newsletter.errors import NotFoundError


@click.group("tokens")
def tokens() -> None:
    """Make, list and revoke API tokens."""


def _account(email: str):
    account = find_account(email)
    if account is None:
        raise NotFoundError(f"no account for {email}")
    return account


@tokens.command("create")
@click.argument("email")
@click.option(
    "--scope", "scopes", multiple=True, required=True, type=click.Choice(SCOPES),
    help="What the token may do (repeat for several): read, subscribers, send, webhooks.",
)  # fmt: skip
@click.option("--expires-days", type=click.IntRange(1, 3650), default=None, help="Days it lasts.")
@click.option("--name", default="", help="A name to know it by (what uses it).")
@needs_schema
def create(email: str, scopes: tuple[str, ...], expires_days: int | None, name: str) -> None:
    """Make a token for the account; prints it alone on stdout, once (only a hash is kept)."""
    made = create_token(
        _account(email), list(scopes), name=name, expires_days=expires_days, actor="cli"
    )
    click.echo(
        f"token {made.token.id} made with scopes {made.token.scopes}; keep it safe", err=True
    )
    click.echo(made.secret)


@tokens.command("list")
@click.argument("email")
@needs_schema
def list_tokens(email: str) -> None:
    """The account's tokens: id, state, scopes, expiry, last use and name (never the secret)."""
    for token in account_tokens(_account(email)):
        expires = token.expires_at.isoformat(timespec="minutes") if token.expires_at else "never"
        used = token.last_used_at.isoformat(timespec="minutes") if token.last_used_at else "never"
        click.echo(
            f"{token.id}\t{token_state(token)}\t{token.scopes.replace(' ', ',')}\t"
            f"expires {expires}\tused {used}\t{token.name}"
        )


@tokens.command("revoke")
@click.argument("token_id", type=click.IntRange(1))
@needs_schema
def revoke(token_id: int) -> None:
    """Revoke a token for good."""
    token = get_token(token_id)
    if revoke_token(token, actor="cli"):
        click.echo(f"revoked token {token.id}", err=True)
    else:
        click.echo(f"token {token.id} was revoked already", err=True)
