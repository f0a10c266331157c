"""`newsletter admin …`: secretariat accounts."""

import sys

import click

from newsletter.accounts import create_account, find_account, issue_reset_token
from newsletter.cli.context import needs_schema
from newsletter.errors import NotFoundError
from newsletter.urls import external_url


@click.group("admin")
def admin() -> None:
    """Manage secretariat accounts."""


def _read_password() -> str:
    """Prompt twice, hidden, on a terminal; otherwise take the first line of stdin."""
    # sys.stdin, not click.get_text_stream (deprecated in Click 8.5): Python 3.7+ already gives a
    # correctly decoded text stream, and CliRunner swaps sys.stdin for its input in tests.
    stdin = sys.stdin
    if stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return stdin.readline().rstrip("\r\n")


@admin.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(["admin", "editor"]), default="admin", show_default=True)
@needs_schema
def create(email: str, role: str) -> None:
    """Create an account; the password (12+ characters) is read from stdin."""
    account = create_account(email, _read_password(), role=role, actor="cli")
    click.echo(f"created {account.role.value} account for {account.email}")


@admin.command("reset")
@click.argument("email")
@needs_schema
def reset(email: str) -> None:
    """Print a one-time link that sets the account's password (it expires; sessions end)."""
    email = email.strip()
    if not email:
        # Not "no account for" followed by nothing: say what to give.
        raise click.UsageError("Enter the email address of an account")
    account = find_account(email)
    if account is None:
        raise NotFoundError(f"no account for {email}")
    token, _ = issue_reset_token(account, actor="cli")
    click.echo(external_url("auth.reset_password", token=token))
